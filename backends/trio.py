"""The trio driver: ``structured.py`` over trio's own primitives, on plain non-blocking
sockets (``nonblocking.py``)."""

from __future__ import annotations

import socket
from collections.abc import Sequence

import trio

from .config import ServerConfig
from .driver import ASGIApp
from .nonblocking import Readiness
from .run import OnReady, Ready, Sockets
from .runtime import Runtime
from .sockets import Listening
from .structured import serve_structured, serve_until_signal

READINESS = Readiness(
    wait_readable=trio.lowlevel.wait_readable,
    wait_writable=trio.lowlevel.wait_writable,
    notify_closing=trio.lowlevel.notify_closing,
    yield_turn=trio.lowlevel.cancel_shielded_checkpoint,
    wait_errors=(trio.ClosedResourceError, trio.BusyResourceError, OSError, ValueError),
    closed=trio.ClosedResourceError,
)


RUNTIME = Runtime(
    name="trio",
    task_group=trio.open_nursery,
    cancel_scope=trio.CancelScope,
    event=trio.Event,
    current_time=trio.current_time,
    sleep_forever=trio.sleep_forever,
    sleep=trio.sleep,
    run_sync=trio.to_thread.run_sync,
    listener=READINESS.listener,
    listener_closed_errors=(READINESS.closed,),
    open_signal_receiver=trio.open_signal_receiver,
)


async def serve(
    app: ASGIApp,
    config: ServerConfig,
    *,
    on_ready: OnReady | None = None,
    listeners: Sequence[socket.socket | Listening] | None = None,
    task_status: trio.TaskStatus[list[tuple[str, int]]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` until cancelled, then shut down gracefully.

    ``await nursery.start(serve, app, config)`` returns the bound addresses once the server
    accepts connections. Cancelling it stops accepting, lets in-flight requests finish for up
    to ``config.graceful_timeout`` seconds, then cancels what is left and runs the lifespan
    shutdown. ``listeners`` are sockets already bound (else the config's are opened).
    """
    await serve_structured(
        RUNTIME, app, config, on_ready=on_ready, listeners=listeners, task_status=task_status
    )


def run(
    app: ASGIApp, config: ServerConfig, *, listeners: Sockets = None, on_ready: Ready = None
) -> None:
    """Serve until SIGINT or SIGTERM, then shut down gracefully (the CLI's entry point)."""
    trio.run(serve_until_signal, RUNTIME, app, config, listeners, on_ready)
