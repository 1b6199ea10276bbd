"""Non-blocking stdlib sockets for the structured drivers (trio and anyio): accepting in
batches, and a connection's reads and writes, each waiting on the runtime's readiness calls.

Plain sockets keep a connection's cost to the socket itself: no stream object layers, no
buffers read ahead of the core (anyio's asyncio streams read into a queue nobody asked for,
and a paused core would not stop them). A read that finds data at once still yields one turn,
so a peer that floods gets one read per turn and the others keep theirs.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .sockets import peer_and_local

#: Connections a structured driver accepts before it lets its other tasks run (asyncio's
#: driver uses the same figure).
ACCEPTS_PER_TURN = 64
#: accept() errors that concern one connection that is already gone, not the listener.
IGNORABLE_ACCEPT_ERRNOS = frozenset(
    {errno.ECONNABORTED, errno.EPROTO, errno.EPERM, errno.ENETDOWN, errno.ENOPROTOOPT,
     errno.EHOSTDOWN, errno.ENONET, errno.EHOSTUNREACH, errno.EOPNOTSUPP, errno.ENETUNREACH}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Readiness:
    """One runtime's calls for waiting on sockets."""

    wait_readable: Callable[[socket.socket], Awaitable[object]]
    wait_writable: Callable[[socket.socket], Awaitable[object]]
    notify_closing: Callable[[socket.socket], object]
    #: Lets the other tasks run once, and cannot be cancelled (what was read is not lost).
    yield_turn: Callable[[], Awaitable[object]]
    #: What a wait raises for a socket closed under it (or waited on twice).
    wait_errors: tuple[type[Exception], ...]
    #: What ``accept`` raises once the listener is closed.
    closed: type[Exception]

    def listener(self, sock: socket.socket) -> BatchAcceptListener:
        """``Runtime.listener``: ``sock`` accepted in batches, waited on with these calls."""
        return BatchAcceptListener(sock, self)


class NonBlockingStream:
    """An accepted non-blocking socket as ``runtime.Stream``: a peer that is gone is b""
    (``receive``) or False (``send``)."""

    __slots__ = ("_full", "_readiness", "_sock")

    def __init__(self, sock: socket.socket, readiness: Readiness) -> None:
        self._sock = sock
        self._readiness = readiness
        #: The last read filled its buffer: more is likely waiting, so the next one tries
        #: before it waits. Otherwise it waits first (a client waiting for its answer has
        #: sent nothing more, and a read that fails costs a system call).
        self._full = False

    async def receive(self, size: int) -> bytes:
        sock = self._sock
        if self._full:
            try:
                data = sock.recv(size)
            except BlockingIOError:
                pass
            except OSError:  # reset, or closed under us: the peer is gone either way
                return b""
            else:
                self._full = len(data) == size
                await self._readiness.yield_turn()
                return data
        readiness = self._readiness
        while True:
            try:
                await readiness.wait_readable(sock)
            except readiness.wait_errors:
                return b""
            try:
                data = sock.recv(size)
            except BlockingIOError:
                continue
            except OSError:
                return b""
            self._full = len(data) == size
            return data

    def try_send(self, data: bytes) -> int:
        """What the socket takes of ``data`` now, without waiting (0 on trouble too: the
        writer's ``send`` then finds it)."""
        try:
            return self._sock.send(data)
        except OSError:
            return 0

    async def send(self, data: bytes) -> bool:
        sock = self._sock
        view = memoryview(data)
        readiness = self._readiness
        while view:
            try:
                view = view[sock.send(view) :]
                continue
            except BlockingIOError:
                pass
            except OSError:
                return False
            try:
                await readiness.wait_writable(sock)
            except readiness.wait_errors:
                return False
        return True

    async def aclose(self) -> None:
        close(self._sock, self._readiness)

    def addresses(self) -> tuple[Any, Any]:
        return peer_and_local(self._sock)


class BatchAcceptListener:
    """A listening socket, made non-blocking, as ``runtime.Listener``. It accepts up to
    ``ACCEPTS_PER_TURN`` connections before it yields: a storm of connects then costs one
    loop turn per batch instead of one per connection, and the clients already served still
    get their turn between batches."""

    __slots__ = ("_in_turn", "_readiness", "_sock")

    def __init__(self, sock: socket.socket, readiness: Readiness) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._readiness = readiness
        self._in_turn = 0

    async def accept(self) -> NonBlockingStream:
        """The next connection (raises ``Readiness.closed`` once the listener is closed,
        ``OSError`` on trouble such as EMFILE)."""
        sock, readiness = self._sock, self._readiness
        while True:
            if self._in_turn >= ACCEPTS_PER_TURN:
                self._in_turn = 0
                await readiness.yield_turn()
            if sock.fileno() < 0:
                raise readiness.closed("the listener is closed")
            try:
                conn, _ = sock.accept()
            except BlockingIOError:
                self._in_turn = 0
                try:
                    await readiness.wait_readable(sock)
                except readiness.wait_errors as exc:
                    raise readiness.closed("the listener is closed") from exc
                continue
            except OSError as exc:
                if exc.errno in IGNORABLE_ACCEPT_ERRNOS:
                    continue
                raise
            self._in_turn += 1
            conn.setblocking(False)
            if conn.family != socket.AF_UNIX:
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return NonBlockingStream(conn, readiness)

    async def aclose(self) -> None:
        close(self._sock, self._readiness)


def close(sock: socket.socket, readiness: Readiness) -> None:
    """Close ``sock``, waking whatever waits on it first (the runtimes require it)."""
    if sock.fileno() >= 0:
        readiness.notify_closing(sock)
        sock.close()
