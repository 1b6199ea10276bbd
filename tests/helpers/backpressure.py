"""Backpressure on real sockets, the same for plain TCP and TLS: the apps and the client side.

Read backpressure: an app that reads nothing until released (``reads_once_released``) and a
client that uploads until its sends block (``upload_until_stalled``). Write backpressure: an
app that keeps sending 64 KiB chunks (``sends_without_end``) to a client that reads nothing
(``chunks_sent_while_unread``).
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from . import apps

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]

#: What a client may upload before it is clear that the server is not pausing its reads.
UPLOAD_LIMIT = 32 * 1024 * 1024
CHUNK = 65536


def reads_once_released(release: threading.Event) -> App:
    """An app that reads nothing until ``release`` is set, then echoes the whole body."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        while not release.is_set():
            await anyio.sleep(0.05)
        await apps.read_then_echo(scope, receive, send)

    return app


def upload_until_stalled(sock: socket.socket, total: int) -> int:
    """POST a body of ``total`` bytes without blocking until the socket has refused more for
    0.5 s, or ``UPLOAD_LIMIT`` bytes went out; how many body bytes were sent."""
    sock.sendall(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n" % total)
    sock.setblocking(False)
    sent = 0
    stalled_since = None
    chunk = b"x" * CHUNK
    while sent < UPLOAD_LIMIT and (stalled_since is None or time.monotonic() - stalled_since < 0.5):
        try:
            sent += sock.send(chunk)
            stalled_since = None
        except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
            stalled_since = stalled_since or time.monotonic()
            time.sleep(0.01)
    return sent


def sends_without_end(sent_chunks: list[int]) -> App:
    """An app that sends up to 10,000 chunks of 64 KiB, noting each send() that returned."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for i in range(10_000):
            await send({"type": "http.response.body", "body": b"x" * CHUNK, "more_body": True})
            sent_chunks.append(i)
        await send({"type": "http.response.body", "body": b""})

    return app


def chunks_sent_while_unread(sock: socket.socket, sent_chunks: list[int]) -> tuple[int, int]:
    """GET, then read nothing: how many chunks ``sends_without_end`` had sent after 1 s, and
    after another 0.5 s (the same number once its send() waits)."""
    sock.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    time.sleep(1.0)
    stalled_at = len(sent_chunks)
    time.sleep(0.5)
    return stalled_at, len(sent_chunks)
