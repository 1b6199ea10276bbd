"""The trio driver: ``structured.py`` over trio's own primitives."""

from __future__ import annotations

import socket
from typing import Any

import trio

from .config import ServerConfig
from .driver import ASGIApp
from .run import OnReady
from .structured import Runtime, serve_structured, serve_until_signal


async def _receive(stream: trio.SocketStream, size: int) -> bytes:
    try:
        return await stream.receive_some(size)
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
        return b""


async def _send(stream: trio.SocketStream, data: bytes) -> bool:
    try:
        await stream.send_all(data)
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
        return False
    return True


def _addresses(stream: trio.SocketStream) -> tuple[Any, Any]:
    try:
        return stream.socket.getpeername(), stream.socket.getsockname()
    except OSError:
        return None, None


async def _listener(sock: socket.socket) -> trio.SocketListener:
    return trio.SocketListener(trio.socket.from_stdlib_socket(sock))


RUNTIME = Runtime(
    name="trio",
    task_group=trio.open_nursery,
    cancel_scope=trio.CancelScope,
    event=trio.Event,
    current_time=trio.current_time,
    sleep_forever=trio.sleep_forever,
    sleep=trio.sleep,
    run_sync=trio.to_thread.run_sync,
    listener=_listener,
    accept=lambda listener: listener.accept(),
    receive=_receive,
    send=_send,
    close=lambda stream: stream.aclose(),
    addresses=_addresses,
    closed=(trio.ClosedResourceError,),
    open_signal_receiver=trio.open_signal_receiver,
)


async def serve(
    app: ASGIApp,
    config: ServerConfig,
    *,
    on_ready: OnReady | None = None,
    task_status: trio.TaskStatus[list[tuple[str, int]]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` until cancelled, then shut down gracefully.

    ``await nursery.start(serve, app, config)`` returns the bound addresses once the server
    accepts connections. Cancelling it stops accepting, lets in-flight requests finish for up
    to ``config.graceful_timeout`` seconds, then cancels what is left and runs the lifespan
    shutdown.
    """
    await serve_structured(RUNTIME, app, config, on_ready=on_ready, task_status=task_status)


def run(app: ASGIApp, config: ServerConfig) -> None:
    """Serve until SIGINT or SIGTERM, then shut down gracefully (the CLI's entry point)."""
    trio.run(serve_until_signal, RUNTIME, app, config)
