"""The access log: one line per response, as ``--access-log-format`` says.

The core reports each response's end (``ResponseEnded``: status, body bytes, complete or cut,
the server's own answer or the app's); the driver adds what only it may know (its clocks) and
calls ``AccessLog.log``. The format's atoms are gunicorn's and hypercorn's (``%(h)s``,
``%(r)s``, ``%({user-agent}i)s``...), compiled once into the list of atoms a line needs, so a
line costs only what its format uses. The default format has its own f-string for speed.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

access_logger = logging.getLogger("asgi_core.access")

#: Client, time, request line, status and its phrase, body bytes, duration (and "(cut)").
DEFAULT_FORMAT = '%(hp)s - [%(t)s] "%(r)s" %(s)s %(st)s %(B)s %(Ms)s%(cut)s'

#: Control characters (C0, DEL, C1) and the characters a quoted field must escape: a path
#: decoded from ``%0A`` must not forge a second log line (the CVE-2020-7694 class).
_ESCAPES = {i: f"\\x{i:02x}" for i in (*range(0x20), *range(0x7F, 0xA0))}
_ESCAPES[ord('"')] = '\\"'
_ESCAPES[ord("\\")] = "\\\\"

_PHRASES = {status.value: status.phrase for status in HTTPStatus}

_ATOM = re.compile(r"%\((\{[^}]*\}[ioe]|[A-Za-z]+)\)s")


def escape(text: str) -> str:
    """``text`` with control characters, quotes and backslashes escaped (``\\x0a``, ``\\"``)."""
    if text.isprintable() and '"' not in text and "\\" not in text:
        return text  # the common case: one C-level scan, no copy
    return text.translate(_ESCAPES)


@dataclass(slots=True)
class Entry:
    """One response, as the access log sees it."""

    scope: dict[str, Any] | None
    #: The status sent (0: none, the response was cut first); None: a WebSocket's close.
    status: int | None
    bytes_sent: int
    #: Seconds from the request's start to the response's end (None: not known).
    duration: float | None
    complete: bool = True
    #: The peer's address, for the server's answers that have no scope (a 431 before any head).
    peer: tuple[str, int | None] | None = None
    response_headers: Iterable[tuple[bytes, bytes]] | None = None
    #: ``(method, target, protocol)`` of a request the server answered before its app ran.
    request: tuple[str, str, str] | None = None

    def client(self) -> tuple[str, int | None] | None:
        """The scope's ``client`` (proxy headers may have rewritten it), else the peer's."""
        scope = self.scope
        client = scope.get("client") if scope is not None else self.peer
        return (client[0], client[1]) if client else None

    def target(self) -> str:
        """The path and query, escaped."""
        scope = self.scope
        if scope is None:
            return "-"
        query = scope.get("query_string", b"")
        path = escape(scope.get("path", ""))
        return path + "?" + escape(query.decode("latin-1")) if query else path

    def request_line(self) -> str:
        scope = self.scope
        if scope is None:
            request = self.request
            return "-" if request is None else f"{request[0]} {escape(request[1])} {request[2]}"
        method = scope.get("method", "GET")
        return f"{method} {self.target()} {protocol(scope)}"


def protocol(scope: dict[str, Any]) -> str:
    """``HTTP/1.1``, ``HTTP/2``; ``WS/1.1`` style is not used: WebSocket scopes say HTTP."""
    return "HTTP/" + str(scope.get("http_version", "1.1"))


def request_header(scope: dict[str, Any] | None, name: bytes) -> str:
    """A request header's value (joined with commas), escaped; ``-`` if absent."""
    if scope is None:
        return "-"
    values = [v.decode("latin-1") for k, v in scope.get("headers", ()) if k.lower() == name]
    return escape(", ".join(values)) if values else "-"


def _response_header(entry: Entry, name: bytes) -> str:
    headers = entry.response_headers or ()
    values = [bytes(v).decode("latin-1") for k, v in headers if bytes(k).lower() == name]
    return escape(", ".join(values)) if values else "-"


_last_second = -1
_last_stamp = ""


def timestamp() -> str:
    """Now, as ``01/Dec/2026:10:22:33 +0000`` (the common log format), cached per second."""
    global _last_second, _last_stamp
    now = int(time.time())
    if now != _last_second:
        _last_second = now
        _last_stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now))
    return _last_stamp


def _status(entry: Entry) -> str:
    return "-" if entry.status is None else str(entry.status)


def _phrase(entry: Entry) -> str:
    status = entry.status
    if status is None:
        return "WebSocket closed"
    return _PHRASES.get(status, "-") if status else "-"


def _ms_unit(entry: Entry) -> str:
    return "-" if entry.duration is None else f"{entry.duration * 1000:.1f}ms"


def _ms(entry: Entry) -> str:
    return "-" if entry.duration is None else f"{entry.duration * 1000:.1f}"


def _us(entry: Entry) -> str:
    return "-" if entry.duration is None else str(round(entry.duration * 1_000_000))


def _host(entry: Entry) -> str:
    client = entry.client()
    return client[0] if client else "-"


def _host_port(entry: Entry) -> str:
    client = entry.client()
    return f"{client[0]}:{client[1]}" if client else "-"


def _scope_get(name: str, default: str = "-") -> Callable[[Entry], str]:
    def get(entry: Entry) -> str:
        return str(entry.scope.get(name, default)) if entry.scope is not None else default

    return get


#: Every atom without a name in braces: gunicorn's, hypercorn's, and ``hp``/``cut`` of ours.
ATOMS: dict[str, Callable[[Entry], str]] = {
    "h": _host,
    "hp": _host_port,
    "l": lambda e: "-",
    "u": lambda e: "-",
    "t": lambda e: timestamp(),
    "r": Entry.request_line,
    "R": Entry.request_line,
    "m": _scope_get("method"),
    "U": lambda e: escape(e.scope.get("path", "")) if e.scope is not None else "-",
    "Uq": Entry.target,
    "q": lambda e: (
        escape(e.scope.get("query_string", b"").decode("latin-1")) if e.scope is not None else "-"
    ),
    "H": lambda e: protocol(e.scope) if e.scope is not None else "-",
    "S": _scope_get("scheme"),
    "s": _status,
    "st": _phrase,
    "B": lambda e: str(e.bytes_sent),
    "b": lambda e: str(e.bytes_sent) if e.bytes_sent else "-",
    "f": lambda e: request_header(e.scope, b"referer"),
    "a": lambda e: request_header(e.scope, b"user-agent"),
    "T": lambda e: "-" if e.duration is None else str(int(e.duration)),
    "L": lambda e: "-" if e.duration is None else f"{e.duration:.6f}",
    "M": _ms,
    "Ms": _ms_unit,
    "D": _us,
    "p": lambda e: f"<{os.getpid()}>",
    "cut": lambda e: "" if e.complete else " (cut)",
}


def _braced(name: str) -> Callable[[Entry], str]:
    """``{name}i`` (request header), ``{name}o`` (response header), ``{name}e`` (environ)."""
    key, kind = name[1:-2], name[-1]
    if kind == "i":
        field = key.lower().encode("latin-1")
        return lambda e: request_header(e.scope, field)
    if kind == "o":
        field = key.lower().encode("latin-1")
        return lambda e: _response_header(e, field)
    return lambda e: os.environ.get(key, "-")


def compile_format(fmt: str) -> list[tuple[str, Callable[[Entry], str]]]:
    """The atoms ``fmt`` uses, each with its getter; an unknown atom is a ``ValueError``."""
    atoms = []
    for name in dict.fromkeys(_ATOM.findall(fmt)):
        getter = _braced(name) if name.startswith("{") else ATOMS.get(name)
        if getter is None:
            raise ValueError(f"unknown access log atom %({name})s in {fmt!r}")
        atoms.append((name, getter))
    return atoms


class AccessLog:
    """Formats and emits access lines; ``json`` adds the named fields for the JSON formatter."""

    def __init__(self, fmt: str | None = None, *, json_fields: bool = False) -> None:
        self.format = fmt or DEFAULT_FORMAT
        self._atoms = compile_format(self.format)
        self._default = self.format == DEFAULT_FORMAT
        self.json_fields = json_fields
        #: The format reads response headers: drivers keep the app's for it.
        self.wants_response_headers = any(name.endswith("}o") for name, _ in self._atoms)

    def line(self, entry: Entry) -> str:
        """The formatted line (without the logging formatter's prefix)."""
        if self._default:
            return (
                f'{_host_port(entry)} - [{timestamp()}] "{entry.request_line()}" '
                f"{_status(entry)} {_phrase(entry)} {entry.bytes_sent} {_ms_unit(entry)}"
                f"{'' if entry.complete else ' (cut)'}"
            )
        values = {name: getter(entry) for name, getter in self._atoms}
        return self.format % values

    def log(self, entry: Entry) -> None:
        """Emit one access record at INFO on ``asgi_core.access`` (if that level is on)."""
        if not access_logger.isEnabledFor(logging.INFO):
            return
        extra = {"access": fields(entry)} if self.json_fields else None
        access_logger.info("%s", self.line(entry), extra=extra)


def fields(entry: Entry) -> dict[str, Any]:
    """The named fields of an access record (``--log-format json``)."""
    scope = entry.scope or {}
    client = entry.client()
    query = scope.get("query_string", b"")
    return {
        "client": f"{client[0]}:{client[1]}" if client else None,
        "method": scope.get("method"),
        "path": scope.get("path"),
        "query": query.decode("latin-1") if query else "",
        "protocol": protocol(scope) if scope else None,
        "type": scope.get("type"),
        "status": entry.status,
        "bytes": entry.bytes_sent,
        "duration_ms": None if entry.duration is None else round(entry.duration * 1000, 3),
        "complete": entry.complete,
        "referer": _none(request_header(entry.scope, b"referer")),
        "user_agent": _none(request_header(entry.scope, b"user-agent")),
    }


def _none(value: str) -> str | None:
    return None if value == "-" else value


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and an access record's fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        access = getattr(record, "access", None)
        if access is not None:
            data.update(access)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)
