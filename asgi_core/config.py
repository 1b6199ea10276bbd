"""Config: every protocol limit, timeout and switch of the core, validated once, then frozen."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from .errors import ConfigError
from .headers import _BAD_VALUE, TOKEN
from .proxy import trusted_peers

#: ``Config.ws``: WebSockets served (auto, wsproto) or not (none).
WS_CHOICES = ("auto", "none", "wsproto")
#: ``Config.http``: the HTTP/1.1 parser (auto: httptools when it is installed, else h11).
HTTP_CHOICES = ("auto", "h11", "httptools")

KiB = 1024
MiB = 1024 * KiB

_NOT_NUMBERS = frozenset(
    {
        "root_path",
        "server_header",
        "date_header",
        "ws_per_message_deflate",
        "ws",
        "http",
        "http2",
        "default_headers",
        "proxy_headers",
        "forwarded_allow_ips",
    }
)
#: Fields that go into HTTP/2 SETTINGS or WINDOW_UPDATE frames: whole numbers below 2**31.
_H2_INTS = (
    "h2_max_concurrent_streams",
    "h2_max_header_list_size",
    "h2_max_header_table_size",
    "h2_connection_window_size",
    "h2_reset_budget",
    "h2_control_frame_budget",
)
#: Fields that are switches.
_BOOLS = ("date_header", "ws_per_message_deflate", "http2", "proxy_headers")
#: Fields where ``None`` turns the limit or timer off.
_OPTIONAL = frozenset(
    {
        "max_request_body_size",
        "min_request_body_rate",
        "ws_ping_interval",
        "ws_ping_timeout",
        "ws_control_frame_budget",
        "ws_max_fragments",
    }
)


@dataclass(frozen=True, slots=True)
class Config:
    """Protocol settings shared by every connection of a server.

    Sizes are bytes, times are seconds (on the driver's monotonic clock). ``None`` turns a
    limit off where the field allows it.
    """

    #: Prefix the application is mounted at (WSGI's SCRIPT_NAME); prepended to ``path``.
    root_path: str = ""
    #: Value of the ``Server`` response header; ``None`` sends none.
    server_header: str | None = "asgi-core"
    #: Add a ``Date`` header to responses that lack one.
    date_header: bool = True
    #: Headers added to every response that lacks a header of that name (uvicorn's
    #: ``--header``): lower-case token names and values, as bytes. A ``server`` one replaces
    #: ``server_header``.
    default_headers: tuple[tuple[bytes, bytes], ...] = ()
    #: Request line plus headers; a larger head is answered with 431.
    max_request_head_size: int = 16 * KiB
    #: Request body; a larger one is answered with 413 (``None``: no limit).
    max_request_body_size: int | None = 100 * MiB
    #: Unconsumed request body the core holds per stream before the driver stops reading.
    max_buffered_body_size: int = 64 * KiB
    #: An idle keep-alive connection is closed after this long.
    keep_alive_timeout: float = 5.0
    #: From the first byte of a request to the end of its head (slowloris guard, 408).
    request_head_timeout: float = 10.0
    #: Longest wait for more request body while the application is waiting for it (408).
    request_body_timeout: float = 30.0
    #: Kestrel's MinRequestBodyDataRate: after ``min_request_body_rate_grace`` seconds of
    #: waiting for a request body, it must have come at this many bytes per second waited, or
    #: the request gets 408 (HTTP/2: that stream only). Time the app does not read is not
    #: counted. It cuts a body trickled a byte at a time (R.U.D.Y.), which restarts
    #: ``request_body_timeout`` with every byte. ``None``: off.
    min_request_body_rate: float | None = 240.0
    min_request_body_rate_grace: float = 5.0
    #: Largest WebSocket message (bytes, or characters for text); a larger one closes 1009.
    ws_max_size: int = 16 * MiB
    #: Received WebSocket messages held for the app before the driver stops reading.
    ws_max_queue: int = 32
    #: Seconds between keepalive pings on an open WebSocket (``None``: no pings).
    ws_ping_interval: float | None = 20.0
    #: A ping unanswered for this long closes the WebSocket with 1011.
    ws_ping_timeout: float | None = 20.0
    #: After our close frame, how long the peer has to answer before the socket is dropped.
    ws_close_timeout: float = 5.0
    #: Pings and pongs a WebSocket peer may send per 10 s before it is closed with 1008
    #: (``None``: no limit); a flood would otherwise keep the loop busy answering.
    ws_control_frame_budget: int | None = 100
    #: Fragments a WebSocket message may come in, plus one per 64 bytes it carries; past that
    #: the peer is closed with 1008 (``None``: no limit). A flood of one-byte fragments is cut
    #: at once, while 64-byte fragments of any message pass.
    ws_max_fragments: int | None = 128
    #: Offer permessage-deflate (RFC 7692) to clients that ask for it.
    ws_per_message_deflate: bool = True
    #: WebSocket support (uvicorn's ``--ws``): "auto" and "wsproto" serve WebSockets (over
    #: wsproto, the one implementation here); "none" serves an Upgrade request as plain HTTP
    #: and offers no RFC 8441 extended CONNECT.
    ws: str = "auto"
    #: The HTTP/1.1 request parser (uvicorn's ``--http``): "h11", the reference, or "httptools"
    #: (llhttp, from the ``fast`` extra; docs/conformance.md lists where it differs); "auto"
    #: takes httptools when it is installed.
    http: str = "auto"
    #: Serve HTTP/2: chosen by ALPN over TLS, by its preface or an ``Upgrade: h2c`` otherwise.
    http2: bool = True
    #: Streams one HTTP/2 connection may run at once (SETTINGS_MAX_CONCURRENT_STREAMS); a reset
    #: stream counts until its application returns.
    h2_max_concurrent_streams: int = 100
    #: Decoded request header list (SETTINGS_MAX_HEADER_LIST_SIZE); also bounds how much of an
    #: unfinished header block (CONTINUATION frames) is held.
    h2_max_header_list_size: int = 64 * KiB
    #: HPACK dynamic table the client may make us keep (SETTINGS_HEADER_TABLE_SIZE).
    h2_max_header_table_size: int = 4 * KiB
    #: Request body all streams of a connection may have in flight (its receive window).
    #: Each stream's own window is ``max_buffered_body_size``.
    h2_connection_window_size: int = 1 * MiB
    #: Streams a client may reset, or have refused, per 10 s before GOAWAY(ENHANCE_YOUR_CALM)
    #: (Rapid Reset, CVE-2023-44487, and MadeYouReset, CVE-2025-8671).
    h2_reset_budget: int = 200
    #: PING, SETTINGS, PRIORITY, unknown and empty DATA frames a client may send per 10 s.
    h2_control_frame_budget: int = 1000
    #: Believe ``Forwarded`` / ``X-Forwarded-*`` from peers in ``forwarded_allow_ips``
    #: (client, scheme, host and root_path; ``asgi_core/proxy.py``).
    proxy_headers: bool = False
    #: Peers trusted to speak for the client: IPs, CIDR networks, ``*`` and ``unix`` (a Unix
    #: socket's peer); an item may hold several, comma-separated (uvicorn's form).
    forwarded_allow_ips: tuple[str, ...] = ("127.0.0.1",)

    def __post_init__(self) -> None:
        for field in fields(self):
            _check_number(field.name, getattr(self, field.name))
        _check_root_path(self.root_path)
        if self.server_header is not None:
            _check_header_text("server_header", self.server_header)
        _check_default_headers(self.default_headers)
        for name in _H2_INTS:
            _check_h2_int(name, getattr(self, name))
        if self.max_buffered_body_size >= 2**31:
            raise ConfigError("Config.max_buffered_body_size must be below 2**31 (a window size)")
        for name in _BOOLS:
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"Config.{name} must be a bool, not {getattr(self, name)!r}")
        if self.ws not in WS_CHOICES:
            raise ConfigError(f"Config.ws must be one of {WS_CHOICES}, not {self.ws!r}")
        _check_http(self.http)
        object.__setattr__(self, "forwarded_allow_ips", _allow_list(self.forwarded_allow_ips))

    @property
    def server_header_bytes(self) -> bytes | None:
        """The ``Server`` header value as it goes on the wire."""
        return None if self.server_header is None else self.server_header.encode("ascii")


def _check_http(http: object) -> None:
    if http not in HTTP_CHOICES:
        raise ConfigError(f"Config.http must be one of {HTTP_CHOICES}, not {http!r}")
    if http == "httptools":
        try:
            import httptools  # noqa: F401
        except ImportError:
            raise ConfigError(
                "Config.http is 'httptools', but httptools is not installed "
                "(pip install 'asgi-core[fast]')"
            ) from None


def _check_number(name: str, value: object) -> None:
    """Every field but ``_NOT_NUMBERS`` is a positive, finite number (or ``None`` if optional)."""
    if name in _NOT_NUMBERS or (value is None and name in _OPTIONAL):
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"Config.{name} must be a number, not {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"Config.{name} must be a positive number, not {value!r}")


def _allow_list(value: object) -> tuple[str, ...]:
    """``forwarded_allow_ips`` as a tuple of single items, each checked (a one-line error)."""
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, (tuple, list)) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"Config.forwarded_allow_ips must be strings, not {value!r}")
    items = tuple(part.strip() for item in value for part in item.split(",") if part.strip())
    trusted_peers(items)  # raises ConfigError naming a bad item
    return items


def _check_default_headers(headers: object) -> None:
    """``default_headers`` are ``(name, value)`` byte pairs the wire can carry as they are."""
    if not isinstance(headers, tuple):
        raise ConfigError(f"Config.default_headers must be a tuple of pairs, not {headers!r}")
    for pair in headers:
        if not (isinstance(pair, tuple) and len(pair) == 2 and all(type(p) is bytes for p in pair)):
            raise ConfigError(f"Config.default_headers must hold bytes pairs, not {pair!r}")
        name, value = pair
        if TOKEN.fullmatch(name) is None or name != name.lower():
            raise ConfigError(f"Config.default_headers: {name!r} is not a lower-case header name")
        if _BAD_VALUE.search(value) is not None or value != value.strip(b" \t"):
            raise ConfigError(f"Config.default_headers: the value of {name!r} is not valid")


def _check_root_path(root_path: str) -> None:
    if root_path and (not root_path.startswith("/") or root_path.endswith("/")):
        raise ConfigError(
            f"Config.root_path must start with '/' and not end with one, not {root_path!r}"
        )


def _check_h2_int(name: str, value: object) -> None:
    if type(value) is not int or value >= 2**31:
        raise ConfigError(f"Config.{name} must be an int below 2**31, not {value!r}")


def _check_header_text(name: str, value: str) -> None:
    if not isinstance(value, str) or not value.isascii() or not value.isprintable():
        raise ConfigError(f"Config.{name} must be printable ASCII, not {value!r}")
