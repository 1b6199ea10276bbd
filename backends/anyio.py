"""The anyio driver: ``structured.py`` over anyio, on asyncio or on trio (``--loop trio``)."""

from __future__ import annotations

import socket
from collections.abc import Sequence

import anyio
import anyio.lowlevel

from .config import ServerConfig
from .driver import ASGIApp
from .nonblocking import Readiness
from .run import OnReady, Ready, Sockets, use_uvloop
from .runtime import Runtime
from .sockets import Listening
from .structured import serve_structured, serve_until_signal

READINESS = Readiness(
    wait_readable=anyio.wait_readable,
    wait_writable=anyio.wait_writable,
    notify_closing=anyio.notify_closing,
    yield_turn=anyio.lowlevel.cancel_shielded_checkpoint,
    wait_errors=(anyio.ClosedResourceError, anyio.BusyResourceError, OSError, ValueError),
    closed=anyio.ClosedResourceError,
)


RUNTIME = Runtime(
    name="anyio",
    task_group=anyio.create_task_group,
    cancel_scope=anyio.CancelScope,
    event=anyio.Event,
    current_time=anyio.current_time,
    sleep_forever=anyio.sleep_forever,
    sleep=anyio.sleep,
    run_sync=anyio.to_thread.run_sync,
    listener=READINESS.listener,
    listener_closed_errors=(READINESS.closed,),
    open_signal_receiver=anyio.open_signal_receiver,
)


async def serve(
    app: ASGIApp,
    config: ServerConfig,
    *,
    on_ready: OnReady | None = None,
    listeners: Sequence[socket.socket | Listening] | None = None,
    task_status: anyio.abc.TaskStatus[list[tuple[str, int]]] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` until cancelled, then shut down gracefully.

    ``await task_group.start(serve, app, config)`` returns the bound addresses once the server
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
    if config.loop == "trio":
        anyio.run(serve_until_signal, RUNTIME, app, config, listeners, on_ready, backend="trio")
    else:
        anyio.run(
            serve_until_signal,
            RUNTIME,
            app,
            config,
            listeners,
            on_ready,
            backend="asyncio",
            backend_options={"use_uvloop": use_uvloop(config)},
        )
