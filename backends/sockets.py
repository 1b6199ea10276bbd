"""Listening sockets, made the same way for every backend and for the supervisor.

What to listen on comes from the configuration: ``--host``/``--port``, a repeatable ``--bind``
in hypercorn's form (``HOST:PORT``, ``[::]:PORT``, ``unix:PATH``, ``fd://N``; TLS when a
certificate is set) and ``--insecure-bind`` (always plain), ``--uds PATH``, ``--fd N``, or the
sockets systemd passes (``LISTEN_FDS``, ``LISTEN_PID``; ``LISTEN_FDNAMES`` names one "http" or
"https" to say whether it speaks TLS). Bad input raises ``ConfigError`` with one line naming
the option; an address in use raises ``OSError``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from asgi_core.errors import ConfigError

if TYPE_CHECKING:
    from .config import ServerConfig

#: The first file descriptor systemd passes (SD_LISTEN_FDS_START).
SYSTEMD_FIRST_FD = 3


class NamedSocket(Protocol):
    """A stdlib socket, or trio's."""

    def getpeername(self) -> Any: ...

    def getsockname(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class Listening:
    """One bound, listening socket, whether it speaks TLS, and how the logs name it."""

    socket: socket.socket
    tls: bool
    #: "http://127.0.0.1:8000", "https://[::]:8443", "http+unix:/run/app.sock", "fd 3".
    description: str
    #: A Unix socket file this process made, removed when the server stops.
    unlink: str | None = None

    def remove_file(self) -> None:
        """Remove the Unix socket file this process made (if it is still ours)."""
        if self.unlink is not None:
            with contextlib.suppress(OSError):
                if stat.S_ISSOCK(os.stat(self.unlink).st_mode):
                    os.unlink(self.unlink)


def parse_bind(text: str, option: str = "--bind") -> tuple[str, str, int]:
    """``("tcp", host, port)``, ``("unix", path, 0)`` or ``("fd", "", n)`` from a bind string."""
    if text.startswith("unix:"):
        path = text[5:]
        if not path:
            raise ConfigError(f"{option} {text!r}: unix: needs a path")
        return "unix", path, 0
    if text.startswith("fd://"):
        number = text[5:]
        if not number.isdigit():
            raise ConfigError(f"{option} {text!r}: fd:// needs a file descriptor number")
        return "fd", "", int(number)
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(
            f"{option} {text!r}: expected HOST:PORT, [IPV6]:PORT, unix:PATH or fd://N"
        )
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ConfigError(f"{option} {text!r}: write an IPv6 address in brackets, [::1]:PORT")
    return "tcp", host or "0.0.0.0", int(port)


def bind_socket(host: str, port: int, backlog: int) -> socket.socket:
    """A non-blocking listening TCP socket on ``host:port`` (port 0: any free port); on "::"
    it is dual-stack where the system allows, serving IPv4 clients too."""
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
    except OSError as exc:
        sock.close()
        shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        raise OSError(exc.errno, exc.strerror, shown) from None
    except BaseException:
        sock.close()
        raise
    return sock


def bind_unix(path: str, backlog: int, mode: int | None = None) -> socket.socket:
    """A listening Unix socket at ``path``; a stale socket file (nobody listening) is
    replaced, a live one or any other file is an error; ``mode`` sets its permissions."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ConfigError(f"--uds {path}: the folder {folder} does not exist")
    _remove_stale_socket(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        if mode is not None:
            os.chmod(path, mode)
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, exc.strerror, f"unix:{path}") from None
    except BaseException:
        sock.close()
        raise
    return sock


def _remove_stale_socket(path: str) -> None:
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise ConfigError(f"--uds {path}: the path exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except OSError:
        os.unlink(path)  # a socket file left by a server that is gone
    else:
        raise OSError(98, "Address already in use (another server listens on it)", f"unix:{path}")
    finally:
        probe.close()


def adopt_fd(fd: int, option: str = "--fd") -> socket.socket:
    """The listening stream socket behind an inherited file descriptor."""
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        raise ConfigError(f"{option} {fd}: no such open file descriptor") from None
    if not stat.S_ISSOCK(mode):
        raise ConfigError(f"{option} {fd}: the file descriptor is not a socket")
    sock = socket.socket(fileno=fd)
    if sock.type != socket.SOCK_STREAM or not sock.getsockopt(
        socket.SOL_SOCKET, socket.SO_ACCEPTCONN
    ):
        sock.detach()
        raise ConfigError(f"{option} {fd}: the socket is not a listening stream socket")
    sock.setblocking(False)
    return sock


def systemd_sockets(environ: Mapping[str, str]) -> list[tuple[socket.socket, str]] | None:
    """The sockets systemd passed this process, with their names; None when it passed none.

    ``LISTEN_PID`` must be this process (the variables are inherited by children too).
    """
    count = environ.get("LISTEN_FDS")
    if count is None or environ.get("LISTEN_PID", str(os.getpid())) != str(os.getpid()):
        return None
    if not count.isdigit() or int(count) < 1:
        raise ConfigError(f"LISTEN_FDS={count!r}: systemd passed no sockets")
    names = environ.get("LISTEN_FDNAMES", "").split(":")
    found = []
    for index in range(int(count)):
        fd = SYSTEMD_FIRST_FD + index
        name = names[index] if index < len(names) else ""
        found.append((adopt_fd(fd, "LISTEN_FDS"), name))
    return found


def describe(sock: socket.socket, tls: bool) -> str:
    """How the logs name a listening socket."""
    scheme = "https" if tls else "http"
    name = sock.getsockname()
    if sock.family == socket.AF_UNIX:
        return f"{scheme}+unix:{name}"
    host, port = name[0], name[1]
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


def open_listeners(
    config: ServerConfig, environ: Mapping[str, str] | None = None
) -> list[Listening]:
    """Every socket the configuration names, bound and listening; systemd's when it passed
    some and no other place is named; else ``--host``/``--port``."""
    environ = os.environ if environ is None else environ
    opened: list[Listening] = []
    try:
        _open_named(config, opened)
        if not opened:
            from_systemd = systemd_sockets(environ)
            if from_systemd is not None:
                opened += [_systemd_listening(config, sock, name) for sock, name in from_systemd]
        if not opened:
            sock = bind_socket(config.host, config.port, config.backlog)
            opened.append(Listening(sock, config.tls, describe(sock, config.tls)))
    except BaseException:
        close_listeners(opened)
        raise
    return opened


def _open_named(config: ServerConfig, opened: list[Listening]) -> None:
    if config.fd is not None:
        sock = adopt_fd(config.fd)
        opened.append(Listening(sock, config.tls, f"fd {config.fd}"))
    if config.uds is not None:
        sock = bind_unix(config.uds, config.backlog, config.uds_mode)
        opened.append(Listening(sock, config.tls, describe(sock, config.tls), config.uds))
    for text, tls in [(b, config.tls) for b in config.bind] + [
        (b, False) for b in config.insecure_bind
    ]:
        opened.append(_bind(text, tls, config))


def _bind(text: str, tls: bool, config: ServerConfig) -> Listening:
    kind, where, number = parse_bind(text)
    if kind == "unix":
        sock = bind_unix(where, config.backlog, config.uds_mode)
        return Listening(sock, tls, describe(sock, tls), where)
    if kind == "fd":
        return Listening(adopt_fd(number, "--bind"), tls, f"fd {number}")
    sock = bind_socket(where, number, config.backlog)
    return Listening(sock, tls, describe(sock, tls))


def _systemd_listening(config: ServerConfig, sock: socket.socket, name: str) -> Listening:
    """LISTEN_FDNAMES "https" (or "tls") is a TLS socket, "http" a plain one; any other name
    follows the configuration (TLS when a certificate is set)."""
    tls = {"https": True, "tls": True, "http": False}.get(name.lower(), config.tls)
    if tls and not config.tls:
        sock.detach()
        raise ConfigError(f"LISTEN_FDNAMES names a {name!r} socket, which needs --certfile")
    return Listening(sock, tls, describe(sock, tls))


def as_listening(items: Iterable[socket.socket | Listening], tls: bool) -> list[Listening]:
    """What ``serve(listeners=...)`` takes: bound sockets (TLS as configured) or ``Listening``."""
    return [
        item if isinstance(item, Listening) else Listening(item, tls, describe(item, tls))
        for item in items
    ]


def close_listeners(listeners: Iterable[Listening]) -> None:
    for listening in listeners:
        listening.socket.close()
        listening.remove_file()


def socket_address(address: Any) -> tuple[str, int | None] | None:
    """An ASGI ``[host, port]`` from a socket address: IPv6 scope and flow info dropped, an
    IPv4-mapped IPv6 address (a dual-stack listener's IPv4 client) as plain IPv4, and a Unix
    socket's path as ``[path, None]`` (an unnamed peer is None)."""
    if isinstance(address, tuple) and len(address) >= 2:
        host = str(address[0])
        if host.startswith("::ffff:") and "." in host:
            host = host[7:]
        return host, int(address[1])
    if isinstance(address, str) and address:
        return address, None
    if isinstance(address, bytes) and address:
        return address.decode("utf-8", "replace"), None
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
