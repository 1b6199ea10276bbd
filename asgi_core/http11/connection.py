"""HTTP/1.1: keep-alive, pipelining, Upgrade (WebSocket and h2c), limits and timers.

One request is served at a time; pipelined requests wait in the reader (and the driver stops
reading) until the response before them is complete. Requests are streams 1, 3, 5... Reading
is ``readers.py``, framing ``writers.py``, ``Expect: 100-continue`` ``expect_continue.py``, the
h2c upgrade ``asgi_core/h2c.py`` and the timers ``asgi_core/timers.py``.
"""

from __future__ import annotations

from typing import Any

from ..config import Config
from ..errors import AppProtocolError
from ..events import CloseConnection, ResponseEnded, StreamStarted, WebSocketClosed
from ..h2c import H2CUpgrade, accept_upgrade
from ..headers import HAS_CONNECTION_CLOSE, Headers, present_flags
from ..http_stream import HTTPStream
from ..protocol import ProtocolBase, ProtocolContext
from ..timers import MinimumRate, Timer, body_wait
from ..websocket import HandshakeError, WebSocketStream, open_websocket
from .expect_continue import ExpectContinue
from .httptools_reader import HTTPTOOLS_INSTALLED, HttptoolsReader
from .readers import (
    CLIENT_CLOSED,
    END_OF_REQUEST,
    NEED_DATA,
    PAUSED,
    BadRequest,
    H11Reader,
    ReadState,
    RequestHead,
    RequestReader,
)
from .writers import (
    CLOSE_DELIMITED,
    NO_BODY,
    BodyWriter,
    FramingError,
    choose_framing,
    error_response,
    write_head,
)

KEEP_ALIVE, REQUEST_HEAD, REQUEST_BODY = Timer.KEEP_ALIVE, Timer.REQUEST_HEAD, Timer.REQUEST_BODY


class HTTP11Connection(ProtocolBase):
    """The HTTP/1.1 protocol of one connection, behind ``ServerConnection``."""

    __slots__ = ("_armed", "_body_received", "_body_writer", "_continue", "_denial_bytes",
                 "_denial_writer", "_h2c", "_h2c_allowed", "_h2c_body", "_http10", "_keep_alive",
                 "_next_stream_id", "_paused", "_rate", "_reader", "_response_started",
                 "_shutting_down", "_stream", "_websocket", "streams", "upgrade")  # fmt: skip

    def __init__(self, context: ProtocolContext, *, now: float, h2c: bool = False) -> None:
        super().__init__(context, now)
        config = context.config
        self._h2c_allowed = h2c
        #: An ``Upgrade: h2c`` request being read; its body collects in ``_h2c_body``.
        self._h2c: H2CUpgrade | None = None
        self._h2c_body = bytearray()
        #: Set once that request is complete: ``ServerConnection`` switches to HTTP/2.
        self.upgrade: H2CUpgrade | None = None
        self._reader = _new_reader(config)
        #: The request being read or answered; ``None`` between requests.
        self._stream: HTTPStream | None = None
        #: Every stream whose application has not finished yet.
        self.streams: dict[int, HTTPStream] = {}
        self._next_stream_id = 1
        self._body_received = 0
        #: The request body's minimum rate, made when its body timer first starts.
        self._rate: MinimumRate | None = None
        # The request/response cycle in progress (reset by _on_request).
        self._http10 = False
        self._keep_alive = True
        self._continue = ExpectContinue()
        self._response_started = False
        self._body_writer: BodyWriter = NO_BODY
        #: Set once a request upgraded the connection to a WebSocket (then it is the only stream).
        self._websocket: WebSocketStream | None = None
        self._denial_writer: BodyWriter | None = None
        self._denial_bytes = 0
        self._paused = False  # pipelined input is waiting behind the current response
        #: The one request timer that may run (keep-alive, head or body: HTTP/1.1 always
        #: waits for one thing): the keep-alive wait ``ProtocolBase`` starts, then ``_arm``'s.
        self._armed: Timer | None = KEEP_ALIVE
        self._shutting_down = False

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
            else:
                self._reader.feed(data)  # held until the app answers the handshake
            return
        if self._stream is None and self._deadlines.running(KEEP_ALIVE):
            self._arm(REQUEST_HEAD)
        self._reader.feed(data)
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
        self._app_stream(stream_id, "receive()").app_receive()
        self._update_timer()

    def app_send(self, stream_id: int, message: Any, now: float) -> bool:
        self._now = now
        ws = self._websocket
        if ws is not None and ws.stream_id == stream_id:
            ws.app_send(message, now)
            return True
        self._app_stream(stream_id, "send()").app_send(message)
        self._update_timer()
        return True

    def _app_stream(self, stream_id: int, call: str) -> HTTPStream:
        stream = self.streams.get(stream_id)
        if stream is None:
            raise AppProtocolError(f"{call} on stream {stream_id}, which has ended")
        return stream

    def app_finished(self, stream_id: int, error: BaseException | None, now: float) -> None:
        self._now = now
        ws = self._websocket
        if ws is not None and ws.stream_id == stream_id:
            ws.finish(error)
            return
        stream = self.streams.pop(stream_id, None)
        if stream is not None:
            stream.finish()
            self._update_timer()

    def start_shutdown(self, now: float, *, restart: bool = False) -> None:
        self._now = now
        self._shutting_down = True
        ws = self._websocket
        if ws is not None:
            if ws.open:
                ws.close(*self._shutdown_close(restart))  # RFC 6455 section 7.4.1
            return
        # Between requests the connection closes now, unless a request is on its way: its head
        # is partly here, or the connection has not sent its first one yet (it was accepted to
        # send one). Closing those would fail a request the client has sent or is sending; it
        # is answered instead (with Connection: close), and the head and idle timers bound it.
        on_its_way = self._next_stream_id == 1 or self._deadlines.running(REQUEST_HEAD)
        if self._stream is None and not self.closed and not on_its_way:
            self._close()

    def handle_timeout(self, now: float) -> None:
        self._now = now
        if self.closed:
            return
        if self._websocket is not None:
            self._websocket.handle_timeout(now)
            return
        for timer, _ in self._deadlines.due(now):
            self._arm(None)
            if timer is KEEP_ALIVE:
                self._close()
            else:  # the head or the body did not arrive in time
                self._error_response(408)
            return

    def take_upgrade(self) -> H2CUpgrade:
        """The completed ``Upgrade: h2c`` request, with the bytes that followed it."""
        upgrade = self.upgrade
        assert upgrade is not None
        upgrade.trailing = self._reader.trailing
        self.closed = True
        self._deadlines.clear()
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

    # -- reading ------------------------------------------------------------------------------

    def _process(self) -> None:
        reader = self._reader
        while not self.closed:
            try:
                event = reader.next_event()
            except BadRequest as exc:
                self._error_response(exc.status, method=exc.method)
                return
            kind = event.__class__
            if kind is RequestHead:
                self._on_request(event)  # type: ignore[arg-type]
            elif kind is not ReadState:
                self._on_body(event)  # type: ignore[arg-type]
            elif event is END_OF_REQUEST:
                self._on_end_of_request()
            elif event is NEED_DATA:
                self._check_announced()
                return
            elif event is PAUSED:
                self._paused = True
                return
            elif event is CLIENT_CLOSED:
                self._client_gone()
                return

    def _on_request(self, request: RequestHead) -> None:
        headers = request.headers
        http10 = request.http_version == b"1.0"
        keep_alive = not http10  # HTTP/1.0 keep-alive is not offered (nor is it by h11)
        content_length: bytes | None = None
        trailers = connection_upgrade = expect = False
        upgrade = b""
        for name, value in headers:
            if name == b"content-length":
                content_length = value
            elif name == b"connection":
                tokens = value.lower()
                keep_alive = keep_alive and b"close" not in tokens
                connection_upgrade = connection_upgrade or b"upgrade" in tokens
            elif name == b"upgrade":
                upgrade = value.lower()
            elif name == b"te" and b"trailers" in value.lower():
                trailers = True
            elif name == b"expect":
                expect = value.lower() == b"100-continue"
        self._http10 = http10
        self._keep_alive = keep_alive
        self._continue.on_request(expect, http10)
        self._response_started = False
        stream_id = self._next_stream_id
        self._next_stream_id += 2
        method = request.method.decode("ascii")
        stream = self._stream = HTTPStream(
            stream_id, self, self._events, method=method, trailers_allowed=trailers
        )
        self._body_received = 0
        self._rate = None
        self._arm(None)
        config = self._config
        limit = config.max_request_body_size
        if content_length is not None and limit is not None and int(content_length) > limit:
            self._error_response(413, request=request)
        elif (
            connection_upgrade
            and b"websocket" in upgrade
            and method == "GET"
            and config.ws != "none"
        ):
            self._start_websocket(stream_id, request, http10)
        elif (
            upgrade
            and self._h2c_allowed
            and (h2c := accept_upgrade(request.method, request.target, headers, upgrade, config))
        ):
            self._h2c = h2c
            self._arm(REQUEST_BODY)  # its body must come within request_body_timeout
        else:
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

    def _start_websocket(self, stream_id: int, request: RequestHead, http10: bool) -> None:
        """RFC 6455 section 4.2: the app decides; until then the connection only waits."""
        try:
            if http10:
                raise HandshakeError(400, "a WebSocket handshake needs HTTP/1.1")
            self._websocket = open_websocket(
                stream_id, self, self._config, self._events, self._info, self._deadlines,
                http_version="1.1", target=request.target, headers=request.headers,
            )  # fmt: skip
        except HandshakeError as exc:
            self._error_response(exc.status, exc.headers)
            return
        if self._stream is not None:
            self._stream.ended = True  # the WebSocket reports its own answer (101 or denial)

    def _on_body(self, data: bytes | bytearray) -> None:
        stream = self._stream
        assert stream is not None
        if self._h2c is not None:
            self._h2c_body += data
            self._deadlines.start(REQUEST_BODY, self._now)  # progress: the wait starts again
            return
        self._body_received += len(data)
        limit = self._config.max_request_body_size
        # A chunk announced larger than the limit still allows is refused before it is read.
        if limit is not None and self._body_received + self._reader.announced > limit:
            self._error_response(413)
            return
        stream.feed_body(data)
        if self._deadlines.cancel(REQUEST_BODY):  # progress: the body timer starts again
            self._body_wait_ended()
            if stream.response_complete:
                self._start_body_timer(keep=False)

    def _check_announced(self) -> None:
        """RFC 9112 section 7.1: a chunk that would take the body past
        ``max_request_body_size`` gets 413 at its size line, not after its data."""
        limit = self._config.max_request_body_size
        announced = self._reader.announced
        if announced and limit is not None and self._body_received + announced > limit:
            self._error_response(413)

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

    # -- WebSocketWire: the handshake answer and the frames -----------------------------------

    def websocket_accepted(self, stream: WebSocketStream, headers: Headers) -> None:
        self._add_server_headers(headers)
        self._response_started = True
        write_head(self._out, 101, headers)
        self._events.append(ResponseEnded(stream.stream_id, 101, 0))
        early = self._reader.trailing  # frames the client sent before the 101
        if early:
            stream.receive_data(early, self._now)

    def websocket_denied(
        self, stream: WebSocketStream, status: int, headers: Headers, body: bytes, end: bool
    ) -> None:
        if self.closed:
            return
        writer = self._denial_writer
        if writer is None:
            self._response_started = True
            flags = present_flags(headers)
            if any(name == b"content-length" for name, _ in headers):
                writer = CLOSE_DELIMITED  # the app framed it; the connection closes after it
            else:
                writer = choose_framing(headers, 0, status=status, head_request=False,
                                        body=body, end=end, http10=False)  # fmt: skip
            headers.append((b"connection", b"close"))
            self._add_server_headers(headers, flags)
            write_head(self._out, status, headers)
            self._denial_writer = writer
        writer.write(self._out, body, end)
        self._denial_bytes += len(body)
        if end:
            self._events.append(ResponseEnded(stream.stream_id, status, self._denial_bytes))
            self._close()

    def websocket_send(self, stream: WebSocketStream, data: bytes) -> None:
        if not self.closed:
            self._out += data

    def websocket_closed(self, stream: WebSocketStream) -> None:
        self._close()

    # -- HTTPWire: the response side, called by HTTPStream ------------------------------------

    def start_response(
        self, stream: HTTPStream, status: int, headers: Headers, flags: int, body: bytes, end: bool
    ) -> None:
        if stream is not self._stream or self.closed:
            return
        self._response_started = True
        writer = self._body_writer = choose_framing(
            headers, flags, status=status, head_request=stream.method == "HEAD",
            body=body, end=end, http10=self._http10,
        )  # fmt: skip
        if writer is CLOSE_DELIMITED:
            self._keep_alive = False  # the body ends when the connection does
        self._add_server_headers(headers, flags)
        # A client still waiting for "100 Continue" may or may not send its body now.
        waited = not self._continue.response_starts(stream.body_complete)
        if waited or flags & HAS_CONNECTION_CLOSE or self._shutting_down:
            self._keep_alive = False
        if not self._keep_alive and not flags & HAS_CONNECTION_CLOSE:
            headers.append((b"connection", b"close"))
        write_head(self._out, status, headers)
        self._write_body(stream, body, end)

    def send_body(self, stream: HTTPStream, body: bytes, end: bool) -> None:
        if stream is not self._stream or self.closed:
            return
        self._write_body(stream, body, end)

    def _write_body(self, stream: HTTPStream, body: bytes, end: bool) -> None:
        try:
            self._body_writer.write(self._out, body, end)
        except FramingError as exc:
            self._app_broke_framing(stream, exc)
        if end:
            self._response_finished()

    def send_trailers(self, stream: HTTPStream, trailers: Headers) -> None:
        if stream is not self._stream or self.closed:
            return
        try:
            self._body_writer.write_trailers(self._out, trailers)
        except FramingError as exc:
            self._app_broke_framing(stream, exc)
        self._response_finished()

    def abort_response(self, stream: HTTPStream) -> None:
        if stream is self._stream:
            self._close()

    def request_body_wanted(self, stream: HTTPStream) -> None:
        if stream is self._stream and not self._response_started and not self.closed:
            self._continue.body_wanted(self._out)

    def request_body_consumed(self, stream: HTTPStream, size: int) -> None:
        """Nothing to do: ``reading_paused`` reads the stream's buffer size when asked."""

    # -- the request/response cycle -----------------------------------------------------------

    def _app_broke_framing(self, stream: HTTPStream, error: FramingError) -> None:
        """The app's body disagrees with its own Content-Length: cut the response."""
        stream.disconnect()
        self._close()
        raise AppProtocolError(str(error))

    def _response_finished(self) -> None:
        if not self._keep_alive:
            self._close()
        elif not self._reader.reading_body:
            self._next_cycle()
        else:
            # The rest of the request body is read (and dropped) before the next request,
            # within request_body_timeout of each piece.
            self._arm(REQUEST_BODY)

    def _next_cycle(self) -> None:
        if not self._keep_alive or self._shutting_down:
            self._close()
            return
        self._stream = None
        self._response_started = False
        self._paused = False
        self._arm(None)
        if self._reader.next_cycle():
            self._arm(REQUEST_HEAD)
            self._process()
        else:
            self._arm(KEEP_ALIVE)

    def _error_response(
        self,
        status: int,
        extra_headers: Headers | None = None,
        method: bytes = b"",
        request: RequestHead | None = None,
    ) -> None:
        """The server's own answer to a request it will not serve (400, 408, 413, 431, 505),
        then the connection closes; the request's app, if any, sees http.disconnect.
        ``request``: its head, when its app was never started (for the access log)."""
        stream = self._stream
        if stream is not None:
            method = stream.method.encode("ascii")
        if not self._response_started and not self.closed:
            self._response_started = True
            headers = list(extra_headers or ())
            self._add_server_headers(headers)
            size = error_response(self._out, status, headers, head_request=method == b"HEAD")
            if stream is not None:
                named = None if request is None else (stream.method, _target(request), "HTTP/1.1")
                stream.answered(status, size, named)
            else:  # no request head yet (400, 408, 431): stream 0, no scope
                self._events.append(ResponseEnded(0, status, size, True, True))
        if stream is not None:
            stream.disconnect()
        self._close()

    def _close(self) -> None:
        if not self.closed:
            self.closed = True
            self._deadlines.clear()
            for stream in self.streams.values():
                stream.disconnect()
            ws = self._websocket
            if ws is not None:
                ws.connection_lost()
                if ws.accepted:
                    self._events.append(WebSocketClosed(ws.stream_id))
            self._events.append(CloseConnection())

    # -- timers -------------------------------------------------------------------------------

    def _arm(self, timer: Timer | None) -> None:
        """Make ``timer`` the one request timer (``None``: none), from now unless it runs."""
        deadlines = self._deadlines
        armed = self._armed
        if armed is not timer:
            if armed is not None and deadlines.cancel(armed) and armed is REQUEST_BODY:
                self._body_wait_ended()
            self._armed = timer
        if timer is REQUEST_BODY and self._h2c is None:
            self._start_body_timer(keep=True)
        elif timer is not None:
            deadlines.keep(timer, self._now)

    def _start_body_timer(self, *, keep: bool) -> None:
        """The body timer, from now (``keep``: unless it runs): ``request_body_timeout``, or
        less when the body is below ``min_request_body_rate`` (``timers.MinimumRate``)."""
        self._rate, duration = body_wait(self._rate, self._config, self._now, self._body_received)
        if keep:
            self._deadlines.keep(REQUEST_BODY, self._now, duration=duration)
        else:
            self._deadlines.start(REQUEST_BODY, self._now, duration=duration)

    def _body_wait_ended(self) -> None:
        if self._rate is not None:
            self._rate.not_waiting(self._now)

    def _update_timer(self) -> None:
        stream = self._stream
        if stream is not None and not self.closed and self._h2c is None:
            if stream.waiting_for_body and not stream.response_complete:
                self._arm(REQUEST_BODY)
            elif self._deadlines.running(REQUEST_BODY) and not stream.response_complete:
                self._arm(None)  # (answered: the timer now bounds draining the body)


def _new_reader(config: Config) -> RequestReader:
    """The parser ``Config.http`` names: httptools, when asked for or installed, else h11."""
    if config.http == "h11" or not HTTPTOOLS_INSTALLED:
        return H11Reader(config.max_request_head_size)
    return HttptoolsReader(config.max_request_head_size)


def _target(request: RequestHead) -> str:
    """The request target as the access log shows it (latin-1: any byte survives)."""
    return request.target.decode("latin-1")
