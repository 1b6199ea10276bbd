"""The trio driver: ``structured.py`` over trio's own primitives."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from typing import Any

import trio

from .config import ServerConfig
from .driver import ASGIApp
from .run import OnReady, Ready, Sockets
from .runtime import Runtime
from .sockets import Listening, peer_and_local
from .structured import serve_structured, serve_until_signal


class _Stream:
    """A ``trio.SocketStream`` as ``runtime.Stream``: a peer that is gone is b"" or False."""

    __slots__ = ("_stream",)

    def __init__(self, stream: trio.SocketStream) -> None:
        self._stream = stream

    async def receive(self, size: int) -> bytes:
        try:
            return await self._stream.receive_some(size)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            return b""

    async def send(self, data: bytes) -> bool:
        try:
            await self._stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            return False
        return True

    async def aclose(self) -> None:
        await self._stream.aclose()

    def addresses(self) -> tuple[Any, Any]:
        return peer_and_local(self._stream.socket)


class _Listener:
    __slots__ = ("_listener",)

    def __init__(self, sock: socket.socket) -> None:
        self._listener = trio.SocketListener(trio.socket.from_stdlib_socket(sock))

    async def accept(self) -> _Stream:
        return _Stream(await self._listener.accept())

    async def aclose(self) -> None:
        await self._listener.aclose()


RUNTIME = Runtime(
    name="trio",
    task_group=trio.open_nursery,
    cancel_scope=trio.CancelScope,
    event=trio.Event,
    current_time=trio.current_time,
    sleep_forever=trio.sleep_forever,
    sleep=trio.sleep,
    run_sync=trio.to_thread.run_sync,
    listener=_Listener,
    listener_closed_errors=(trio.ClosedResourceError,),
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
