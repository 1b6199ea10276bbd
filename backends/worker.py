"""What a worker process needs besides the driver: readiness, a request budget, a parent watch.

Shared by the supervisor's workers (backends/supervisor.py) and the gunicorn worker class
(backends/gunicorn.py). Nothing here knows a protocol: it wraps the app, and hears of readiness
from the driver's ``on_ready``.
"""

from __future__ import annotations

import asyncio
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
    app: ASGIApp,
    config: ServerConfig,
    listeners: list[Listening] | None = None,
    on_ready: Callable[[InLoop], object] | None = None,
) -> int:
    """Run the configured backend on ``listeners`` until it stops; the exit status it earns.

    The statuses are the asgi-core command's, with each failure reported in one line.
    ``on_ready`` gets, from inside the serving loop once it accepts, a thread-safe way to run
    a callback in that loop (the gunicorn heartbeat uses it).
    """
    from .lifespan import LifespanFailure
    from .run import BackendUnavailable, run

    ready = None if on_ready is None else (lambda _: on_ready(_in_this_loop()))
    try:
        run(app, config, listeners=listeners, on_ready=ready)
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
