"""The anyio driver: ``structured.py`` over anyio, on asyncio or on trio (``--loop trio``)."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from typing import Any

import anyio

from .config import ServerConfig
from .driver import ASGIApp
from .run import OnReady, Ready, Sockets, use_uvloop
from .runtime import Runtime
from .sockets import Listening, peer_and_local
from .structured import serve_structured, serve_until_signal

# anyio's asyncio SocketStream keeps reading into its own queue while nobody calls receive()
# (so a paused core would not stop the socket); plain non-blocking sockets with anyio's
# wait_readable/wait_writable read exactly when the driver asks, on asyncio and trio alike.


class _Stream:
    """A non-blocking stdlib socket as ``runtime.Stream``: a peer that is gone is b"" or False."""

    __slots__ = ("_sock",)

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    async def receive(self, size: int) -> bytes:
        sock = self._sock
        while True:
            try:
                return sock.recv(size)
            except BlockingIOError:
                pass
            except OSError:  # reset, or closed under us: the peer is gone either way
                return b""
            try:
                await anyio.wait_readable(sock)
            except (anyio.ClosedResourceError, anyio.BusyResourceError, OSError, ValueError):
                return b""

    async def send(self, data: bytes) -> bool:
        sock = self._sock
        view = memoryview(data)
        while view:
            try:
                view = view[sock.send(view) :]
                continue
            except BlockingIOError:
                pass
            except OSError:
                return False
            try:
                await anyio.wait_writable(sock)
            except (anyio.ClosedResourceError, anyio.BusyResourceError, OSError, ValueError):
                return False
        return True

    async def aclose(self) -> None:
        _close(self._sock)

    def addresses(self) -> tuple[Any, Any]:
        return peer_and_local(self._sock)


class _Listener:
    __slots__ = ("_sock",)

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    async def accept(self) -> _Stream:
        sock = self._sock
        while True:
            if sock.fileno() < 0:
                raise anyio.ClosedResourceError
            await anyio.wait_readable(sock)
            try:
                conn, _ = sock.accept()
            except BlockingIOError:
                continue
            conn.setblocking(False)
            if conn.family != socket.AF_UNIX:
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return _Stream(conn)

    async def aclose(self) -> None:
        _close(self._sock)


def _close(sock: socket.socket) -> None:
    if sock.fileno() >= 0:
        anyio.notify_closing(sock)
        sock.close()


RUNTIME = Runtime(
    name="anyio",
    task_group=anyio.create_task_group,
    cancel_scope=anyio.CancelScope,
    event=anyio.Event,
    current_time=anyio.current_time,
    sleep_forever=anyio.sleep_forever,
    sleep=anyio.sleep,
    run_sync=anyio.to_thread.run_sync,
    listener=_Listener,
    listener_closed_errors=(anyio.ClosedResourceError,),
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
