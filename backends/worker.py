"""What a worker process needs besides the driver: readiness, a request budget, a parent watch.

Shared by the supervisor's workers (backends/supervisor.py) and the gunicorn worker class
(backends/gunicorn.py). Nothing here knows a protocol; it wraps the app and watches the log.
"""

from __future__ import annotations

import asyncio
import logging
import os
import select
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from asgi_core.errors import ConfigError

from .config import ServerConfig
from .driver import ASGIApp
from .importer import AppImportError
from .logs import logger
from .sockets import Listening

#: A worker's exit status after it drained at its request budget: sysexits' EX_TEMPFAIL,
#: "try again": the supervisor starts a fresh one and logs no error.
EXIT_RECYCLE = 75
#: Exit statuses of a worker that could not start, as the asgi-core command uses them: a bad
#: app string or option (2), a failed lifespan startup (3), any other OSError (1).
EXIT_BAD_INPUT = 2
EXIT_STARTUP_FAILED = 3
EXIT_OS_ERROR = 1

#: What a worker writes on its status pipe: it serves; it drains (its budget is spent).
READY = b"R"
DRAINING = b"D"

InLoop = Callable[[Callable[[], object]], None]


class ReadyWatch(logging.Handler):
    """Calls ``on_ready(in_loop)`` once the server logs its first "Serving on" line.

    That line is the readiness contract the asgi-core command already keeps (tests and scripts
    read it); the driver logs it from inside its event loop once its listeners accept, so the
    watch also captures ``in_loop``, a thread-safe way to run a callback in that loop (the
    gunicorn heartbeat uses it: a blocked loop then misses its heartbeats, as it should).
    It lifts the ``asgi_core`` logger to INFO while it waits (its handlers keep their level),
    and puts everything back once the line is seen.
    """

    def __init__(self, on_ready: Callable[[InLoop], object]) -> None:
        super().__init__(logging.INFO)
        self.on_ready = on_ready
        self._level = logger.level
        self._handler_levels = [(handler, handler.level) for handler in logger.handlers]

    def install(self) -> ReadyWatch:
        if logger.getEffectiveLevel() > logging.INFO:
            for handler, _ in self._handler_levels:
                handler.setLevel(max(handler.level, logger.getEffectiveLevel()))
            logger.setLevel(logging.INFO)
        logger.addHandler(self)
        return self

    def uninstall(self) -> None:
        logger.removeHandler(self)
        logger.setLevel(self._level)
        for handler, level in self._handler_levels:
            handler.setLevel(level)

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, str) and record.msg.startswith("Serving on"):
            self.uninstall()
            self.on_ready(_in_this_loop())


def _in_this_loop() -> InLoop:
    """A thread-safe way to schedule a callback in the event loop running this thread."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # not asyncio: trio (or anyio on trio)
        import trio

        token = trio.lowlevel.current_trio_token()

        def in_trio(callback: Callable[[], object]) -> None:
            token.run_sync_soon(callback)

        return in_trio

    def in_asyncio(callback: Callable[[], object]) -> None:
        loop.call_soon_threadsafe(callback)

    return in_asyncio


class RequestBudget:
    """The app, counting its HTTP and WebSocket calls (the core's ``StreamStarted`` events).

    When call number ``limit`` starts, ``on_limit`` runs once: the worker then drains as on
    SIGTERM (the call that reached the limit, and every other one in flight, still finish).
    """

    def __init__(self, app: ASGIApp, limit: int, on_limit: Callable[[], object]) -> None:
        self.app = app
        self.limit = limit
        self.on_limit = on_limit
        self.served = 0

    @property
    def spent(self) -> bool:
        return self.served >= self.limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            self.served += 1
            if self.served == self.limit:
                self.on_limit()
        await self.app(scope, receive, send)


def drain_now() -> None:
    """Start this process's graceful shutdown, exactly as a SIGTERM from outside would."""
    os.kill(os.getpid(), signal.SIGTERM)


def watch_parent(parent: int, lifeline: int | None = None) -> None:
    """Drain (SIGTERM to ourselves) when the parent process is gone.

    ``lifeline`` is the read end of a pipe whose only write end the parent holds: it reads
    EOF the moment the parent dies, however it dies (SIGKILL too), on any POSIX system. The
    parent's pid is checked once a second as well (re-parenting changes ``getppid()``), for
    callers without a pipe (gunicorn's workers). A daemon thread: it never delays an exit.
    """

    def watch() -> None:
        watched = [lifeline] if lifeline is not None else []
        while True:
            readable, _, _ = select.select(watched, [], [], 1.0)
            if readable or os.getppid() != parent:
                logger.warning("the parent process %d is gone: shutting down", parent)
                drain_now()
                return

    threading.Thread(target=watch, name="asgi-core parent watch", daemon=True).start()


def serve_worker(
    app: ASGIApp, config: ServerConfig, listeners: list[Listening] | None = None
) -> int:
    """Run the configured backend on ``listeners`` until it stops; the exit status it earns.

    The statuses are the asgi-core command's, with each failure reported in one line.
    """
    from .lifespan import LifespanFailure
    from .run import BackendUnavailable, run

    try:
        run(app, config, listeners=listeners)
    except (AppImportError, BackendUnavailable, ConfigError) as exc:
        print(f"asgi-core: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except LifespanFailure as exc:
        print(f"asgi-core: {exc}", file=sys.stderr)
        return EXIT_STARTUP_FAILED
    except OSError as exc:
        print(f"asgi-core: worker {os.getpid()}: {exc}", file=sys.stderr)
        return EXIT_OS_ERROR
    return 0
