"""The lifespan protocol (ASGI lifespan spec) as a pure machine, in the style of the connections.

The driver runs ``app(machine.scope, receive, send)`` once per server, calls ``startup()`` and
later ``shutdown()``, and acts on the events: ``AppReceive`` (stream 0) answers a ``receive()``;
the ``Lifespan*`` events say how startup and shutdown went.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import AppProtocolError
from .events import AppReceive

LIFESPAN_STREAM_ID = 0


@dataclass(frozen=True, slots=True)
class StartupComplete:
    """The application sent ``lifespan.startup.complete``: start serving."""


@dataclass(frozen=True, slots=True)
class StartupFailed:
    """The application sent ``lifespan.startup.failed`` (or raised during startup)."""

    message: str


@dataclass(frozen=True, slots=True)
class ShutdownComplete:
    """Shutdown finished (or the application does not take part in lifespan)."""


@dataclass(frozen=True, slots=True)
class ShutdownFailed:
    """The application sent ``lifespan.shutdown.failed`` or raised during shutdown."""

    message: str


@dataclass(frozen=True, slots=True)
class LifespanUnsupported:
    """The application raised (or returned) before completing startup: it has no lifespan.

    The spec says the server then carries on without lifespan events; with lifespan "on" a
    driver treats this as a startup failure instead.
    """

    error: str


LifespanEvent = (
    AppReceive
    | StartupComplete
    | StartupFailed
    | ShutdownComplete
    | ShutdownFailed
    | LifespanUnsupported
)

_IDLE, _STARTING, _STARTED, _STOPPING, _ENDED = range(5)


class LifespanMachine:
    """One lifespan scope: startup, then shutdown."""

    def __init__(self, state: dict[str, Any] | None = None) -> None:
        self.state: dict[str, Any] = {} if state is None else state
        self.scope: dict[str, Any] = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": self.state,
        }
        self._phase = _IDLE
        self._inbox: deque[dict[str, Any]] = deque()
        self._receive_pending = 0
        self._app_done = False
        self._events: deque[LifespanEvent] = deque()

    def startup(self) -> None:
        """Ask the application to start up."""
        if self._phase != _IDLE:
            raise RuntimeError("lifespan startup was already requested")
        self._phase = _STARTING
        self._inbox.append({"type": "lifespan.startup"})
        self._deliver()

    def shutdown(self) -> None:
        """Ask the application to shut down (answered at once if it has already ended)."""
        if self._phase == _ENDED:
            self._events.append(ShutdownComplete())
            return
        if self._phase != _STARTED:
            raise RuntimeError("lifespan shutdown needs a completed startup")
        self._phase = _STOPPING
        if self._app_done:
            self._phase = _ENDED
            self._events.append(ShutdownComplete())
            return
        self._inbox.append({"type": "lifespan.shutdown"})
        self._deliver()

    def app_receive(self) -> None:
        """The application awaits ``receive()``."""
        self._receive_pending += 1
        self._deliver()

    def app_send(self, message: Mapping[str, Any]) -> None:
        """A message the application sent; one out of place raises ``AppProtocolError``."""
        kind = message.get("type") if isinstance(message, Mapping) else None
        if self._phase == _STARTING and kind == "lifespan.startup.complete":
            self._phase = _STARTED
            self._events.append(StartupComplete())
        elif self._phase == _STARTING and kind == "lifespan.startup.failed":
            self._phase = _ENDED
            self._events.append(StartupFailed(_text(message)))
        elif self._phase == _STOPPING and kind == "lifespan.shutdown.complete":
            self._phase = _ENDED
            self._events.append(ShutdownComplete())
        elif self._phase == _STOPPING and kind == "lifespan.shutdown.failed":
            self._phase = _ENDED
            self._events.append(ShutdownFailed(_text(message)))
        else:
            raise AppProtocolError(f"lifespan message {kind!r} is out of place here")

    def app_finished(self, exc: BaseException | None) -> None:
        """The lifespan coroutine returned or raised."""
        self._app_done = True
        error = "" if exc is None else f"{type(exc).__name__}: {exc}"
        if self._phase in (_IDLE, _STARTING):
            self._phase = _ENDED
            self._events.append(LifespanUnsupported(error or "the application returned"))
        elif self._phase == _STOPPING:
            self._phase = _ENDED
            if exc is None:
                self._events.append(ShutdownComplete())
            else:
                self._events.append(ShutdownFailed(error))

    def events(self) -> Iterator[LifespanEvent]:
        """Drain the pending events in order."""
        while self._events:
            yield self._events.popleft()

    def _deliver(self) -> None:
        while self._receive_pending and self._inbox:
            self._receive_pending -= 1
            self._events.append(AppReceive(LIFESPAN_STREAM_ID, self._inbox.popleft()))


def _text(message: Mapping[str, Any]) -> str:
    text = message.get("message", "")
    return text if isinstance(text, str) else repr(text)
