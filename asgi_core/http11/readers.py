"""Reading HTTP/1.1 requests: a small reader interface, and h11 behind it.

``HTTP11Connection`` pulls events from a reader: a ``RequestHead``, body pieces, the end of
the request, or that it needs more data. A request the reader refuses raises ``BadRequest``
with the status to answer. h11 is the reference parser; a second one (httptools) can stand
behind the same interface. ``H11Reader`` also adds what h11 leaves out: a whole-head size limit
(h11 only bounds an incomplete head), refusal of repeated or list-valued Content-Length (h11
merges identical ones), of Content-Length with Transfer-Encoding (RFC 9112 section 6.1) and of
obs-fold (section 5.2), 400 rather than h11's 501 for a bad Transfer-Encoding, and 505 for
other major versions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

import h11

from ..headers import Headers
from .h11_internals import pending_chunk_size

#: The largest chunk size taken (RFC 9112 section 7.1: a recipient must anticipate large
#: hexadecimal numbers and prevent integer overflow); past it, 400.
MAX_CHUNK_SIZE = 2**63 - 1

# RFC 9112 section 6.3: a repeated or list-valued Content-Length is refused, not merged.
_CONTENT_LENGTH_LINE = re.compile(rb"\ncontent-length[ \t]*:([^\r\n]*)", re.IGNORECASE)
#: Control characters other than HTAB, CR and LF: RFC 9110 section 5.5 lets a recipient refuse
#: a field value holding them, and llhttp does; so does this reader, for the two to agree.
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: The request target forms of RFC 9112 section 3.2 besides CONNECT's authority-form, as
#: llhttp reads them: origin-form, asterisk-form, and absolute-form with a letters-only scheme.
_TARGET_FORM = re.compile(rb"[/*]|[A-Za-z]+://")
_METHOD = re.compile(rb"([!-~]+) ")
#: The empty line that ends a head: CRLF, or a bare LF, which RFC 9112 section 2.2 lets a
#: recipient accept as a line terminator (as h11 does).
_HEAD_END = re.compile(rb"\r?\n\r?\n")


@dataclass(slots=True)
class RequestHead:
    """A request line and its fields (names lowercased), checked and complete."""

    method: bytes
    target: bytes
    http_version: bytes
    headers: Headers


class ReadState(Enum):
    """What a reader has, when it has no event to give."""

    # Members are singletons compared by identity: hash them so too, in C (Enum's own
    # __hash__ is Python code, and these are dict keys on every request).
    __hash__ = object.__hash__

    #: Nothing more until more bytes come.
    NEED_DATA = 0
    #: A whole request was read; what follows waits for ``next_cycle`` (pipelining).
    PAUSED = 1
    #: The client closed its side.
    CLIENT_CLOSED = 2
    #: The request's body is complete.
    END_OF_REQUEST = 3


NEED_DATA, PAUSED, CLIENT_CLOSED, END_OF_REQUEST = ReadState

ReadEvent = RequestHead | bytes | bytearray | ReadState
"""A request head, a piece of body (``bytes``; h11 gives a ``bytearray``), or a ``ReadState``."""


class BadRequest(Exception):
    """Input the server will not serve; ``status`` is the answer (400, 431, 505...)."""

    def __init__(self, status: int, method: bytes = b"") -> None:
        super().__init__(status)
        self.status = status
        self.method = method


class RequestReader(Protocol):
    """What ``HTTP11Connection`` needs of an HTTP/1.1 request parser."""

    def feed(self, data: bytes) -> None:
        """Bytes from the peer; ``b""`` is the end of its stream."""

    def next_event(self) -> ReadEvent:
        """The next event; raises ``BadRequest``."""

    @property
    def trailing(self) -> bytes:
        """Bytes received after the current request (a WebSocket's or h2c's first frames)."""

    @property
    def reading_body(self) -> bool:
        """The current request's body is still coming."""

    @property
    def announced(self) -> int:
        """Body bytes the framing has announced and not yet handed out (a chunk's size)."""

    def next_cycle(self) -> bool:
        """Start reading the next request; whether input for it is already waiting."""


class H11Reader:
    """h11 as a request reader: a fresh parser per request (it only ever reads)."""

    __slots__ = ("_h11", "_head", "_head_done", "_max_head")

    def __init__(self, max_head_size: int) -> None:
        self._max_head = max_head_size
        self._h11 = self._new_parser()
        self._head = bytearray()  # the raw head, for the checks h11 does not make
        self._head_done = False

    def _new_parser(self) -> h11.Connection:
        return h11.Connection(h11.SERVER, max_incomplete_event_size=self._max_head)

    def feed(self, data: bytes) -> None:
        if not self._head_done:
            if not self._head and data:
                # RFC 9112 section 2.2: empty lines before a request line are ignored (h11
                # refuses them; llhttp skips them).
                data = data.lstrip(b"\r\n")
                if not data:
                    return
            if len(self._head) <= self._max_head:
                self._head += data
        self._h11.receive_data(data)

    def next_event(self) -> ReadEvent:
        if self._h11.their_state is h11.MUST_CLOSE:
            # An HTTP/1.0 request was read whole: what follows is not read (the connection
            # closes after the response), rather than refused while that response is made.
            return PAUSED
        try:
            event = self._h11.next_event()
        except h11.RemoteProtocolError as exc:
            # RFC 9112 section 6.1: a bad Transfer-Encoding is a 400, whatever h11 hints.
            raise BadRequest(
                400 if exc.error_status_hint == 501 else exc.error_status_hint,
                _method_of(self._head),
            ) from None
        kind = type(event)
        if kind is h11.Data or event is h11.NEED_DATA:
            if pending_chunk_size(self._h11) > MAX_CHUNK_SIZE:
                raise BadRequest(400)  # RFC 9112 section 7.1: an overflowing chunk size
            if kind is h11.Data:
                return event.data  # type: ignore[union-attr,no-any-return]
            return NEED_DATA
        if kind is h11.Request:
            return self._checked_head(event)  # type: ignore[arg-type]
        if kind is h11.EndOfMessage:
            return END_OF_REQUEST
        if event is h11.PAUSED:
            return PAUSED
        if kind is h11.ConnectionClosed:
            return CLIENT_CLOSED
        return NEED_DATA

    def _checked_head(self, request: h11.Request) -> RequestHead:
        head = self._head
        self._head = bytearray()
        self._head_done = True
        method = request.method
        major = request.http_version[:1]
        if major != b"1":
            # RFC 9110 section 15.6.6: 505 for a major version not served; 0.9 gets 400, as
            # a request line without a version (HTTP/0.9's form) does.
            raise BadRequest(400 if major == b"0" else 505, method)
        found = _HEAD_END.search(head)
        end = found.start() if found is not None else -1
        if found is None or found.end() > self._max_head:
            # h11 only bounds an incomplete head; one that arrived whole is measured here.
            raise BadRequest(431, method)
        if head.find(b"\n ", 0, end) >= 0 or head.find(b"\n\t", 0, end) >= 0:
            # RFC 9112 section 5.2: obs-fold is refused rather than unfolded (as h11 would).
            raise BadRequest(400, method)
        if _CONTROL.search(head, 0, end) is not None or (
            method != b"CONNECT" and _TARGET_FORM.match(request.target) is None
        ):
            raise BadRequest(400, method)
        headers: Headers = list(request.headers)  # h11 lowercases names
        if any(name == b"content-length" for name, _ in headers) and (
            # RFC 9112 section 6.1: Content-Length with Transfer-Encoding is a smuggling attempt.
            any(name == b"transfer-encoding" for name, _ in headers)
            or not _single_content_length(head, end)
        ):
            raise BadRequest(400, method)
        return RequestHead(method, request.target, request.http_version, headers)

    @property
    def trailing(self) -> bytes:
        return bytes(self._h11.trailing_data[0])

    @property
    def announced(self) -> int:
        return pending_chunk_size(self._h11)

    @property
    def reading_body(self) -> bool:
        # DONE, or MIGHT_SWITCH_PROTOCOL (an Upgrade we did not take): the request is over.
        return self._h11.their_state is h11.SEND_BODY

    def next_cycle(self) -> bool:
        pipelined, eof = self._h11.trailing_data
        pipelined = pipelined.lstrip(b"\r\n")
        self._h11 = self._new_parser()
        self._head_done = False
        self._head = bytearray(pipelined[: self._max_head + 1])
        if not (pipelined or eof):
            return False
        self._h11.receive_data(pipelined)
        if eof:
            self._h11.receive_data(b"")
        return True


def _method_of(head: bytes | bytearray) -> bytes:
    """The method of a raw head h11 refused, if its request line got that far."""
    found = _METHOD.match(head)
    return b"" if found is None else found.group(1)


def _single_content_length(head: bytes | bytearray, end: int) -> bool:
    """True when the raw head has exactly one Content-Length line holding one value."""
    lines = _CONTENT_LENGTH_LINE.findall(head, 0, end if end >= 0 else len(head))
    return len(lines) == 1 and b"," not in lines[0]
