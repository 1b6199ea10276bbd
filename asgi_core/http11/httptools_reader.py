"""httptools (llhttp) behind the ``RequestReader`` interface: the fast HTTP/1.1 parser.

It comes with the ``fast`` extra and is chosen by ``Config.http`` ("auto" takes it when it is
installed). h11 stays the reference: this reader makes the same checks ``H11Reader`` adds, and
gives the same events and answers, apart from the differences listed in docs/conformance.md
(llhttp refuses bare LF line endings, unknown methods and non-ASCII targets; it measures a head
from its fields; it does not say how large a chunk is before its data arrives).

llhttp cannot pause between requests, so pipelined requests are parsed as they come and their
events wait in a queue until ``next_cycle``. A request that asks to switch protocols (Upgrade,
CONNECT) is handed, with everything after it, to an ``H11Reader``: llhttp stops at such a head,
and h11 reads an Upgrade request's body and keeps the bytes that follow for the new protocol.
"""

from __future__ import annotations

from ..headers import Headers
from .readers import (
    CLIENT_CLOSED,
    END_OF_REQUEST,
    NEED_DATA,
    PAUSED,
    BadRequest,
    H11Reader,
    ReadEvent,
    RequestHead,
)

try:
    import httptools
except ImportError:  # the pure install: h11 only
    #: httptools can be imported: ``Config.http`` "auto" takes it.
    HTTPTOOLS_INSTALLED = False
else:
    HTTPTOOLS_INSTALLED = True

#: The longest Content-Length taken, in digits (h11's bound; llhttp's is the value's size).
_CONTENT_LENGTH_DIGITS = 20
#: Bytes of a request line besides its method and target: two spaces, "HTTP/1.1" and CRLF.
_REQUEST_LINE_EXTRA = 12


class _Stop(Exception):
    """Raised in a parser callback to stop parsing; the reason is already queued."""


class HttptoolsReader:
    """llhttp as a request reader, with the checks h11 makes that llhttp does not."""

    __slots__ = (
        "_begun",
        "_delegate",
        "_ended",
        "_eof",
        "_events",
        "_h11",
        "_handed",
        "_head_pieces",
        "_head_size",
        "_headers",
        "_hosts",
        "_in_head",
        "_max_head",
        "_parser",
        "_paused",
        "_spanning",
        "_stopped",
        "_taken",
        "_transfer_encodings",
        "_url",
    )

    def __init__(self, max_head_size: int) -> None:
        self._max_head = max_head_size
        self._parser = httptools.HttpRequestParser(self)
        # Any one-digit version is read, as h11 reads it; on_headers_complete answers 505 to
        # other major versions and serves 1.x as 1.1.
        self._parser.set_dangerous_leniencies(lenient_version=True)
        #: Events parsed and not yet handed out, pipelined requests' included; a queued
        #: ``BadRequest`` is raised when its turn comes.
        self._events: list[ReadEvent | BadRequest] = []
        #: How many of ``_events`` were handed out (a list and an index: a deque's first
        #: block alone is 760 bytes, on every idle connection).
        self._taken = 0
        self._paused = False  # the current request was handed out whole
        self._begun = 0  # requests llhttp has begun to read
        self._ended = 0  # requests llhttp has read to their end
        self._handed = 0  # requests the connection has moved past (``next_cycle``)
        self._eof = False
        self._stopped = False  # llhttp stopped (an error, or a protocol switch)
        #: The ``H11Reader`` fed from a protocol switch on, and the same once its request is
        #: the current one (then every call goes to it).
        self._h11: H11Reader | None = None
        self._delegate: H11Reader | None = None
        # The head being read.
        self._in_head = False
        self._url = b""
        self._headers: Headers = []
        self._head_size = 0  # its fields, as they would be written with ": " and CRLF
        #: The reads of a head that began with a read and goes on: the bytes h11 is given if
        #: llhttp refuses its method.
        self._head_pieces: list[bytes] = []
        self._spanning = 0  # bytes of reads that began inside it: the bound on a head that
        # never ends, whatever llhttp holds of a field not yet complete
        self._hosts = 0
        self._transfer_encodings: list[bytes] = []

    # -- RequestReader ------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        h11 = self._h11
        if h11 is not None:
            h11.feed(data)  # after a protocol switch, everything goes to h11
            return
        if not data:
            self._eof = True
            return
        if self._stopped:
            return
        ended = self._ended
        idle = not self._in_head and self._begun == ended  # between requests
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as switch:
            self._switch_protocols(data[switch.args[0] :])
        except httptools.HttpParserError as error:
            self._refused(error, data, idle and ended == self._ended)
        else:
            if self._in_head:
                self._head_goes_on(data, idle, ended == self._ended)

    def _refused(self, error: Exception, data: bytes, began_with_read: bool) -> None:
        """llhttp refused ``data``, or a check of ours stopped it (its BadRequest is queued)."""
        if isinstance(error, httptools.HttpParserCallbackError):
            self._stopped = True
        elif isinstance(error, httptools.HttpParserInvalidMethodError):
            # A method llhttp does not know: h11 reads that request, and the connection, from
            # its first byte, when that is known: it is if the head began with a read.
            pieces = self._head_pieces
            if began_with_read or (pieces and self._in_head):
                self._hand_to_h11(b"".join(pieces) + data)
            else:
                self._refuse(400)
        else:
            url_read = isinstance(error, httptools.HttpParserInvalidURLError)
            self._refuse(400, self._parser_method(url_read=url_read))

    def _head_goes_on(self, data: bytes, idle: bool, none_ended: bool) -> None:
        """A read ended inside a head: bound what a head that never ends may hold."""
        if none_ended:  # no request ended in this read: all of it is this head's
            self._spanning += len(data)
            if idle or self._head_pieces:
                self._head_pieces.append(data)
        if max(self._spanning, self._head_size + len(self._url)) > self._max_head:
            self._refuse(431, self._parser_method())

    def next_event(self) -> ReadEvent:
        delegate = self._delegate
        if delegate is not None:
            return delegate.next_event()
        if self._paused:
            return PAUSED if self._input_waiting() else NEED_DATA
        events = self._events
        if events:
            taken = self._taken
            event = events[taken]
            taken += 1
            if taken == len(events):
                events.clear()
                taken = 0
            self._taken = taken
            if event is END_OF_REQUEST:
                self._paused = True
            elif isinstance(event, BadRequest):
                raise event
            return event
        h11 = self._take_over()
        if h11 is not None:
            return h11.next_event()
        if self._eof:
            return CLIENT_CLOSED
        return NEED_DATA

    @property
    def trailing(self) -> bytes:
        delegate = self._delegate
        return b"" if delegate is None else delegate.trailing

    @property
    def reading_body(self) -> bool:
        delegate = self._delegate
        if delegate is not None:
            return delegate.reading_body
        return self._ended <= self._handed

    @property
    def announced(self) -> int:
        # llhttp keeps a chunk's size to itself: a chunk too large for the body limit is
        # refused once its data passes the limit, not at its size line.
        delegate = self._delegate
        return 0 if delegate is None else delegate.announced

    def next_cycle(self) -> bool:
        delegate = self._delegate
        if delegate is not None:
            return delegate.next_cycle()
        self._paused = False
        self._handed += 1
        return self._input_waiting() or self._take_over() is not None

    def _input_waiting(self) -> bool:
        """Input for the request after the current one has come (h11's ``PAUSED``)."""
        return bool(self._events) or self._in_head or self._eof or self._h11 is not None

    # -- the protocol switch ------------------------------------------------------------------

    def _switch_protocols(self, after: bytes) -> None:
        """llhttp stopped after a head that switches protocols: that request leaves the queue,
        and an ``H11Reader`` reads it again, from its head rewritten, with what came after."""
        events = self._events
        events.pop()  # its END_OF_REQUEST: llhttp skips the body of such a request
        self._ended -= 1
        head = events.pop()
        assert isinstance(head, RequestHead)
        if self._taken == len(events):  # what is left was handed out already
            events.clear()
            self._taken = 0
        lines = [b"%s %s HTTP/%s\r\n" % (head.method, head.target, head.http_version)]
        lines.extend(b"%s: %s\r\n" % field for field in head.headers)
        lines.append(b"\r\n")
        self._hand_to_h11(b"".join(lines) + after)

    def _hand_to_h11(self, data: bytes) -> None:
        """From ``data`` on, an ``H11Reader`` reads the connection; it takes over the events
        once those queued before are handed out."""
        self._stopped = True
        self._h11 = H11Reader(self._max_head)
        self._h11.feed(data)

    def _take_over(self) -> H11Reader | None:
        """The ``H11Reader``, once the switching request is the current one."""
        h11 = self._h11
        if h11 is not None and not self._events and not self._paused:
            self._delegate = h11
        return self._delegate

    # -- llhttp's callbacks -------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._begun += 1
        self._in_head = True
        self._head_pieces = []
        self._url = b""
        self._headers = []
        self._head_size = 0
        self._spanning = 0
        self._hosts = 0
        self._transfer_encodings = []

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._in_head:
            return  # a trailer field: read and dropped, as h11 drops them from requests
        name = name.lower()
        if name == b"host":
            self._hosts += 1
        elif name == b"transfer-encoding":
            value = value.lower()  # as h11 gives it
            self._transfer_encodings.append(value)
        elif name == b"content-length" and len(value) > _CONTENT_LENGTH_DIGITS:
            self._stop(400, self._parser.get_method())
        self._head_size += len(name) + len(value) + 4
        self._headers.append((name, value.rstrip(b" \t")))

    def on_headers_complete(self) -> None:
        self._in_head = False
        parser = self._parser
        method: bytes = parser.get_method()
        version = parser.get_http_version()
        if version[:2] != "1.":
            # RFC 9110 section 15.6.6 (as H11Reader: 0.9, also llhttp's reading of a request
            # line without a version, gets 400)
            self._stop(400 if version[0] == "0" else 505, method)
        size = len(method) + len(self._url) + _REQUEST_LINE_EXTRA + self._head_size + 2
        if size > self._max_head:
            self._stop(431, method)
        if self._hosts > 1 or (self._hosts == 0 and version == "1.1"):
            self._stop(400, method)  # RFC 9112 section 3.2: exactly one Host
        encodings = self._transfer_encodings
        if encodings and (len(encodings) > 1 or encodings[0].strip() != b"chunked"):
            # RFC 9112 section 6.1: chunked is the only coding read here (400, as H11Reader)
            self._stop(400, method)
        self._events.append(RequestHead(method, self._url, version.encode("ascii"), self._headers))

    def on_body(self, body: bytes) -> None:
        self._events.append(body)

    def on_message_complete(self) -> None:
        self._ended += 1
        self._events.append(END_OF_REQUEST)

    # -- refusals -----------------------------------------------------------------------------

    def _stop(self, status: int, method: bytes) -> None:
        self._refuse(status, method)
        raise _Stop

    def _refuse(self, status: int, method: bytes = b"") -> None:
        self._stopped = True
        self._in_head = False
        self._events.append(BadRequest(status, method))

    def _parser_method(self, *, url_read: bool = False) -> bytes:
        """The refused request's method, once llhttp has read it (it has when it read the
        target); before that, llhttp still holds the previous request's method."""
        method: bytes = b""
        if self._in_head and (url_read or self._url):
            method = self._parser.get_method()
        return method
