"""Hypothesis strategies for requests an ASGI app may meet: valid ones, hostile ones, and
WebSocket message sequences. Needs ``hypothesis`` (a test dependency, not a runtime one).

    @given(request=strategies.requests())
    def test_never_5xx(asgi_client, request):
        asgi_client.check(request.method, request.path, headers=request.headers,
                          body=request.body)
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field

from hypothesis import strategies as st

Headers = list[tuple[bytes, bytes]]

#: RFC 9110 section 5.6.2 token characters.
TOKEN_CHARS = "!#$%&'*+-.^_`|~" + string.digits + string.ascii_letters
#: Path characters that need no percent-encoding (RFC 3986 pchar, less ':' and '@' for clarity).
PATH_CHARS = string.ascii_letters + string.digits + "-._~!$&'()*+,;="
#: Fields a client sends that the server (not the app) owns on the wire.
SERVER_OWNED = frozenset(
    {
        b"host",
        b"content-length",
        b"transfer-encoding",
        b"connection",
        b"keep-alive",
        b"upgrade",
        b"te",
        b"expect",
        b"proxy-connection",
        b"http2-settings",
    }
)


@dataclass(frozen=True)
class Request:
    """A request to replay through a client: ``body`` as the pieces it arrives in."""

    method: str
    path: str
    headers: Headers = field(default_factory=list)
    body: tuple[bytes, ...] = ()

    @property
    def content(self) -> bytes:
        return b"".join(self.body)


def methods() -> st.SearchStrategy[str]:
    """The common methods, and now and then an extension method (any token)."""
    common = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"])
    extension = st.text(alphabet=string.ascii_uppercase, min_size=1, max_size=12)
    return st.one_of(common, common, common, extension)


def paths() -> st.SearchStrategy[str]:
    """Origin-form targets (RFC 9112 section 3.2.1): segments, percent-encoded UTF-8, a query."""
    raw = st.text(min_size=0, max_size=12)
    segment = st.one_of(
        st.text(alphabet=PATH_CHARS, min_size=0, max_size=12),
        raw.map(lambda text: "".join(f"%{byte:02X}" for byte in text.encode("utf-8"))),
    )
    query = st.text(alphabet=PATH_CHARS + "=&/?", max_size=20)
    return st.builds(
        lambda parts, q: "/" + "/".join(parts) + (f"?{q}" if q else ""),
        st.lists(segment, max_size=5),
        st.one_of(st.just(""), query),
    )


def header_names() -> st.SearchStrategy[bytes]:
    name = st.text(alphabet=TOKEN_CHARS, min_size=1, max_size=20)
    return name.map(lambda n: n.lower().encode("ascii")).filter(
        lambda n: n not in SERVER_OWNED and not n.startswith(b"sec-websocket")
    )


def header_values() -> st.SearchStrategy[bytes]:
    """Visible ASCII with inner spaces and tabs (RFC 9110 section 5.5), no edge whitespace."""
    visible = st.text(alphabet=string.printable[:94] + " \t", max_size=40)
    return visible.map(lambda v: v.strip(" \t").encode("ascii"))


def headers(max_size: int = 8) -> st.SearchStrategy[Headers]:
    return st.lists(st.tuples(header_names(), header_values()), max_size=max_size)


def split(data: bytes, max_pieces: int = 6) -> st.SearchStrategy[tuple[bytes, ...]]:
    """``data`` cut at arbitrary points, as it may arrive from the network."""
    if len(data) < 2:
        return st.just((data,) if data else ())
    cuts = st.lists(st.integers(min_value=1, max_value=len(data) - 1), max_size=max_pieces - 1)
    return cuts.map(lambda points: _cut(data, sorted(set(points))))


def _cut(data: bytes, points: list[int]) -> tuple[bytes, ...]:
    starts = [0, *points]
    ends = [*points, len(data)]
    return tuple(data[a:b] for a, b in zip(starts, ends, strict=True))


def requests(max_body: int = 4096) -> st.SearchStrategy[Request]:
    """Valid requests: a method, a path, headers, and a body split into pieces."""
    body = st.binary(max_size=max_body).flatmap(split)
    return st.builds(Request, methods(), paths(), headers(), body)


_VALID = b"POST /a?b=c HTTP/1.1\r\nHost: example\r\nContent-Length: 5\r\n\r\nhello"
_SMUGGLING = [
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"0\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nhello",
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4, 5\r\n\r\nhello",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhi\r\n0\r\n\r\n",
    b"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
    b"GET /\x00 HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\n" + b"X-Big: " + b"a" * 20000 + b"\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 999999999999\r\n\r\n",
]


def hostile_requests() -> st.SearchStrategy[tuple[bytes, ...]]:
    """Raw HTTP/1.1 bytes a server must refuse cleanly (4xx or a close), split at random:
    framing ambiguities (request smuggling), control characters, oversized heads, mutations
    of a valid request, and plain noise."""
    mutated = st.tuples(
        st.integers(min_value=0, max_value=len(_VALID)),
        st.sampled_from([b"\x00", b"\r", b"\n", b"\r\n", b" ", b":", b"\x7f", b"\xff", b""]),
        st.integers(min_value=0, max_value=4),
    ).map(lambda m: _VALID[: m[0]] + m[1] + _VALID[m[0] + m[2] :])
    raw = st.one_of(st.sampled_from(_SMUGGLING), mutated, st.binary(min_size=1, max_size=200))
    return raw.flatmap(split)


def websocket_messages(max_size: int = 20) -> st.SearchStrategy[list[str | bytes]]:
    """A sequence of WebSocket messages, text and binary, empty ones included."""
    message: st.SearchStrategy[str | bytes] = st.one_of(
        st.text(max_size=200), st.binary(max_size=2000)
    )
    return st.lists(message, max_size=max_size)


__all__ = [
    "Request",
    "header_names",
    "header_values",
    "headers",
    "hostile_requests",
    "methods",
    "paths",
    "requests",
    "split",
    "websocket_messages",
]
