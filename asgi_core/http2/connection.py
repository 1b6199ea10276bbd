"""HTTP/2 (RFC 9113): h2's events mapped to ASGI streams, push, early hints, RFC 8441, GOAWAY.

h2 parses frames, keeps stream states and HPACK; this module maps its events to the same
``HTTPStream`` and ``WebSocketStream`` that HTTP/1.1 uses, and adds what h2 leaves to its
user: flow control paced by the application (``sending.py``), limits against abusive peers
(``limits.py``), and a graceful GOAWAY. Every reach into h2's internals is in
``h2_internals.py``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

import h2.config
import h2.events
import h2.exceptions
import h2.settings
from h2.errors import ErrorCodes
from h2.settings import SettingCodes

from ..config import Config
from ..errors import AppProtocolError, ClientDisconnected
from ..events import CloseConnection, LimitHit, ResponseEnded, StreamStarted, WebSocketClosed
from ..headers import (
    HAS_CONTENT_LENGTH,
    NO_BODY_STATUSES,
    TOKEN,
    Headers,
    check_headers,
    present_flags,
)
from ..http_stream import BODY, HEAD, HTTPStream
from ..protocol import ProtocolBase, ProtocolContext
from ..timers import Timer, body_wait
from ..websocket import HandshakeError, WebSocketStream, open_websocket
from .fields import CONNECTION_SPECIFIC, request_problem, trailers_problem
from .h2_internals import H2Connection, as_compression_error, goaway_frame
from .limits import Limits
from .sending import Outbound, Sender, reset_stream
from .stream import H2Stream

#: The client connection preface (RFC 9113 section 3.4).
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# RFC 9113 section 8.2.2: connection-specific fields are malformed in HTTP/2; an app that sets
# them (as HTTP/1.1 apps do) gets them dropped rather than a reset stream.
#: h2 events that spend the control-frame budget.
_CONTROL_FRAMES = (
    h2.events.PingReceived,
    h2.events.RemoteSettingsChanged,
    h2.events.PriorityUpdated,
    h2.events.UnknownFrameReceived,
)
KEEP_ALIVE, REQUEST_BODY = Timer.KEEP_ALIVE, Timer.REQUEST_BODY
#: Body bytes read and dropped after the server's own answer (or the body limit, if larger).
DISCARD_LIMIT = 1 << 20


def _fields(status: int, headers: Headers) -> Headers:
    """A response's HEADERS fields: ``:status``, then the app's minus connection-specific ones."""
    return [(b":status", b"%d" % status), *_without_connection_fields(headers)]


def _without_connection_fields(headers: Headers) -> Headers:
    return [pair for pair in headers if pair[0] not in CONNECTION_SPECIFIC]


class HTTP2Connection(ProtocolBase):
    """The HTTP/2 protocol of one connection, behind ``ServerConnection``.

    After an h2c upgrade, ``upgrade_settings`` is the client's HTTP2-Settings and ``output``
    what HTTP/1.1 still had to send (the 101 last).
    """

    multiplexed = True

    def __init__(
        self,
        context: ProtocolContext,
        *,
        now: float,
        upgrade_settings: bytes | None = None,
        output: bytes = b"",
    ) -> None:
        super().__init__(context, now, output)
        config = context.config
        #: Streams whose application has not finished.
        self._streams: dict[int, H2Stream] = {}
        #: Streams the server answered itself while their request body still comes: how many
        #: more of its bytes are read and dropped before the stream is reset.
        self._unwanted: dict[int, int] = {}
        self._limits = Limits(config, now)
        self._goaway_sent = False
        self._goaway_received = False  # the client will open no more streams
        self._settings_seen = False  # RFC 9113 section 3.4: the preface ends with SETTINGS
        self._last_stream_id = 0
        self._h2 = self._new_h2(config, upgrade_settings)
        self._sender = Sender(self._h2, context.events)

    @staticmethod
    def _new_h2(config: Config, upgrade_settings: bytes | None) -> H2Connection:
        # Outbound fields are checked by check_headers (and pseudo-fields are ours): h2 need
        # not check them again, which is a tenth of the time of a small request.
        h2_conn = H2Connection(
            h2.config.H2Configuration(
                client_side=False,
                header_encoding=None,
                validate_outbound_headers=False,
                normalize_outbound_headers=False,
                validate_inbound_headers=False,  # fields.py checks them, faster
            )
        )
        settings = {
            SettingCodes.MAX_CONCURRENT_STREAMS: config.h2_max_concurrent_streams,
            SettingCodes.MAX_HEADER_LIST_SIZE: config.h2_max_header_list_size,
            SettingCodes.HEADER_TABLE_SIZE: config.h2_max_header_table_size,
            SettingCodes.INITIAL_WINDOW_SIZE: int(config.max_buffered_body_size),
            # RFC 8441 section 3: extended CONNECT carries WebSockets, unless they are off.
            SettingCodes.ENABLE_CONNECT_PROTOCOL: int(config.ws != "none"),
        }
        h2_conn.local_settings = h2.settings.Settings(client=False, initial_values=settings)
        h2_conn.decoder.max_header_list_size = config.h2_max_header_list_size
        h2_conn.decoder.max_allowed_table_size = config.h2_max_header_table_size
        if upgrade_settings is None:
            h2_conn.initiate_connection()
        else:
            h2_conn.initiate_upgrade_connection(upgrade_settings)
        extra = config.h2_connection_window_size - 65535
        if extra > 0:
            h2_conn.increment_flow_control_window(extra)
        return h2_conn

    # -- input from the driver ----------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> None:
        self._now = now
        if self.closed:
            return
        if not data:
            self._close()
            return
        try:
            events = self._h2.receive_data(data)
        except h2.exceptions.ProtocolError as exc:
            self._h2_failed(exc)
            return
        if not self._settings_seen and events:
            if type(events[0]) is not h2.events.RemoteSettingsChanged:
                self._goaway(ErrorCodes.PROTOCOL_ERROR)  # the preface lacked its SETTINGS
                return
            self._settings_seen = True
        for event in events:
            self._on_event(event)
            if self.closed:
                return
        if self._limits.header_block_too_large(self._h2):
            self._goaway(ErrorCodes.ENHANCE_YOUR_CALM)  # CONTINUATION flood
            return
        self._after(now)

    def connection_lost(self, now: float) -> None:
        self._now = now
        if not self.closed:
            self._close()

    def app_receive(self, stream_id: int, now: float) -> None:
        self._now = now
        record = self._streams.get(stream_id)
        ws = record.websocket if record is not None else None
        if ws is not None:
            ws.app_receive()
            self._return_ws_window(stream_id, record)  # type: ignore[arg-type]
            return
        stream = self._http_stream(record, stream_id, "receive()")
        stream.app_receive()
        if stream.waiting_for_body:
            self._keep_body_timer(record, stream_id)  # type: ignore[arg-type]

    def app_send(self, stream_id: int, message: Any, now: float) -> bool:
        self._now = now
        record = self._streams.get(stream_id)
        ws = record.websocket if record is not None else None
        if ws is not None:
            try:
                ws.app_send(message, now)
            finally:
                self._send_pending()
            return self._may_return(stream_id)
        stream = self._http_stream(record, stream_id, "send()")
        kind = message.get("type") if isinstance(message, Mapping) else None
        if kind == "http.response.push":
            self._push(stream, message)
        elif kind == "http.response.early_hint":
            self._early_hint(stream, message)
        else:
            try:
                stream.app_send(message)
            finally:
                self._send_pending()
        return self._may_return(stream_id)

    @staticmethod
    def _http_stream(record: H2Stream | None, stream_id: int, call: str) -> HTTPStream:
        stream = record.http if record is not None else None
        if stream is None:
            raise AppProtocolError(f"{call} on stream {stream_id}, which has ended")
        return stream

    def app_finished(self, stream_id: int, error: BaseException | None, now: float) -> None:
        self._now = now
        record = self._streams.pop(stream_id, None)
        self._deadlines.cancel_stream(stream_id)
        if stream_id in self._unwanted:  # its body is still being dropped
            self._deadlines.start(REQUEST_BODY, now, stream_id)
        if record is None:
            return
        if record.websocket is not None:
            record.websocket.finish(error)
            self._deadlines.cancel_stream(stream_id)  # (its close handshake is not waited for)
        elif record.http is not None:
            self._http_finished(stream_id, record.http)
        self._send_pending()
        self._after(now)

    def _http_finished(self, stream_id: int, stream: HTTPStream) -> None:
        stream.finish()
        if not stream.body_complete and not stream.disconnected and not self.closed:
            # RFC 9113 section 8.1: once the response is out, the client may stop sending.
            out = self._sender.queues.get(stream_id)
            if out is None:
                self._reset(stream_id, ErrorCodes.NO_ERROR)
            else:
                out.stop_request = True

    def start_shutdown(self, now: float, *, restart: bool = False) -> None:
        self._now = now
        if self.closed or self._goaway_sent:
            return
        self._goaway_sent = True
        self._out += self._h2.data_to_send()
        self._out += goaway_frame(self._last_stream_id, ErrorCodes.NO_ERROR)
        for record in list(self._streams.values()):
            if record.websocket is not None:
                record.websocket.close(*self._shutdown_close(restart))
        self._send_pending()
        self._after(now)

    def handle_timeout(self, now: float) -> None:
        self._now = now
        if self.closed:
            return
        websockets_fired: set[int] = set()
        for timer, stream_id in self._deadlines.due(now):
            if timer is KEEP_ALIVE:
                self._goaway(ErrorCodes.NO_ERROR)
                return
            record = self._streams.get(stream_id)
            if timer is REQUEST_BODY:
                self._deadlines.cancel(REQUEST_BODY, stream_id)
                if stream_id in self._unwanted:  # the dropped body stalled
                    self._end_unwanted(stream_id)
                    self._reset(stream_id, ErrorCodes.NO_ERROR)
                elif record is not None and record.http is not None:
                    self._body_timed_out(record.http)
            elif record is not None and record.websocket is not None:
                if stream_id not in websockets_fired:  # it fires its most urgent timer
                    websockets_fired.add(stream_id)
                    record.websocket.handle_timeout(now)
            else:
                self._deadlines.cancel(timer, stream_id)
        self._send_pending()
        self._after(now)

    def _body_timed_out(self, stream: HTTPStream) -> None:
        """The app waited ``request_body_timeout`` for body that never came: 408 if nothing
        was answered yet, else the stream is cancelled; the app sees http.disconnect."""
        if not stream.disconnected:
            self._abandon_request(stream, 408, b"Request Timeout\n")

    def data_to_send(self) -> bytes:
        if self._out:
            out = bytes(self._out + self._h2.data_to_send())
            self._out.clear()
            return out
        return self._h2.data_to_send()

    @property
    def reading_paused(self) -> bool:
        """Never: flow control bounds what a peer may send, and reading must go on for it
        to see WINDOW_UPDATEs, PINGs and resets."""
        return False

    # -- h2 events ----------------------------------------------------------------------------

    def _on_event(self, event: h2.events.Event) -> None:
        kind = type(event)
        if kind is h2.events.DataReceived:
            self._on_data(event)  # type: ignore[arg-type]
        elif kind is h2.events.RequestReceived:
            self._on_request(event.stream_id, event.headers, event.stream_ended)  # type: ignore[attr-defined]
        elif kind is h2.events.StreamEnded:
            self._on_stream_ended(event.stream_id)  # type: ignore[attr-defined]
        elif kind is h2.events.WindowUpdated:
            self._send_pending()
        elif kind is h2.events.StreamReset:
            self._on_reset(event)  # type: ignore[arg-type]
        elif kind in _CONTROL_FRAMES:
            if not self._limits.control_frames.spend(self._now):
                self._goaway(ErrorCodes.ENHANCE_YOUR_CALM)  # PING/SETTINGS flood (CVE-2019-9512)
            elif kind is h2.events.RemoteSettingsChanged:
                self._send_pending()  # the initial window may have grown
        elif kind is h2.events.ConnectionTerminated:
            # The client's GOAWAY: streams in flight finish, then the connection closes.
            self._goaway_received = True
        elif kind is h2.events.TrailersReceived and trailers_problem(event.headers):  # type: ignore[attr-defined]
            # ASGI has no request trailers, but malformed ones make a malformed request.
            self._malformed(event.stream_id)  # type: ignore[attr-defined]

    def _on_request(self, stream_id: int, headers: Headers, ended: Any) -> None:
        if self._goaway_sent or self._goaway_received:
            self._refuse_stream(stream_id)  # RFC 9113 section 6.8: after GOAWAY, not processed
            return
        self._last_stream_id = stream_id
        if len(self._streams) >= self._config.h2_max_concurrent_streams:
            # Reset streams' apps may still run (Rapid Reset): they count until they finish.
            self._refuse_stream(stream_id)
            return
        if request_problem(headers) is not None:
            self._reset(stream_id, ErrorCodes.PROTOCOL_ERROR)  # RFC 9113 section 8.1.1
            return
        method, path, authority, protocol, fields = _request_fields(headers)
        if method == b"CONNECT":
            if protocol == b"websocket" and self._config.ws != "none":
                self._start_websocket(stream_id, path, fields)
            else:
                self._error_response(stream_id, 501, b"CONNECT is not supported\n")
            return
        if TOKEN.fullmatch(method) is None:
            self._reset(stream_id, ErrorCodes.PROTOCOL_ERROR)  # RFC 9110 section 9.1: a token
            return
        if path[:1] != b"/" and not (method == b"OPTIONS" and path == b"*"):
            # RFC 9113 section 8.3.1: origin-form, or "*" for OPTIONS; else malformed.
            self._reset(stream_id, ErrorCodes.PROTOCOL_ERROR)
            return
        content_length = _declared_length(fields)
        if content_length and ended:
            # RFC 9113 section 8.1.1: content-length must match the DATA that came.
            self._reset(stream_id, ErrorCodes.PROTOCOL_ERROR)
            return
        limit = self._config.max_request_body_size
        if limit is not None and content_length is not None and content_length > limit:
            request = (method.decode("latin-1"), path.decode("latin-1"), "HTTP/2")
            self._error_response(stream_id, 413, b"Content Too Large\n", request=request)
            return
        self._start_http(stream_id, method, path, fields, authority, content_length)

    def _start_http(
        self,
        stream_id: int,
        method: bytes,
        target: bytes,
        headers: Headers,
        authority: bytes = b"",
        content_length: int | None = None,
    ) -> HTTPStream:
        stream = HTTPStream(
            stream_id, self, self._events, method=method.decode("ascii"), trailers_allowed=True
        )
        extensions: dict[str, dict[str, Any]] = {
            "http.response.pathsend": {},
            "http.response.trailers": {},
            "http.response.early_hint": {},
        }
        if self._h2.remote_settings.enable_push:
            extensions["http.response.push"] = {}
        scope = self._info.http(
            method=stream.method,
            http_version="2",
            target=target,
            headers=headers,
            extensions=extensions,
        )
        self._streams[stream_id] = H2Stream(
            stream, authority=authority, declared_length=content_length
        )
        self._events.append(StreamStarted(stream_id, scope))
        return stream

    def start_upgraded_request(
        self, method: bytes, target: bytes, headers: Headers, body: bytes
    ) -> None:
        """The request that upgraded the connection (h2c) is stream 1, its body complete."""
        self._last_stream_id = 1
        stream = self._start_http(1, method, target, headers)
        if body:
            self._streams[1].body_size = len(body)
            stream.feed_body(body)
        stream.end_body()
        self._after(self._now)  # stream 1 is active: the connection is not idle

    def _start_websocket(self, stream_id: int, path: bytes, headers: Headers) -> None:
        """RFC 8441 section 5: extended CONNECT carries a WebSocket on this stream."""
        try:
            ws = open_websocket(
                stream_id, self, self._config, self._events, self._info, self._deadlines,
                http_version="2", target=path, headers=headers,
            )  # fmt: skip
        except HandshakeError as exc:
            self._error_response(stream_id, exc.status, str(exc).encode() + b"\n", exc.headers)
            return
        self._streams[stream_id] = H2Stream(websocket=ws)

    def _on_data(self, event: h2.events.DataReceived) -> None:
        stream_id = event.stream_id
        data = event.data
        flow = event.flow_controlled_length
        if stream_id in self._unwanted:
            self._drop_unwanted(stream_id, flow)
            return
        record = self._streams.get(stream_id)
        if record is not None and record.websocket is not None:
            self._on_websocket_data(record, record.websocket, data, flow)
            return
        stream = record.http if record is not None else None
        if stream is None or stream.disconnected or stream.response_complete:
            self._ack(stream_id, flow)  # nobody will read it: the window reopens at once
            return
        assert record is not None
        if not data and not event.stream_ended and not self._limits.control_frames.spend(self._now):
            self._goaway(ErrorCodes.ENHANCE_YOUR_CALM)  # empty DATA flood (CVE-2019-9518)
            return
        record.body_size += len(data)
        limit = self._config.max_request_body_size
        if limit is not None and record.body_size > limit:
            self._ack(stream_id, flow)
            self._abandon_request(stream, 413, b"Content Too Large\n")
            return
        if flow > len(data):
            self._ack(stream_id, flow - len(data))  # padding is never the app's to consume
        if data:
            stream.feed_body(data)
            if stream.receive_pending:
                stream.deliver()
            # Progress: a later wait is anew.
            if self._deadlines.cancel(REQUEST_BODY, stream_id) and record.rate is not None:
                record.rate.not_waiting(self._now)

    def _keep_body_timer(self, record: H2Stream, stream_id: int) -> None:
        """The app waits for body: ``request_body_timeout``, or less when the body is below
        ``min_request_body_rate`` (``timers.MinimumRate``; only waiting time counts)."""
        record.rate, duration = body_wait(record.rate, self._config, self._now, record.body_size)
        self._deadlines.keep(REQUEST_BODY, self._now, stream_id, duration=duration)

    def _drop_unwanted(self, stream_id: int, flow: int) -> None:
        """Body of a request the server answered itself: dropped, its window reopened."""
        self._ack(stream_id, flow)
        left = self._unwanted[stream_id] - flow
        if left < 0:
            self._end_unwanted(stream_id)
            self._reset(stream_id, ErrorCodes.NO_ERROR)  # RFC 9113 section 8.1: stop sending
        else:
            self._unwanted[stream_id] = left
            self._deadlines.start(REQUEST_BODY, self._now, stream_id)

    def _end_unwanted(self, stream_id: int) -> None:
        del self._unwanted[stream_id]
        self._deadlines.cancel(REQUEST_BODY, stream_id)

    def _on_websocket_data(
        self, record: H2Stream, ws: WebSocketStream, data: bytes, flow: int
    ) -> None:
        record.unacked += flow
        if ws.accepted:
            ws.receive_data(data, self._now)
        elif data:
            record.early_data.append(data)
        self._return_ws_window(ws.stream_id, record)

    def _on_stream_ended(self, stream_id: int) -> None:
        if stream_id in self._unwanted:
            self._end_unwanted(stream_id)
        record = self._streams.get(stream_id)
        if record is None:
            return
        stream = record.http
        if stream is not None:
            declared = record.declared_length
            record.declared_length = None
            if declared is not None and declared != record.body_size:
                # RFC 9113 section 8.1.1 (h2 checks only a stream ended by DATA, not trailers).
                self._malformed(stream_id)
                return
            stream.end_body()
            self._deadlines.cancel(REQUEST_BODY, stream_id)
            return
        ws = record.websocket
        if ws is not None:
            # RFC 8441 section 5: END_STREAM is the TCP FIN of the WebSocket.
            ws.connection_lost()
            if ws.accepted:
                self._sender.end_stream(stream_id)
            elif stream_id not in self._sender.queues:
                # No answer began (a denial would have one): the client gave up waiting.
                self._reset(stream_id, ErrorCodes.CANCEL)

    def _on_reset(self, event: h2.events.StreamReset) -> None:
        stream_id = event.stream_id
        if event.remote_reset:
            self._events.append(LimitHit("client_reset"))
        self._sender.drop(stream_id)
        self._deadlines.cancel(REQUEST_BODY, stream_id)
        self._unwanted.pop(stream_id, None)
        record = self._streams.get(stream_id)
        if record is None:
            return
        stream, ws = record.http, record.websocket
        unfinished = (stream is not None and not stream.response_complete) or ws is not None
        if stream is not None:
            stream.disconnect()
        if ws is not None:
            ws.connection_lost()
        # Rapid Reset (CVE-2023-44487) is the client's RST_STREAM; MadeYouReset (CVE-2025-8671)
        # a frame that makes h2 reset the stream (remote_reset False): both spend the budget.
        if unfinished and not self._limits.resets.spend(self._now):
            self._goaway(ErrorCodes.ENHANCE_YOUR_CALM)

    # -- HTTPWire: responses ------------------------------------------------------------------

    def start_response(
        self, stream: HTTPStream, status: int, headers: Headers, flags: int, body: bytes, end: bool
    ) -> None:
        stream_id = stream.stream_id
        if self.closed or stream.disconnected:
            return
        no_body = stream.method == "HEAD" or status in NO_BODY_STATUSES
        fields = _fields(status, headers)
        out = self._sender.queue(stream_id)
        if flags & HAS_CONTENT_LENGTH:
            if not no_body:
                for name, value in headers:
                    if name == b"content-length":
                        out.remaining = int(value)
        elif end and not no_body:
            fields.append((b"content-length", b"%d" % len(body)))
        self._add_server_headers(fields, flags)
        if no_body:
            out.no_body = True
            body = b""
        if self._send_head(stream_id, fields, body, end):
            self._queue(stream, body, end)

    def _send_head(self, stream_id: int, fields: Headers, body: bytes, end: bool) -> bool:
        """A response's HEADERS (ending the stream when nothing follows); whether the body
        is still to be sent."""
        try:
            self._h2.send_headers(stream_id, fields, end_stream=end and not body)
        except h2.exceptions.StreamClosedError:
            self._sender.drop(stream_id)
            return False
        if end and not body:
            self._sender.drop(stream_id)
            return False
        return True

    def send_body(self, stream: HTTPStream, body: bytes, end: bool) -> None:
        if not self.closed and not stream.disconnected:
            out = self._sender.queues.get(stream.stream_id)
            self._queue(stream, b"" if out is not None and out.no_body else body, end)

    def send_trailers(self, stream: HTTPStream, trailers: Headers) -> None:
        if self.closed or stream.disconnected:
            return
        out = self._sender.queue(stream.stream_id)
        self._check_length(stream, out, 0, True)
        out.trailers = _without_connection_fields(trailers)
        self._sender.flush(stream.stream_id, out)

    def abort_response(self, stream: HTTPStream) -> None:
        self._sender.drop(stream.stream_id)
        self._reset(stream.stream_id, ErrorCodes.INTERNAL_ERROR)

    def request_body_wanted(self, stream: HTTPStream) -> None:
        """Nothing to do: an HTTP/2 client sends its body without waiting to be asked."""

    def request_body_consumed(self, stream: HTTPStream, size: int) -> None:
        self._ack(stream.stream_id, size)

    def _queue(self, stream: HTTPStream, body: bytes, end: bool) -> None:
        stream_id = stream.stream_id
        out = self._sender.queue(stream_id)
        self._check_length(stream, out, len(body), end)
        if body:
            out.chunks.append(body)
        out.end = out.end or end
        self._sender.flush(stream_id, out)

    def _check_length(self, stream: HTTPStream, out: Outbound, size: int, end: bool) -> None:
        if out.remaining < 0:
            return
        out.remaining -= size
        if out.remaining < 0 or (end and out.remaining):
            problem = "longer" if out.remaining < 0 else "shorter"
            stream.disconnect()
            self.abort_response(stream)
            raise AppProtocolError(f"the response body is {problem} than its content-length header")

    # -- WebSocketWire: RFC 8441 --------------------------------------------------------------

    def websocket_accepted(self, stream: WebSocketStream, headers: Headers) -> None:
        stream_id = stream.stream_id
        fields = _fields(200, headers)
        self._add_server_headers(fields)
        try:
            self._h2.send_headers(stream_id, fields)
        except h2.exceptions.StreamClosedError:
            return
        self._events.append(ResponseEnded(stream_id, 200, 0))
        record = self._streams.get(stream_id)
        if record is not None:
            early, record.early_data = record.early_data, []
            for data in early:
                stream.receive_data(data, self._now)

    def websocket_denied(
        self, stream: WebSocketStream, status: int, headers: Headers, body: bytes, end: bool
    ) -> None:
        stream_id = stream.stream_id
        if self.closed:
            return
        out = self._sender.queues.get(stream_id)
        if out is None:
            out = self._sender.queue(stream_id)
            fields = _fields(status, headers)
            self._add_server_headers(fields, present_flags(headers))
            if not self._send_head(stream_id, fields, body, end):
                return
        if body:
            out.chunks.append(body)
        out.end = end
        if end:
            self._events.append(ResponseEnded(stream_id, status, len(body)))
        self._sender.flush(stream_id, out)

    def websocket_send(self, stream: WebSocketStream, data: bytes) -> None:
        if self.closed:
            return
        out = self._sender.queue(stream.stream_id)
        if not out.end:
            out.chunks.append(data)
            self._sender.flush(stream.stream_id, out)

    def websocket_closed(self, stream: WebSocketStream) -> None:
        self._events.append(WebSocketClosed(stream.stream_id))
        self._sender.end_stream(stream.stream_id)

    def _return_ws_window(self, stream_id: int, record: H2Stream) -> None:
        """Reopen a WebSocket's window while its app keeps up (``ws_max_queue`` messages)."""
        ws = record.websocket
        unacked = record.unacked
        if unacked and ws is not None and ws.queued < self._config.ws_max_queue:
            record.unacked = 0
            self._ack(stream_id, unacked)

    # -- extensions ---------------------------------------------------------------------------

    def _push(self, stream: HTTPStream, message: Mapping[str, Any]) -> None:
        """ASGI ``http.response.push`` (RFC 9113 section 8.4): promise, then serve, a GET."""
        path = message.get("path")
        if not isinstance(path, str) or not path.startswith("/"):
            raise AppProtocolError(f"'http.response.push' needs a 'path' str starting with '/', "
                                   f"got {path!r}")  # fmt: skip
        headers, _ = check_headers(message.get("headers", ()), "'http.response.push'")
        if stream.disconnected:
            raise ClientDisconnected(f"stream {stream.stream_id}: the client has disconnected")
        if stream.response_state not in (HEAD, BODY):
            raise AppProtocolError(
                "'http.response.push' goes after 'http.response.start' and before the last body"
            )
        if not self._may_push():
            return  # a push is a hint: the client can always ask for the resource itself
        record = self._streams.get(stream.stream_id)
        authority = record.authority if record is not None else b""
        target = quote(path, safe="/%:@!$&'()*+,;=?").encode("ascii")
        request = [(b":method", b"GET"), (b":scheme", self._info.scheme.encode("ascii")),
                   (b":authority", authority), (b":path", target)]  # fmt: skip
        request += _without_connection_fields(headers)
        promised = self._h2.get_next_available_stream_id()
        try:
            self._h2.push_stream(stream.stream_id, promised, request)
        except h2.exceptions.ProtocolError:
            return
        fields = [(b"host", authority), *request[4:]] if authority else request[4:]
        self._start_http(promised, b"GET", target, fields).end_body()

    def _may_push(self) -> bool:
        h2_conn = self._h2
        return not (
            self._goaway_sent
            or self._goaway_received
            or not h2_conn.remote_settings.enable_push
            # RFC 9113 section 5.1.2: the client's limit on streams we open.
            or h2_conn.open_outbound_streams >= h2_conn.remote_settings.max_concurrent_streams
            or len(self._streams) >= self._config.h2_max_concurrent_streams
        )

    def _early_hint(self, stream: HTTPStream, message: Mapping[str, Any]) -> None:
        """ASGI ``http.response.early_hint``: a 103 with Link fields (RFC 8297), before or
        after ``http.response.start`` while the final head waits for the first body (the
        core holds it until then); ignored once that head has gone."""
        links = message.get("links")
        if not isinstance(links, Iterable) or isinstance(links, (str, bytes)):
            raise AppProtocolError("'http.response.early_hint' needs 'links', a list of bytes")
        fields: Headers = [(b":status", b"103")]
        for link in links:
            if type(link) is not bytes:
                raise AppProtocolError(f"early hint links must be bytes, got {link!r}")
            checked, _ = check_headers([(b"link", link)], "'http.response.early_hint'")
            fields += checked
        if stream.disconnected:
            raise ClientDisconnected(f"stream {stream.stream_id}: the client has disconnected")
        if stream.response_begun:
            # ASGI: "after the Response Start message but before the final Response Body
            # message"; once the final head is on the wire a 103 can no longer precede it.
            return
        if not self.closed:
            with contextlib.suppress(h2.exceptions.StreamClosedError):
                self._h2.send_headers(stream.stream_id, fields)

    # -- sending ------------------------------------------------------------------------------

    def _send_pending(self) -> None:
        if not self.closed:
            self._sender.flush_all()

    def _may_return(self, stream_id: int) -> bool:
        return self.closed or self._sender.may_return(stream_id)

    def _ack(self, stream_id: int, size: int) -> None:
        """Return ``size`` consumed bytes to the peer's windows (RFC 9113 section 6.9)."""
        if size and not self.closed:
            self._h2.acknowledge_received_data(size, stream_id)

    def _malformed(self, stream_id: int) -> None:
        """A request found malformed after its app started: the app sees a disconnect."""
        record = self._streams.get(stream_id)
        stream = record.http if record is not None else None
        if stream is not None:
            stream.disconnect()
            self._sender.drop(stream_id)
        self._reset(stream_id, ErrorCodes.PROTOCOL_ERROR)

    def _reset(self, stream_id: int, code: ErrorCodes) -> None:
        reset_stream(self._h2, stream_id, code)

    def _refuse_stream(self, stream_id: int) -> None:
        """REFUSED_STREAM (RFC 9113 section 8.7): not processed, safe to retry; refusals
        count against the reset budget, so a client that keeps being refused is cut off."""
        self._reset(stream_id, ErrorCodes.REFUSED_STREAM)
        self._events.append(LimitHit("refused_stream"))
        if not self._limits.resets.spend(self._now):
            self._goaway(ErrorCodes.ENHANCE_YOUR_CALM)

    def _error_response(
        self,
        stream_id: int,
        status: int,
        body: bytes,
        extra: Headers | None = None,
        request: tuple[str, str, str] | None = None,
    ) -> None:
        """The server's own answer to a request it will not serve (413, 501, handshake errors);
        reported as ``ResponseEnded`` here unless the stream's ``HTTPStream`` already did."""
        fields = [(b":status", b"%d" % status), (b"content-type", b"text/plain; charset=utf-8"),
                  (b"content-length", b"%d" % len(body)), *(extra or ())]  # fmt: skip
        self._add_server_headers(fields)
        try:
            self._h2.send_headers(stream_id, fields)
            self._h2.send_data(stream_id, body, end_stream=True)
        except h2.exceptions.ProtocolError:
            self._reset(stream_id, ErrorCodes.REFUSED_STREAM)
            return
        record = self._streams.get(stream_id)
        if record is None or record.http is None or not record.http.ended:
            self._events.append(ResponseEnded(stream_id, status, len(body), True, True, request))
        stream = self._h2.streams.get(stream_id)
        if stream is not None and not stream.closed:
            # The rest of the body is read and dropped rather than reset at once: clients
            # (curl, httpx) that are still sending fail on a reset instead of reading the answer.
            # At most DISCARD_LIMIT or the body limit, each piece within request_body_timeout.
            limit = self._config.max_request_body_size or 0
            self._unwanted[stream_id] = max(limit, DISCARD_LIMIT)
            self._deadlines.start(REQUEST_BODY, self._now, stream_id)

    def _abandon_request(self, stream: HTTPStream, status: int, body: bytes) -> None:
        """The request body is given up on (413 too large, 408 too slow): that answer if none
        has begun, else RST_STREAM(CANCEL); the app sees http.disconnect."""
        stream_id = stream.stream_id
        begun = stream.response_begun
        if not begun:
            stream.answered(status, len(body))
        stream.disconnect()
        self._sender.drop(stream_id)
        if begun:
            self._reset(stream_id, ErrorCodes.CANCEL)
        else:
            self._error_response(stream_id, status, body)

    # -- the connection -----------------------------------------------------------------------

    def _after(self, now: float) -> None:
        """Re-arm the idle timer; after a GOAWAY, close once the last stream is done."""
        if self.closed:
            return
        active = self._streams or self._sender.queues or self._unwanted
        if self._goaway_sent and not active:
            self._close()
        elif self._goaway_received and not active:
            self._goaway(ErrorCodes.NO_ERROR)  # RFC 9113 section 6.8: GOAWAY before closing
        elif active:
            self._deadlines.cancel(KEEP_ALIVE)
        else:
            self._deadlines.keep(KEEP_ALIVE, now)

    def _h2_failed(self, exc: h2.exceptions.ProtocolError) -> None:
        """h2 found a connection error and queued its GOAWAY."""
        self._out += as_compression_error(self._h2.data_to_send(), exc)
        self._goaway_sent = True
        self._close()

    def _goaway(self, code: ErrorCodes) -> None:
        """End the connection now with GOAWAY(``code``); every stream is disconnected."""
        if self.closed:
            return
        if not self._goaway_sent:
            self._goaway_sent = True
            self._h2.close_connection(error_code=code, last_stream_id=self._last_stream_id)
            if code is ErrorCodes.ENHANCE_YOUR_CALM:
                self._events.append(LimitHit("enhance_your_calm"))
        self._close()

    def _close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._deadlines.clear()
        for record in self._streams.values():
            if record.http is not None:
                record.http.disconnect()
            ws = record.websocket
            if ws is not None:
                ws.connection_lost()
                if ws.accepted:
                    self._events.append(WebSocketClosed(ws.stream_id))
        self._sender.release_all()
        self._events.append(CloseConnection())


def _request_fields(headers: Headers) -> tuple[bytes, bytes, bytes, bytes, Headers]:
    """A request's :method, :path, :authority and :protocol, and its ASGI headers: cookies
    joined into one field (RFC 9113 section 8.2.3) and :authority as the host header."""
    method = path = authority = protocol = b""
    fields: Headers = []
    cookies: list[bytes] = []
    host = -1
    for name, value in headers:
        if name[:1] == b":":
            if name == b":method":
                method = value
            elif name == b":path":
                path = value
            elif name == b":authority":
                authority = value
            elif name == b":protocol":
                protocol = value
        elif name == b"cookie":
            cookies.append(value)
        else:
            if name == b"host":
                host = len(fields)
            fields.append((name, value))
    if cookies:
        fields.append((b"cookie", b"; ".join(cookies)))
    if authority:
        # ASGI HTTP scope: :authority becomes the host header, replacing one sent.
        if host >= 0:
            del fields[host]
        fields.insert(0, (b"host", authority))
    return method, path, authority, protocol, fields


def _declared_length(headers: Headers) -> int | None:
    """The request's content-length (h2 has checked that it is a number)."""
    for name, value in headers:
        if name == b"content-length" and value.isdigit():
            return int(value)
    return None
