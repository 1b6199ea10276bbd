"""HTTP/1.1 response framing (RFC 9112 sections 4, 6 and 7), as h11 frames its own.

A response's body framing is chosen once, when its head is written (``choose_framing``), as a
writer object: a Content-Length, chunked, close-delimited (HTTP/1.0 without a length) or no
body at all (HEAD, 204, 304). Normal responses, WebSocket denials and the server's own error
responses all go through these. h11 parses requests; it does not write responses here: framing
is a few lines, and h11's writer was a third of the time of a small request.
"""

from __future__ import annotations

from http import HTTPStatus

from ..headers import HAS_CONTENT_LENGTH, NO_BODY_STATUSES, Headers

REASONS = {status.value: status.phrase.encode("ascii") for status in HTTPStatus}

#: The interim response a client that sent ``Expect: 100-continue`` waits for (RFC 9110 10.1.1).
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class FramingError(Exception):
    """The application's body disagrees with its own Content-Length."""

    def __init__(self, remaining: int) -> None:
        problem = "longer" if remaining < 0 else "shorter"
        super().__init__(f"the response body is {problem} than its content-length header")


def write_head(out: bytearray, status: int, headers: Headers) -> None:
    """Status line and fields (RFC 9112 section 4); names and values were validated."""
    out += b"HTTP/1.1 %d %s\r\n" % (status, REASONS.get(status, b""))
    out += b"".join([b"%s: %s\r\n" % pair for pair in headers])
    out += b"\r\n"


def write_fields(out: bytearray, fields: Headers) -> None:
    """A field section and its end (trailers, RFC 9112 section 7.1.2)."""
    out += b"".join([b"%s: %s\r\n" % pair for pair in fields])
    out += b"\r\n"


class ContentLengthBody:
    """A body framed by ``Content-Length``: exactly that many bytes (RFC 9112 section 6.2)."""

    __slots__ = ("remaining",)
    chunked = False

    def __init__(self, length: int) -> None:
        self.remaining = length

    def write(self, out: bytearray, body: bytes, end: bool) -> None:
        remaining = self.remaining - len(body)
        self.remaining = remaining
        if remaining < 0 or (end and remaining):
            raise FramingError(remaining)
        out += body

    def write_trailers(self, out: bytearray, trailers: Headers) -> None:
        """No place for trailers: the body must have been complete already."""
        if self.remaining > 0:
            raise FramingError(self.remaining)


class ChunkedBody:
    """Chunked transfer coding (RFC 9112 section 7.1); the last chunk may carry trailers."""

    __slots__ = ()
    chunked = True

    def write(self, out: bytearray, body: bytes, end: bool) -> None:
        if body:
            out += b"%x\r\n%s\r\n" % (len(body), body)
        if end:
            out += b"0\r\n\r\n"

    def write_trailers(self, out: bytearray, trailers: Headers) -> None:
        out += b"0\r\n"
        write_fields(out, trailers)


class CloseDelimitedBody:
    """HTTP/1.0 without a length: the body ends when the connection does (RFC 9112 6.3)."""

    __slots__ = ()
    chunked = False

    def write(self, out: bytearray, body: bytes, end: bool) -> None:
        out += body

    def write_trailers(self, out: bytearray, trailers: Headers) -> None:
        """No place for trailers."""


class NoBody:
    """A response without content (HEAD, 204, 304; RFC 9110 sections 9.3.2 and 6.4.1)."""

    __slots__ = ()
    chunked = False

    def write(self, out: bytearray, body: bytes, end: bool) -> None:
        """Whatever the application sends is dropped."""

    def write_trailers(self, out: bytearray, trailers: Headers) -> None:
        """No place for trailers."""


BodyWriter = ContentLengthBody | ChunkedBody | CloseDelimitedBody | NoBody
NO_BODY = NoBody()
CHUNKED = ChunkedBody()
CLOSE_DELIMITED = CloseDelimitedBody()


def choose_framing(
    headers: Headers,
    flags: int,
    *,
    status: int,
    head_request: bool,
    body: bytes,
    end: bool,
    http10: bool,
) -> BodyWriter:
    """The writer for a response's body, adding the framing field it needs to ``headers``.

    A length the application set is kept; a body sent in one message gets a Content-Length;
    anything else is chunked, or close-delimited for an HTTP/1.0 client (which then cannot
    keep the connection: ``CLOSE_DELIMITED`` tells the caller so).
    """
    no_body = head_request or status in NO_BODY_STATUSES
    if flags & HAS_CONTENT_LENGTH:
        if no_body:
            return NO_BODY
        for name, value in headers:
            if name == b"content-length":
                return ContentLengthBody(int(value))
    if end and status not in NO_BODY_STATUSES and (body or not no_body):
        headers.append((b"content-length", b"%d" % len(body)))
        return NO_BODY if no_body else ContentLengthBody(len(body))
    if no_body:
        return NO_BODY
    if http10:
        return CLOSE_DELIMITED
    headers.append((b"transfer-encoding", b"chunked"))
    return CHUNKED


def error_response(out: bytearray, status: int, headers: Headers, *, head_request: bool) -> int:
    """The server's own answer (400, 408, 413, 431, 505...): a short text body, then close;
    ``headers`` already holds any extra fields plus Server and Date. Returns the body's size."""
    body = REASONS.get(status, b"Error") + b"\n"
    fields: Headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", b"%d" % len(body)),
        (b"connection", b"close"),
        *headers,
    ]
    write_head(out, status, fields)
    if head_request:  # RFC 9110 section 9.3.2: no content in answer to HEAD
        return 0
    out += body
    return len(body)
