"""Running a server as a program, for every backend: readiness, signals, picking the driver."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Sequence
from importlib import import_module
from typing import Any

from .config import ServerConfig
from .driver import ASGIApp
from .lifecycle import announce_restart
from .logs import logger, reopen_log_files
from .sockets import Listening, raise_open_file_limit
from .tls import reload_certificates

Address = tuple[str, int]
OnReady = Callable[[list[Address]], object]
#: ``run(on_ready=)``: told the bound addresses, from inside the serving loop, once it accepts.
Ready = OnReady | None
#: ``run(listeners=)``: sockets already bound, or None for those the configuration names.
Sockets = Sequence[Listening] | None

SHUTDOWN_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: What a supervisor sends a worker it replaces: drain as on SIGTERM, WebSockets get 1012.
RESTART_SIGNAL = signal.SIGUSR2
#: Every signal the program handles: those, SIGHUP (reload the TLS certificates) and SIGUSR1
#: (reopen the log files, as gunicorn does).
PROGRAM_SIGNALS = (*SHUTDOWN_SIGNALS, RESTART_SIGNAL, signal.SIGHUP, signal.SIGUSR1)


def report_ready(on_ready: OnReady | None, listeners: list[Listening]) -> list[Address]:
    """Log where the server listens (tests and scripts read these lines) and tell
    ``on_ready`` the TCP addresses (host, port)."""
    addresses: list[Address] = []
    for listening in listeners:
        logger.info("Serving on %s (pid %d)", listening.description, os.getpid())
        name = listening.socket.getsockname()
        if isinstance(name, tuple):
            addresses.append((str(name[0]), int(name[1])))
    if on_ready is not None:
        on_ready(addresses)
    return addresses


class ProgramSignals:
    """The first SIGINT/SIGTERM shuts down gracefully; the next one stops at once. SIGUSR2
    (``RESTART_SIGNAL``) shuts down the same way for a restart; SIGHUP reloads the TLS
    certificates and SIGUSR1 reopens the log files, and the server goes on.

    Shutdowns cancel the serving task: ``serve()`` turns its first cancellation into a
    graceful shutdown, and a second one cuts the graceful wait short.
    """

    def __init__(self, cancel_serving: Callable[[], object]) -> None:
        self.cancel_serving = cancel_serving
        self.received = False

    def __call__(self, signum: int) -> None:
        name = signal.Signals(signum).name
        if signum == signal.SIGHUP:
            reload_certificates()
            return
        if signum == signal.SIGUSR1:
            logger.info("SIGUSR1 received: reopened %d log file(s)", reopen_log_files())
            return
        if self.received:
            logger.warning("%s received again: closing every connection now", name)
        elif signum == RESTART_SIGNAL:
            announce_restart()
            logger.info("%s received: shutting down gracefully for a restart", name)
        else:
            logger.info("%s received: shutting down gracefully", name)
        self.received = True
        self.cancel_serving()


class BackendUnavailable(Exception):
    """The chosen backend or loop needs a package that is not installed."""


def require(module: str, extra: str) -> None:
    """Import ``module`` or say which extra of asgi-core installs it."""
    try:
        import_module(module)
    except ImportError:
        raise BackendUnavailable(
            f"{module} is not installed: pip install 'asgi-core[{extra}]'"
        ) from None


def use_uvloop(config: ServerConfig) -> bool:
    """Run asyncio on uvloop: asked for, or ``loop="auto"`` and uvloop is installed."""
    if config.loop == "auto":
        try:
            import uvloop  # noqa: F401
        except ImportError:
            return False
        return True
    return config.loop == "uvloop"


def run(
    app: ASGIApp, config: ServerConfig, *, listeners: Sockets = None, on_ready: Ready = None
) -> None:
    """Serve with the configured backend until SIGINT or SIGTERM (the CLI's entry point).

    Without ``listeners`` the server opens the sockets the configuration names once the
    lifespan startup is done (as uvicorn does); a supervisor passes the ones it opened.
    ``on_ready`` is called from inside the serving loop once the listeners accept.
    """
    raise_open_file_limit()
    if config.backend == "trio" or config.loop == "trio":
        require("trio", "trio")
    if config.loop == "uvloop":
        require("uvloop", "uvloop")
    backend: Any = import_module(f"{__package__}.{config.backend}")
    backend.run(app, config, listeners=listeners, on_ready=on_ready)
