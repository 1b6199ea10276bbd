"""HTTP/1.1 over h11: keep-alive, pipelining, 100-continue, limits and timers.

One request is served at a time; pipelined requests wait in h11's buffer (and the driver stops
reading) until the response before them is complete. Requests are streams 1, 3, 5...
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import deque
from http import HTTPStatus
from typing import Any

import h11

from .asgi import (
    HAS_CONNECTION_CLOSE,
    HAS_CONTENT_LENGTH,
    HAS_DATE,
    HAS_SERVER,
    Headers,
    HTTPStream,
    add_server_headers,
)
from .config import Config
from .errors import AppProtocolError
from .events import CloseConnection, Event, StreamStarted
from .http2 import H2CUpgrade
from .httpdate import DateHeader
from .scope import ConnectionInfo
from .websocket import HandshakeError, WebSocketStream, check_handshake

_REASONS = {status.value: status.phrase.encode("ascii") for status in HTTPStatus}
_NO_BODY_STATUSES = frozenset({204, 304})
# RFC 9112 section 6.3: a repeated or list-valued Content-Length is refused, not merged.
_CONTENT_LENGTH_LINE = re.compile(rb"\ncontent-length[ \t]*:([^\r\n]*)", re.IGNORECASE)

# What the one connection timer is measuring.
_NO_TIMER = 0
_IDLE_TIMER = 1  # keep-alive: waiting for the next request
_HEAD_TIMER = 2  # a request head has begun and must finish (slowloris guard)
_BODY_TIMER = 3  # the application waits for request body


class HTTP11Connection:
    """The HTTP/1.1 protocol of one connection, behind ``ServerConnection``."""

    def __init__(
        self,
        config: Config,
        events: deque[Event],
        info: ConnectionInfo,
        *,
        date: DateHeader | None,
        now: float,
        h2c: bool = False,
    ) -> None:
        self._config = config
        self._info = info
        self._h2c_allowed = h2c
        #: An ``Upgrade: h2c`` request being read; its body collects in ``_h2c_body``.
        self._h2c: H2CUpgrade | None = None
        self._h2c_body = bytearray()
        #: Set once that request is complete: ``ServerConnection`` switches to HTTP/2.
        self.upgrade: H2CUpgrade | None = None
        self._events = events
        self._date = date if config.date_header else None  # None: no Date header
        self._server_header = config.server_header_bytes
        self._h11 = self._new_parser()
        self._out = bytearray()
        self._now = now
        #: The request being read or answered; ``None`` between requests.
        self._stream: HTTPStream | None = None
        #: Every stream whose application has not finished yet.
        self.streams: dict[int, HTTPStream] = {}
        self._next_stream_id = 1
        self._head_bytes = bytearray()
        self._body_received = 0
        # The request/response cycle in progress (reset by _on_request).
        self._http10 = False
        self._keep_alive = True
        self._expects_continue = False
        self._response_started = False
        self._response_has_body = True
        self._response_chunked = False
        self._response_remaining = -1  # bytes the Content-Length still promises; -1: no length
        #: Set once a request upgraded the connection to a WebSocket (then it is the only stream).
        self._websocket: WebSocketStream | None = None
        self._denial_chunked = False
        self._denial_started = False
        self._paused = False  # pipelined input is waiting behind the current response
        self._shutting_down = False
        self.closed = False
        self._timer = _NO_TIMER
        self.deadline: float | None = None
        self._arm(_IDLE_TIMER)

    # -- input from the driver ----------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> None:
        self._now = now
        if self.closed:
            return
        if not data:
            self._client_gone()
            return
        ws = self._websocket
        if ws is not None:
            if ws.accepted:
                ws.receive_data(data, now)
                self._ws_timer()
            else:
                self._h11.receive_data(data)  # held until the app answers the handshake
            return
        if self._stream is None:
            if len(self._head_bytes) <= self._config.max_request_head_size:
                self._head_bytes += data
            if self._timer == _IDLE_TIMER:
                self._arm(_HEAD_TIMER)
        self._h11.receive_data(data)
        self._process()
        stream = self._stream
        if stream is not None and stream.receive_pending:
            stream.deliver()
        self._update_timer()

    def connection_lost(self, now: float) -> None:
        self._now = now
        if not self.closed:
            self._client_gone()

    def app_receive(self, stream_id: int, now: float) -> None:
        self._now = now
        ws = self._websocket
        if ws is not None and ws.stream_id == stream_id:
            ws.app_receive()
            return
        stream = self.streams.get(stream_id)
        if stream is None:
            raise AppProtocolError(f"receive() on stream {stream_id}, which has ended")
        stream.app_receive()
        self._update_timer()

    def app_send(self, stream_id: int, message: Any, now: float) -> bool:
        self._now = now
        ws = self._websocket
        if ws is not None and ws.stream_id == stream_id:
            try:
                ws.app_send(message, now)
            finally:
                self._ws_timer()
            return True
        stream = self.streams.get(stream_id)
        if stream is None:
            raise AppProtocolError(f"send() on stream {stream_id}, which has ended")
        stream.app_send(message)
        self._update_timer()
        return True

    def app_finished(self, stream_id: int, error: BaseException | None, now: float) -> None:
        self._now = now
        ws = self._websocket
        if ws is not None and ws.stream_id == stream_id:
            ws.finish(error)
            self._ws_timer()
            return
        stream = self.streams.pop(stream_id, None)
        if stream is not None:
            stream.finish()
            self._update_timer()

    def start_shutdown(self, now: float) -> None:
        self._now = now
        self._shutting_down = True
        ws = self._websocket
        if ws is not None:
            if ws.open:
                ws.close(1001, "server shutting down")  # RFC 6455 section 7.4.1: going away
                self._ws_timer()
            return
        if self._stream is None and not self.closed:
            self._close()

    def handle_timeout(self, now: float) -> None:
        self._now = now
        if self.deadline is None or now < self.deadline or self.closed:
            return
        if self._websocket is not None:
            self._websocket.handle_timeout(now)
            self._ws_timer()
            return
        timer = self._timer
        self._arm(_NO_TIMER)
        if timer == _IDLE_TIMER:
            self._close()
        else:  # the head or the body did not arrive in time
            self._reject_request(408)

    def take_upgrade(self) -> H2CUpgrade:
        """The completed ``Upgrade: h2c`` request, with the bytes that followed it."""
        upgrade = self.upgrade
        assert upgrade is not None
        upgrade.trailing = bytes(self._h11.trailing_data[0])
        self.closed = True
        self._arm(_NO_TIMER)
        return upgrade

    def data_to_send(self) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        return out

    @property
    def reading_paused(self) -> bool:
        """Stop reading: the current stream holds its limit of body, or input is queued."""
        ws = self._websocket
        if ws is not None and not self.closed:
            return not ws.accepted or ws.queued >= self._config.ws_max_queue
        stream = self._stream
        if stream is None or self.closed:
            return False
        return self._paused or stream.buffered >= self._config.max_buffered_body_size

    # -- parsing ------------------------------------------------------------------------------

    def _process(self) -> None:
        h11_conn = self._h11
        while not self.closed:
            try:
                event = h11_conn.next_event()
            except h11.RemoteProtocolError as exc:
                # RFC 9112 section 6.1: a bad Transfer-Encoding is a 400, whatever h11 hints.
                status = 400 if exc.error_status_hint == 501 else exc.error_status_hint
                self._reject_request(status)
                return
            kind = type(event)
            if kind is h11.Data:
                self._on_body(event.data)  # type: ignore[union-attr]
            elif kind is h11.Request:
                self._on_request(event)  # type: ignore[arg-type]
            elif kind is h11.EndOfMessage:
                self._on_end_of_request()
            elif event is h11.NEED_DATA:
                return
            elif event is h11.PAUSED:
                self._paused = True
                return
            elif kind is h11.ConnectionClosed:
                self._client_gone()
                return

    def _on_request(self, request: h11.Request) -> None:
        headers: Headers = list(request.headers)  # h11 lowercases names
        content_length: bytes | None = None
        chunked = False
        trailers = False
        http10 = request.http_version == b"1.0"
        keep_alive = not http10  # HTTP/1.0 keep-alive is not offered (nor is it by h11)
        expects_continue = False
        connection_upgrade = False
        upgrade = b""
        h2_settings: list[bytes] = []
        for name, value in headers:
            if name == b"content-length":
                content_length = value
            elif name == b"transfer-encoding":
                chunked = True
            elif name == b"connection":
                tokens = value.lower()
                if b"close" in tokens:
                    keep_alive = False
                if b"upgrade" in tokens:
                    connection_upgrade = True
            elif name == b"upgrade":
                upgrade = value.lower()
            elif name == b"expect":
                expects_continue = not http10 and value.lower() == b"100-continue"
            elif name == b"te" and b"trailers" in value.lower():
                trailers = True
            elif name == b"http2-settings":
                h2_settings.append(value)
        self._http10 = http10
        self._keep_alive = keep_alive
        self._expects_continue = expects_continue
        self._response_started = False
        head_bytes = self._head_bytes
        self._head_bytes = bytearray()
        stream_id = self._next_stream_id
        self._next_stream_id += 2
        stream = HTTPStream(
            stream_id,
            self,
            self._events,
            method=request.method.decode("ascii"),
            trailers_allowed=trailers,
        )
        self._stream = stream
        self._body_received = 0
        self._arm(_NO_TIMER)
        if not request.http_version.startswith(b"1."):
            self._reject_request(505)  # RFC 9110 section 15.6.6
            return
        head_end = head_bytes.find(b"\r\n\r\n")
        if head_end < 0 or head_end + 4 > self._config.max_request_head_size:
            # h11 only bounds an incomplete head; one that arrived whole is measured here.
            self._reject_request(431)
            return
        if head_bytes.find(b"\n ", 0, head_end) >= 0 or head_bytes.find(b"\n\t", 0, head_end) >= 0:
            # RFC 9112 section 5.2: obs-fold is refused rather than unfolded (as h11 would).
            self._reject_request(400)
            return
        if content_length is not None:
            # RFC 9112 section 6.1: Content-Length with Transfer-Encoding is a smuggling attempt.
            if chunked or not _single_content_length(head_bytes, head_end):
                self._reject_request(400)
                return
            limit = self._config.max_request_body_size
            if limit is not None and int(content_length) > limit:
                self._reject_request(413)
                return
        if connection_upgrade and b"websocket" in upgrade and request.method == b"GET":
            self._start_websocket(stream_id, request.target, headers, http10)
            return
        if (
            h2_settings
            and self._h2c_allowed
            and b"h2c" in upgrade
            and _h2c_acceptable(headers, h2_settings, content_length, chunked, self._config)
        ):
            self._h2c = H2CUpgrade(
                request.method, request.target, headers, b"", h2_settings[0], b""
            )
            self._arm(_BODY_TIMER)  # its body must come within request_body_timeout
            return
        extensions: dict[str, dict[str, Any]] = {"http.response.pathsend": {}}
        if trailers:
            extensions["http.response.trailers"] = {}
        scope = self._info.http(
            method=stream.method,
            # RFC 9110 section 2.5: HTTP/1.x above 1.1 is served as 1.1.
            http_version="1.0" if http10 else "1.1",
            target=request.target,
            headers=headers,
            extensions=extensions,
        )
        self.streams[stream_id] = stream
        self._events.append(StreamStarted(stream_id, scope))

    def _start_websocket(
        self, stream_id: int, target: bytes, headers: Headers, http10: bool
    ) -> None:
        """RFC 6455 section 4.2: the app decides; until then the connection only waits."""
        try:
            if http10:
                raise HandshakeError(400, "a WebSocket handshake needs HTTP/1.1")
            key, subprotocols, offers = check_handshake(headers)
        except HandshakeError as exc:
            self._reject_request(exc.status, exc.headers)
            return
        ws = WebSocketStream(
            stream_id,
            self,
            self._events,
            self._config,
            key=key,
            subprotocols=subprotocols,
            extension_offers=offers,
        )
        self._websocket = ws
        scope = self._info.websocket(
            http_version="1.1",
            target=target,
            headers=headers,
            subprotocols=subprotocols,
            extensions={"websocket.http.response": {}},
        )
        self._events.append(StreamStarted(stream_id, scope))

    def _ws_timer(self) -> None:
        ws = self._websocket
        assert ws is not None
        self._timer = _NO_TIMER
        self.deadline = None if self.closed else ws.deadline

    # -- WebSocketWire: the handshake answer and the frames -----------------------------------

    def websocket_accepted(self, stream: WebSocketStream, headers: Headers) -> None:
        add_server_headers(headers, 0, self._server_header, self._date)
        self._response_started = True
        self._write_head(101, headers)
        early = self._h11.trailing_data[0]  # frames the client sent before the 101
        if early:
            stream.receive_data(early, self._now)

    def websocket_rejected(
        self, stream: WebSocketStream, status: int, headers: Headers, body: bytes, end: bool
    ) -> None:
        if self.closed:
            return
        if not self._denial_started:
            self._denial_started = self._response_started = True
            names = {name for name, _ in headers}
            if b"content-length" not in names:
                if end:
                    headers.append((b"content-length", b"%d" % len(body)))
                else:
                    self._denial_chunked = True
                    headers.append((b"transfer-encoding", b"chunked"))
            headers.append((b"connection", b"close"))
            present = (HAS_SERVER if b"server" in names else 0) | (
                HAS_DATE if b"date" in names else 0
            )
            add_server_headers(headers, present, self._server_header, self._date)
            self._write_head(status, headers)
        if self._denial_chunked:
            self._write_chunk(body, end)
        else:
            self._out += body
        if end:
            self._close()

    def websocket_send(self, stream: WebSocketStream, data: bytes) -> None:
        if not self.closed:
            self._out += data

    def websocket_closed(self, stream: WebSocketStream) -> None:
        self._close()

    def _on_body(self, data: bytes) -> None:
        stream = self._stream
        assert stream is not None
        if self._h2c is not None:
            self._h2c_body += data
            self._arm(_NO_TIMER)  # progress: the wait starts again
            self._arm(_BODY_TIMER)
            return
        self._body_received += len(data)
        limit = self._config.max_request_body_size
        if limit is not None and self._body_received > limit:
            self._reject_request(413)
            return
        stream.feed_body(data)
        if self._timer == _BODY_TIMER:
            self._arm(_NO_TIMER)  # progress: the body timer starts again from now
            if stream.response_complete:
                self._arm(_BODY_TIMER)

    def _on_end_of_request(self) -> None:
        stream = self._stream
        assert stream is not None
        if self._h2c is not None:
            self._h2c.body = bytes(self._h2c_body)
            self.upgrade = self._h2c
            return
        stream.end_body()
        if stream.response_complete:
            self._next_cycle()

    def _client_gone(self) -> None:
        """EOF or a lost connection: every stream sees a disconnect and the connection closes."""
        if self._websocket is not None:
            self._websocket.connection_lost()
        for stream in list(self.streams.values()):
            stream.disconnect()
        if self._stream is not None:
            self._stream.disconnect()
        self._close()

    # -- HTTPWire: the response side, called by HTTPStream ------------------------------------
    # h11 parses requests; responses are framed here (RFC 9112 sections 4, 6 and 7): it is a
    # few lines, and h11's writer was a third of the time of a small request.

    def start_response(
        self, stream: HTTPStream, status: int, headers: Headers, flags: int, body: bytes, end: bool
    ) -> None:
        if stream is not self._stream or self.closed:
            return
        self._response_started = True
        no_body = stream.method == "HEAD" or status in _NO_BODY_STATUSES
        self._response_has_body = not no_body
        self._response_chunked = False
        self._response_remaining = -1
        if flags & HAS_CONTENT_LENGTH:
            if not no_body:
                for name, value in headers:
                    if name == b"content-length":
                        self._response_remaining = int(value)
                        break
        elif end and status not in _NO_BODY_STATUSES and (body or not no_body):
            headers.append((b"content-length", b"%d" % len(body)))
            self._response_remaining = -1 if no_body else len(body)
        elif not no_body:
            if self._http10:
                self._keep_alive = False  # the body ends when the connection does
            else:
                self._response_chunked = True
                headers.append((b"transfer-encoding", b"chunked"))
        add_server_headers(headers, flags, self._server_header, self._date)
        if flags & HAS_CONNECTION_CLOSE or self._shutting_down:
            self._keep_alive = False
        elif self._expects_continue and not stream.body_complete:
            # The client still waits for "100 Continue": it may or may not send its body now.
            self._keep_alive = False
        if not self._keep_alive and not flags & HAS_CONNECTION_CLOSE:
            headers.append((b"connection", b"close"))
        self._expects_continue = False
        self._write_head(status, headers)
        self._write_body(stream, body, end)

    def _write_chunk(self, body: bytes, end: bool) -> None:
        """Chunked framing (RFC 9112 section 7.1); ``end`` adds the last chunk."""
        if body:
            self._out += b"%x\r\n%s\r\n" % (len(body), body)
        if end:
            self._out += b"0\r\n\r\n"

    def _write_head(self, status: int, headers: Headers) -> None:
        """Status line and fields (RFC 9112 section 4); names and values were validated."""
        out = self._out
        out += b"HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, b""))
        out += b"".join([b"%s: %s\r\n" % pair for pair in headers])
        out += b"\r\n"

    def send_body(self, stream: HTTPStream, body: bytes, end: bool) -> None:
        if stream is not self._stream or self.closed:
            return
        self._write_body(stream, body, end)

    def _write_body(self, stream: HTTPStream, body: bytes, end: bool) -> None:
        if self._response_has_body:
            remaining = self._response_remaining
            if remaining >= 0:
                remaining -= len(body)
                if remaining < 0 or (end and remaining):
                    self._app_broke_framing(stream, remaining)
                self._response_remaining = remaining
                self._out += body
            elif self._response_chunked:
                self._write_chunk(body, end)
            else:
                self._out += body
        if end:
            self._response_finished()

    def send_trailers(self, stream: HTTPStream, trailers: Headers) -> None:
        if stream is not self._stream or self.closed:
            return
        if self._response_chunked:
            self._out += b"0\r\n" + b"".join([b"%s: %s\r\n" % pair for pair in trailers])
            self._out += b"\r\n"
        elif self._response_remaining > 0:
            self._app_broke_framing(stream, self._response_remaining)
        # A response framed by Content-Length (or without a body) has no place for trailers.
        self._response_finished()

    def abort_response(self, stream: HTTPStream) -> None:
        if stream is self._stream:
            self._close()

    def request_body_wanted(self, stream: HTTPStream) -> None:
        if (
            stream is self._stream
            and self._expects_continue
            and not self._response_started
            and not self.closed
        ):
            # RFC 9110 section 10.1.1: the 100 goes out only once the app wants the body.
            self._expects_continue = False
            self._out += b"HTTP/1.1 100 Continue\r\n\r\n"

    def request_body_consumed(self, stream: HTTPStream, size: int) -> None:
        """Nothing to do: ``reading_paused`` reads the stream's buffer size when asked."""

    # -- the request/response cycle -----------------------------------------------------------

    def _app_broke_framing(self, stream: HTTPStream, remaining: int) -> None:
        """The app's body disagrees with its own Content-Length: cut the response."""
        stream.disconnect()
        self._close()
        problem = "longer" if remaining < 0 else "shorter"
        raise AppProtocolError(f"the response body is {problem} than its content-length header")

    def _response_finished(self) -> None:
        if not self._keep_alive:
            self._close()
        elif self._h11.their_state is not h11.SEND_BODY:
            # DONE, or MIGHT_SWITCH_PROTOCOL (an Upgrade we did not take): the request is over.
            self._next_cycle()
        else:
            # The rest of the request body is read (and dropped) before the next request,
            # within request_body_timeout of each piece.
            self._arm(_BODY_TIMER)

    def _next_cycle(self) -> None:
        if not self._keep_alive or self._shutting_down:
            self._close()
            return
        pipelined, eof = self._h11.trailing_data
        self._h11 = self._new_parser()
        self._stream = None
        self._response_started = False
        self._paused = False
        self._arm(_NO_TIMER)
        if pipelined or eof:
            self._head_bytes = bytearray(pipelined[: self._config.max_request_head_size + 1])
            self._h11.receive_data(pipelined)
            if eof:
                self._h11.receive_data(b"")
            self._arm(_HEAD_TIMER)
            self._process()
        else:
            self._arm(_IDLE_TIMER)

    def _new_parser(self) -> h11.Connection:
        """A fresh h11 parser per request: it only ever reads, so it never needs a next cycle."""
        return h11.Connection(
            h11.SERVER, max_incomplete_event_size=self._config.max_request_head_size
        )

    def _reject_request(self, status: int, extra_headers: Headers | None = None) -> None:
        """Answer a request the server refuses (400, 408, 413, 431, 505) and close."""
        stream = self._stream
        if stream is not None:
            stream.disconnect()
        if not self._response_started and not self.closed:
            self._response_started = True
            body = _REASONS.get(status, b"Error") + b"\n"
            head_request = stream is not None and stream.method == "HEAD"
            headers: Headers = [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", b"%d" % len(body)),
                (b"connection", b"close"),
                *(extra_headers or ()),
            ]
            add_server_headers(headers, 0, self._server_header, self._date)
            self._write_head(status, headers)
            if not head_request:  # RFC 9110 section 9.3.2: no content in answer to HEAD
                self._out += body
        self._close()

    def _close(self) -> None:
        if not self.closed:
            self.closed = True
            self._arm(_NO_TIMER)
            self.deadline = None  # a WebSocket's deadline is not one _arm knows of
            for stream in self.streams.values():
                stream.disconnect()
            if self._websocket is not None:
                self._websocket.connection_lost()
            self._events.append(CloseConnection())

    # -- timers -------------------------------------------------------------------------------

    def _arm(self, timer: int) -> None:
        """Point the one timer at ``timer``, starting now unless it already measures that."""
        if timer == self._timer:
            return
        self._timer = timer
        if timer == _NO_TIMER:
            self.deadline = None
        elif timer == _IDLE_TIMER:
            self.deadline = self._now + self._config.keep_alive_timeout
        elif timer == _HEAD_TIMER:
            self.deadline = self._now + self._config.request_head_timeout
        else:
            self.deadline = self._now + self._config.request_body_timeout

    def _update_timer(self) -> None:
        stream = self._stream
        if stream is not None and not self.closed and self._h2c is None:
            if stream.waiting_for_body and not stream.response_complete:
                self._arm(_BODY_TIMER)
            elif self._timer == _BODY_TIMER and not stream.response_complete:
                self._arm(_NO_TIMER)  # (answered: the timer now bounds draining the body)


def _single_content_length(head: bytes | bytearray, end: int) -> bool:
    """True when the raw head has exactly one Content-Length line holding one value."""
    lines = _CONTENT_LENGTH_LINE.findall(head, 0, end if end >= 0 else len(head))
    return len(lines) == 1 and b"," not in lines[0]


def _h2c_acceptable(
    headers: Headers,
    settings: list[bytes],
    content_length: bytes | None,
    chunked: bool,
    config: Config,
) -> bool:
    """Whether to switch to HTTP/2 (RFC 7540 section 3.2; a server may always decline).

    One valid HTTP2-Settings field, named in Connection, and a body small enough to hold
    while it is read (a chunked or larger one is served over HTTP/1.1 instead).
    """
    if len(settings) != 1 or chunked:
        return False
    if content_length is not None and int(content_length) > config.max_buffered_body_size:
        return False
    if not any(
        name == b"connection" and b"http2-settings" in value.lower() for name, value in headers
    ):
        return False
    value = settings[0].strip()
    try:
        decoded = base64.b64decode(value + b"=" * (-len(value) % 4), b"-_", validate=True)
    except (binascii.Error, ValueError):
        return False
    if len(decoded) % 6:  # RFC 9113 section 6.5.1: 6-octet settings
        return False
    for at in range(0, len(decoded), 6):
        setting = int.from_bytes(decoded[at : at + 2], "big")
        number = int.from_bytes(decoded[at + 2 : at + 6], "big")
        low, high = _SETTING_RANGES.get(setting, (0, 2**32 - 1))
        if not low <= number <= high:
            return False  # RFC 9113 section 6.5.2: a connection error, so no upgrade
    return True


#: RFC 9113 section 6.5.2 (and RFC 8441 section 3): the values a setting may take.
_SETTING_RANGES = {
    0x2: (0, 1),  # SETTINGS_ENABLE_PUSH
    0x4: (0, 2**31 - 1),  # SETTINGS_INITIAL_WINDOW_SIZE
    0x5: (2**14, 2**24 - 1),  # SETTINGS_MAX_FRAME_SIZE
    0x8: (0, 1),  # SETTINGS_ENABLE_CONNECT_PROTOCOL
}
