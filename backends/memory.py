"""The in-memory driver: ``DriverConnection`` over a byte buffer and a virtual clock.

No socket, no event loop, no real time. What the core writes collects in ``output``; the clock
is a float, ``clock``, that moves only through ``advance()``, which fires every deadline due on
the way at its own time, in order; every event is recorded as it is acted on (``scopes``,
``received``, ``send_allowed``, ``limits``, ``event_log``). It checks the core's side of the
driver contract as it goes and raises ``ContractError`` when the core breaks it.

Like httpcore's mock backend beside its real ones, one memory driver serves every test that
needs no socket, each through a thin layer: the test kit's client (``asgi_core.testing``, async,
on anyio), the tests' synchronous ``Harness`` (``tests/helpers/harness.py``), in which the test
plays the app, and the fuzz targets' deterministic scheduler of generator apps (``fuzz/common.py``).
A layer supplies what it runs apps with: ``spawn_app``, ``new_waiter``, ``run_in_thread``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any, TypeVar

from asgi_core.config import Config
from asgi_core.connection import ServerConnection
from asgi_core.events import (
    AppReceive,
    CloseConnection,
    Event,
    LimitHit,
    ResponseEnded,
    SendAllowed,
    StreamStarted,
    WebSocketClosed,
)

from .driver import AppStream, ASGIApp, DriverConnection, Waiter

T = TypeVar("T")
D = TypeVar("D", bound="MemoryDriver")

#: At most this many firings per ``advance()``, so that deadlines or wake-ups that keep
#: falling due cannot loop forever; the clock then moves to its target all the same.
MAX_FIRINGS = 64


class ContractError(AssertionError):
    """The core broke its contract with the driver (an event out of place, a deadline left in
    the past, bytes to write after the close)."""


def _check(condition: object, message: str) -> None:
    if not condition:  # not ``assert``: ``python -O`` must not skip the contract
        raise ContractError(message)


async def _no_app(scope: Any, receive: Any, send: Any) -> None:
    raise RuntimeError("this memory driver's layer plays the app itself (spawn_app)")


class MemoryDriver(DriverConnection):
    """Drives one ``ServerConnection`` in memory; ``options`` go to ``ServerConnection``."""

    def __init__(
        self,
        config: Config,
        *,
        app: ASGIApp = _no_app,
        clock: float = 0.0,
        **options: Any,
    ) -> None:
        self.clock = clock
        self.output = bytearray()
        self.scopes: dict[int, dict[str, Any]] = {}
        self.received: defaultdict[int, list[dict[str, Any]]] = defaultdict(list)
        self.send_allowed: list[int] = []
        self.event_log: list[Event] = []
        #: Every ``ResponseEnded`` and ``WebSocketClosed`` (kept apart from ``event_log``).
        self.ended: list[ResponseEnded | WebSocketClosed] = []
        self._ended_ids: set[int] = set()
        #: Every ``LimitHit``'s ``limit``, in order.
        self.limits: list[str] = []
        self.closed = False  # CloseConnection was emitted
        self.close_handled = False  # ... and a step acted on it: nothing may be written after
        self.timer: float | None = None  # the deadline the driver's timer is armed at
        self.init_driver(ServerConnection(config, now=clock, **options), app, access_log=False)
        self.pump()  # as a real driver does on accept: the server's preface, the first timer

    # -- inputs -------------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Bytes from the peer (b"" is its EOF), whether or not reading is paused."""
        self.core.receive_data(data, self.clock)
        self.pump()

    def app_receive(self, stream_id: int) -> None:
        self.core.app_receive(stream_id, self.clock)
        self.pump()

    def app_send(self, stream_id: int, message: dict[str, Any]) -> bool:
        try:
            return self.core.app_send(stream_id, message, self.clock)
        finally:
            self.pump()

    def app_finished(self, stream_id: int, exc: BaseException | None = None) -> None:
        self.core.app_finished(stream_id, exc, self.clock)
        self.pump()

    def advance(self: D, seconds: float) -> D:
        """Move the clock by ``seconds``: each deadline (and ``next_wakeup``) due on the way
        fires at its own time, in order, as a real driver's timer would."""
        target = self.clock + seconds
        for _ in range(MAX_FIRINGS):
            due = self.next_due()
            if due is None or due > target:
                break
            self.fire(due)
        self.clock = max(self.clock, target)
        return self

    def next_due(self) -> float | None:
        """The earliest of the armed timer and the layer's own wake-up."""
        if self.core.closed:
            deadline = self.core.next_deadline
            _check(deadline is None, f"next_deadline {deadline} after the close")
        timer, wakeup = self.timer, self.next_wakeup()
        if timer is None or wakeup is None:
            return wakeup if timer is None else timer
        return min(timer, wakeup)

    def fire(self, due: float) -> None:
        """The clock reaches ``due``: the timer fires if it is due, then the layer wakes."""
        self.clock = max(self.clock, due)
        if self.timer is not None and self.timer <= self.clock:
            self.timer = None  # one shot: the pump re-arms it at the core's next deadline
            self.on_timer()
            after = self.core.next_deadline
            _check(
                after is None or after > self.clock,
                f"handle_timeout({self.clock}) leaves next_deadline at {after}: a busy loop",
            )
        self.wake()

    # -- what a layer may add -----------------------------------------------------------------

    def next_wakeup(self) -> float | None:
        """When the layer's apps next want the clock (a sleep ending), if ever."""
        return None

    def wake(self) -> None:
        """The clock moved to ``clock``: wake what the layer scheduled until then."""

    # -- DriverConnection primitives ----------------------------------------------------------

    def now(self) -> float:
        return self.clock

    def new_waiter(self) -> Waiter:
        raise NotImplementedError("a synchronous layer's apps do not wait")

    def spawn_app(self, stream: AppStream) -> None:
        """The layer starts its app here; by default the test plays it."""

    def write(self, data: bytes) -> None:
        self.output += data

    def close_transport(self) -> None:
        pass

    def set_reading_paused(self, paused: bool) -> None:
        pass  # ``read_paused`` says it; a layer reads only while it is False

    def rearm_timer(self, deadline: float | None) -> None:
        self.timer = deadline

    @property
    def write_blocked(self) -> bool:
        return False  # memory takes everything at once

    def write_backlog(self) -> int:
        return 0

    def cut(self) -> None:
        self.transport_lost()

    async def drain(self) -> None:
        return None

    async def run_in_thread(self, function: Callable[..., T], *args: Any) -> T:
        return function(*args)

    # -- acting on events, recorded and checked -----------------------------------------------

    def pump(self) -> None:
        handled, gone = self.close_handled, self.transport_closed
        super().pump()
        self.close_handled = self.closed
        if gone:  # a real driver writes nothing more; the core must not try
            late = self.core.data_to_send()
            if late:
                _check(
                    not handled,
                    f"{len(late)} bytes to send after CloseConnection was handled: {late[:64]!r}",
                )
                self.write(late)  # the transport was lost in this very step

    def on_stream_started(self, event: StreamStarted) -> None:
        _check(event.stream_id not in self.scopes, f"stream {event.stream_id} started twice")
        _check(not self.closed, "StreamStarted after CloseConnection")
        self.event_log.append(event)
        self.scopes[event.stream_id] = event.scope
        super().on_stream_started(event)

    def on_app_receive(self, event: AppReceive) -> None:
        self.event_log.append(event)
        self.received[event.stream_id].append(event.message)
        super().on_app_receive(event)

    def on_send_allowed(self, event: SendAllowed) -> None:
        self.event_log.append(event)
        self.send_allowed.append(event.stream_id)
        super().on_send_allowed(event)

    def on_response_ended(self, event: ResponseEnded) -> None:
        stream_id = event.stream_id
        _check(
            stream_id == 0 or stream_id not in self._ended_ids,
            f"stream {stream_id} reported its response's end twice",
        )
        self._ended_ids.add(stream_id)
        self.ended.append(event)
        super().on_response_ended(event)

    def on_websocket_closed(self, event: WebSocketClosed) -> None:
        self.ended.append(event)
        super().on_websocket_closed(event)

    def on_limit_hit(self, event: LimitHit) -> None:
        self.limits.append(event.limit)
        super().on_limit_hit(event)

    def on_close_connection(self, event: CloseConnection) -> None:
        _check(not self.closed, "CloseConnection emitted twice")
        _check(self.core.closed, "CloseConnection while the connection is not closed")
        self.event_log.append(event)
        self.closed = True
        super().on_close_connection(event)
