"""WSGI (PEP 3333) and ASGI 2 applications, served as ASGI 3 on every backend.

a2wsgi's ``WSGIMiddleware`` is not used: it drives its thread through asyncio's loop
(``asyncio.get_running_loop``, ``run_coroutine_threadsafe``), so it cannot run under trio.
This adapter is written on anyio, which asyncio and trio share: the WSGI app runs in a thread
(``anyio.to_thread.run_sync``, bounded by one ``CapacityLimiter``), and that thread calls
back into the event loop (``anyio.from_thread.run``) for each piece of request body that
``wsgi.input`` is asked for and for each response chunk the app yields. Backpressure therefore
holds both ways: body is pulled only as the app reads it (the core stops reading the socket
when its buffer is full), and a chunk waits in ``send()`` while the client is slow.
"""

from __future__ import annotations

import inspect
import io
import os
import sys
from collections.abc import Callable, Coroutine, Iterable, Iterator, MutableMapping
from types import TracebackType
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread

from .logs import logger

Scope = MutableMapping[str, Any]
Receive = Callable[[], Coroutine[Any, Any, dict[str, Any]]]
Send = Callable[[dict[str, Any]], Coroutine[Any, Any, None]]
ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: Threads for WSGI apps by default: asyncio's default pool, which hypercorn runs them in.
DEFAULT_THREADS = min(32, (os.cpu_count() or 1) + 4)


class ASGI2Middleware:
    """An ASGI 2 app (``app(scope)`` returns a coroutine function of receive and send) as an
    ASGI 3 one: asgiref's ``guarantee_single_callable``, without the dependency."""

    def __init__(self, app: Callable[[Scope], Any]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        instance = self.app(scope)
        await instance(receive, send)


class WSGIMiddleware:
    """A WSGI app as an ASGI 3 app; each request runs in one of ``threads`` threads.

    HTTP only: a lifespan scope is answered (WSGI has no startup or shutdown), a WebSocket is
    refused. The app's exceptions propagate, so the driver answers 500 and logs them, once.
    """

    def __init__(self, app: WSGIApp, threads: int = DEFAULT_THREADS) -> None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, not {threads!r}")
        self.app = app
        self.threads = threads
        self._limiter: anyio.CapacityLimiter | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            await send({"type": "websocket.close", "code": 1000})
            return
        if self._limiter is None:  # made here: a limiter belongs to the running event loop
            self._limiter = anyio.CapacityLimiter(self.threads)
        call = _WSGICall(self.app, scope, receive, send)
        await anyio.to_thread.run_sync(call.run, limiter=self._limiter)


async def _lifespan(receive: Receive, send: Send) -> None:
    """Say yes to startup and shutdown: a WSGI app has neither."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


class _WSGICall:
    """One request, run in a worker thread: the environ, start_response, write(), the body."""

    def __init__(self, app: WSGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        self.app = app
        self.scope = scope
        self.send = send
        self.input = WSGIInput(receive)
        self.status: int | None = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.started = False  # http.response.start was sent

    def run(self) -> None:
        """Call the app, send what its iterable yields, close the iterable (PEP 3333)."""
        body = self.app(build_environ(self.scope, self.input), self.start_response)
        try:
            for chunk in body:
                if chunk:
                    self.write(chunk)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
        if self.status is None:
            raise RuntimeError("the WSGI app returned without calling start_response")
        self._send_start()
        self._send({"type": "http.response.body", "body": b"", "more_body": False})

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
    ) -> Callable[[bytes], None]:
        """PEP 3333's: a second call only with ``exc_info``, and then, if the head is already
        sent, the app's error is raised again (the response can only be cut)."""
        if exc_info is not None:
            try:
                if self.started:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None  # no reference cycle through the traceback
        elif self.status is not None:
            raise RuntimeError("start_response called twice without exc_info")
        code, _, _ = status.partition(" ")
        self.status = int(code)
        self.headers = [
            (name.strip().lower().encode("latin-1"), value.strip().encode("latin-1"))
            for name, value in headers
        ]
        return self.write

    def write(self, data: bytes) -> None:
        """The ``write()`` callable (and every chunk the iterable yields): waits in send()."""
        if self.status is None:
            raise RuntimeError("the WSGI app wrote body before calling start_response")
        self._send_start()
        self._send({"type": "http.response.body", "body": bytes(data), "more_body": True})

    def _send_start(self) -> None:
        if not self.started:
            self.started = True
            self._send({"type": "http.response.start", "status": self.status,
                        "headers": self.headers})  # fmt: skip

    def _send(self, message: dict[str, Any]) -> None:
        anyio.from_thread.run(self.send, message)


class WSGIInput(io.RawIOBase):
    """``wsgi.input``: request body pulled from ``receive()`` as the app reads it."""

    def __init__(self, receive: Receive) -> None:
        super().__init__()
        self._receive = receive
        self._buffer = bytearray()
        self._more = True

    def readable(self) -> bool:
        return True

    def _fill(self) -> bool:
        """One more message of body into the buffer; False at its end (or a disconnect)."""
        if not self._more:
            return False
        message: dict[str, Any] = anyio.from_thread.run(self._receive)
        if message["type"] != "http.request":
            self._more = False
            return False
        self._buffer += message.get("body", b"")
        self._more = bool(message.get("more_body", False))
        return True

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` bytes (all that is left when negative or None)."""
        if size is None or size < 0:
            while self._fill():
                pass
            size = len(self._buffer)
        while len(self._buffer) < size and self._fill():
            pass
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        """One line, at most ``size`` bytes of it."""
        limit = -1 if size is None else size
        while b"\n" not in self._buffer and (limit < 0 or len(self._buffer) < limit):
            if not self._fill():
                break
        end = self._buffer.find(b"\n") + 1 or len(self._buffer)
        if limit >= 0:
            end = min(end, limit)
        data = bytes(self._buffer[:end])
        del self._buffer[:end]
        return data

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line


def build_environ(scope: Scope, body: WSGIInput) -> dict[str, Any]:
    """PEP 3333's environ of an ASGI http scope: ``SCRIPT_NAME`` is ``root_path`` (which the
    scope's path includes), ``REMOTE_ADDR`` the client after the proxy settings."""
    root_path: str = scope.get("root_path", "")
    path: str = scope["path"]
    if root_path and path.startswith(root_path):
        path = path[len(root_path) :]
    server = scope.get("server") or ("localhost", 80)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": _latin1(root_path),
        "PATH_INFO": _latin1(path),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]) if server[1] is not None else "",
        "SERVER_PROTOCOL": "HTTP/" + scope.get("http_version", "1.1"),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": body,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    client = scope.get("client")
    if client:
        environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = str(client[0]), str(client[1])
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        key = name if name in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + name
        value = raw_value.decode("latin-1")
        if key in environ:  # repeated fields: one value (cookies are joined as Cookie joins)
            value = environ[key] + ("; " if key == "HTTP_COOKIE" else ",") + value
        environ[key] = value
    return environ


def _latin1(text: str) -> str:
    """A decoded path as WSGI carries it: its UTF-8 bytes, one char per byte (PEP 3333)."""
    return text.encode("utf-8").decode("latin-1")


#: The values of ``--interface``.
INTERFACES: tuple[str, ...] = ("auto", "asgi3", "asgi2", "wsgi")


class InterfaceError(Exception):
    """The app is not of the interface named, or its interface cannot be told (one line)."""


def _required_positional(app: Any) -> int | None:
    """How many positional arguments calling ``app`` needs; None when it cannot be told
    (no signature, or ``*args``)."""
    try:
        signature = inspect.signature(app)
    except (TypeError, ValueError):
        return None
    count = 0
    for parameter in signature.parameters.values():
        if parameter.kind is parameter.VAR_POSITIONAL:
            return None
        positional = (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)
        if parameter.kind in positional and parameter.default is parameter.empty:
            count += 1
    return count


def _is_coroutine_function(app: Any) -> bool:
    """The app, or its ``__call__``, is an ``async def``."""
    call = type(app).__call__ if not inspect.isroutine(app) else None
    return inspect.iscoroutinefunction(app) or inspect.iscoroutinefunction(call)


def detect_interface(app: Any) -> str | None:
    """``asgi3``, ``asgi2`` or ``wsgi`` by the app's signature; None when it cannot be told.

    A class is ASGI 2 (asgiref's rule); a coroutine function, or any callable of three
    arguments, ASGI 3; a plain callable of one argument ASGI 2, of two WSGI. A signature that
    cannot be read is taken as ASGI 3, as before there was a choice.
    """
    if inspect.isclass(app):
        return "asgi2"
    count = _required_positional(app)
    if count is None or count == 3:
        return "asgi3"
    if _is_coroutine_function(app):
        return None
    return {1: "asgi2", 2: "wsgi"}.get(count)


_ARGUMENTS = {"asgi3": 3, "asgi2": 1, "wsgi": 2}
_NAMES = {"asgi3": "ASGI 3", "asgi2": "ASGI 2", "wsgi": "WSGI"}


def as_asgi3(app: Any, interface: str, name: str, threads: int | None = None) -> Any:
    """``app`` as an ASGI 3 app, of the ``interface`` given or detected (``auto``).

    A named interface the app's signature contradicts is refused, as is an app ``auto`` cannot
    tell: an error naming ``--interface``, not a 500 on every request.
    """
    detected = detect_interface(app)
    if interface == "auto":
        if detected is None:
            count = _required_positional(app)
            factory = " (an app factory? --factory calls it)" if count == 0 else ""
            raise InterfaceError(
                f"cannot tell whether {name!r} is ASGI 3, ASGI 2 or WSGI (it takes "
                f"{count} arguments{factory}); name it with --interface"
            )
        interface = detected
    elif detected is not None and detected != interface and not _fits(app, interface):
        raise InterfaceError(
            f"{name!r} takes {_required_positional(app)} arguments, not the "
            f"{_ARGUMENTS[interface]} of a {_NAMES[interface]} app; "
            f"it looks like --interface {detected}"
        )
    logger.debug("Serving %r as %s", name, _NAMES[interface])
    if interface == "wsgi":
        if threads is not None and threads < 1:
            raise InterfaceError(f"--wsgi-threads must be at least 1, not {threads}")
        return WSGIMiddleware(app, DEFAULT_THREADS if threads is None else threads)
    if interface == "asgi2":
        return ASGI2Middleware(app)
    return app


def _fits(app: Any, interface: str) -> bool:
    """The app could be called as ``interface`` asks (a class as ASGI 3 cannot)."""
    if inspect.isclass(app):
        return interface == "asgi2"
    return _required_positional(app) in (None, _ARGUMENTS[interface])
