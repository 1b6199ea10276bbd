"""Running the application's lifespan scope through ``LifespanMachine``, for every driver."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from asgi_core.events import AppReceive
from asgi_core.lifespan import (
    LifespanEvent,
    LifespanMachine,
    LifespanUnsupported,
    ShutdownFailed,
    StartupFailed,
)

from .driver import ASGIApp, Waiter
from .logs import logger


class LifespanFailure(Exception):
    """Startup failed (or lifespan is "on" and the app has none): the server must not serve."""


class LifespanRunner:
    """The driver spawns ``run_app()`` as a task, then awaits ``startup()`` and ``shutdown()``."""

    def __init__(self, app: ASGIApp, mode: str, new_waiter: Callable[[], Waiter]) -> None:
        self.app = app
        self.mode = mode
        self.new_waiter = new_waiter
        self.machine = LifespanMachine()
        self.inbox: deque[dict[str, Any]] = deque()
        self.receive_waiter: Waiter | None = None
        self.outcome: LifespanEvent | None = None
        self.outcome_waiter: Waiter | None = None
        self.started = False

    @property
    def enabled(self) -> bool:
        return self.mode != "off"

    @property
    def state(self) -> dict[str, Any]:
        return self.machine.state

    async def startup(self) -> None:
        """Raise ``LifespanFailure`` unless the app started (or, in "auto", has no lifespan)."""
        if not self.enabled:
            return
        self.started = True
        result = await self._ask(self.machine.startup)
        if isinstance(result, StartupFailed):
            raise LifespanFailure(f"application startup failed: {_one_line(result.message)}")
        if isinstance(result, LifespanUnsupported):
            if self.mode == "on":
                raise LifespanFailure(f"application does not support lifespan: {result.error}")
            logger.info("ASGI 'lifespan' protocol appears unsupported.")  # uvicorn's words

    async def shutdown(self) -> None:
        if not self.started:
            return
        result = await self._ask(self.machine.shutdown)
        if isinstance(result, ShutdownFailed):
            logger.error("application shutdown failed: %s", _one_line(result.message))

    async def _ask(self, request: Callable[[], None]) -> LifespanEvent:
        self.outcome = None
        self.outcome_waiter = self.new_waiter()
        request()
        self._pump()
        while self.outcome is None:
            await self.outcome_waiter.wait()
        return self.outcome

    async def run_app(self) -> None:
        """The lifespan call itself; runs for the life of the server."""
        error: BaseException | None = None
        try:
            await self.app(self.machine.scope, self._receive, self._send)
        except Exception as exc:
            error = exc
            if self.mode == "on" or self.outcome is not None:
                logger.error("lifespan raised", exc_info=exc)
        except BaseException as exc:
            error = exc
            raise
        finally:
            self.machine.app_finished(error)
            self._pump()

    async def _receive(self) -> dict[str, Any]:
        if not self.inbox:
            self.machine.app_receive()
            self._pump()
            while not self.inbox:
                self.receive_waiter = waiter = self.new_waiter()
                await waiter.wait()
        return self.inbox.popleft()

    async def _send(self, message: dict[str, Any]) -> None:
        self.machine.app_send(message)
        self._pump()

    def _pump(self) -> None:
        for event in self.machine.events():
            if isinstance(event, AppReceive):
                self.inbox.append(event.message)
                if self.receive_waiter is not None:
                    self.receive_waiter.set()
            elif self.outcome is None:
                self.outcome = event
                if self.outcome_waiter is not None:
                    self.outcome_waiter.set()


def _one_line(message: str) -> str:
    """A failure message as one line: frameworks (Starlette) send the traceback as the message,
    which ``run_app`` has already logged once; its last line names the error."""
    lines = [line for line in message.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "(no message)"
