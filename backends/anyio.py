"""The anyio driver: ``structured.py`` over anyio, on asyncio or on trio (``--loop trio``)."""

from __future__ import annotations

import socket
from typing import Any

import anyio
from anyio.abc import SocketAttribute, SocketListener, SocketStream

from .config import ServerConfig
from .driver import ASGIApp
from .run import OnReady
from .structured import Runtime, serve_structured, serve_until_signal

_GONE = (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError)


async def _receive(stream: SocketStream, size: int) -> bytes:
    try:
        return await stream.receive(size)
    except _GONE:
        return b""


async def _send(stream: SocketStream, data: bytes) -> bool:
    try:
        await stream.send(data)
    except _GONE:
        return False
    return True


def _addresses(stream: SocketStream) -> tuple[Any, Any]:
    return (
        stream.extra(SocketAttribute.remote_address, None),
        stream.extra(SocketAttribute.local_address, None),
    )


async def _listener(sock: socket.socket) -> SocketListener:
    return await SocketListener.from_socket(sock)


RUNTIME = Runtime(
    name="anyio",
    task_group=anyio.create_task_group,
    cancel_scope=anyio.CancelScope,
    event=anyio.Event,
    current_time=anyio.current_time,
    sleep_forever=anyio.sleep_forever,
    sleep=anyio.sleep,
    run_sync=anyio.to_thread.run_sync,
    listener=_listener,
    accept=lambda listener: listener.accept(),
    receive=_receive,
    send=_send,
    addresses=_addresses,
    closed=(anyio.ClosedResourceError,),
    open_signal_receiver=anyio.open_signal_receiver,
)


async def serve(
    app: ASGIApp,
    config: ServerConfig,
    *,
    on_ready: OnReady | None = None,
    task_status: anyio.abc.TaskStatus[list[tuple[str, int]]] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` until cancelled, then shut down gracefully.

    ``await task_group.start(serve, app, config)`` returns the bound addresses once the server
    accepts connections. Cancelling it stops accepting, lets in-flight requests finish for up
    to ``config.graceful_timeout`` seconds, then cancels what is left and runs the lifespan
    shutdown.
    """
    await serve_structured(RUNTIME, app, config, on_ready=on_ready, task_status=task_status)


def run(app: ASGIApp, config: ServerConfig) -> None:
    """Serve until SIGINT or SIGTERM, then shut down gracefully (the CLI's entry point)."""
    if config.loop == "trio":
        anyio.run(serve_until_signal, RUNTIME, app, config, backend="trio")
    else:
        use_uvloop = config.loop == "uvloop" or (config.loop == "auto" and _has_uvloop())
        anyio.run(
            serve_until_signal,
            RUNTIME,
            app,
            config,
            backend="asyncio",
            backend_options={"use_uvloop": use_uvloop},
        )


def _has_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True
