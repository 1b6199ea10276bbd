"""Listening sockets, made the same way for every backend."""

from __future__ import annotations

import contextlib
import socket
from typing import Any, Protocol


class NamedSocket(Protocol):
    """A stdlib socket, or trio's."""

    def getpeername(self) -> Any: ...

    def getsockname(self) -> Any: ...


def bind_socket(host: str, port: int, backlog: int) -> socket.socket:
    """A non-blocking listening TCP socket on ``host:port`` (port 0: any free port)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(address)
        sock.listen(backlog)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def socket_address(address: Any) -> tuple[str, int] | None:
    """An ASGI ``[host, port]`` from a socket address (IPv6 scope and flow info dropped)."""
    if isinstance(address, tuple) and len(address) >= 2:
        return str(address[0]), int(address[1])
    return None


def peer_and_local(sock: NamedSocket) -> tuple[Any, Any]:
    """A connected socket's (peer, local) addresses; (None, None) once it is gone."""
    try:
        return sock.getpeername(), sock.getsockname()
    except OSError:
        return None, None


def raise_open_file_limit() -> None:
    """Lift the soft limit on open files to the hard one, so many clients can connect."""
    try:
        import resource
    except ImportError:  # not on this platform
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
