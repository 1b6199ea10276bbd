"""HTTP/2 over h2 (RFC 9113): streams, flow control, trailers, push, early hints, RFC 8441.

h2 parses frames, keeps stream states and HPACK; this module maps its events to ASGI streams
(``HTTPStream`` and ``WebSocketStream``, the same rules as over HTTP/1.1) and adds what h2
leaves to its user: flow control paced by the application, limits against abusive peers
(Rapid Reset, CONTINUATION, PING/SETTINGS floods), and a graceful GOAWAY.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
from h2.connection import ConnectionInputs, ConnectionState, H2ConnectionStateMachine
from h2.errors import ErrorCodes
from h2.settings import SettingCodes
from hpack.exceptions import HPACKError, OversizedHeaderListError
from hyperframe.frame import GoAwayFrame

from .asgi import (
    BODY,
    HAS_CONTENT_LENGTH,
    HAS_DATE,
    HAS_SERVER,
    HEAD,
    START,
    TOKEN,
    Headers,
    HTTPStream,
    add_server_headers,
    check_headers,
)
from .config import Config
from .errors import AppProtocolError, ClientDisconnected
from .events import CloseConnection, Event, SendAllowed, StreamStarted
from .httpdate import DateHeader
from .scope import ConnectionInfo
from .websocket import HandshakeError, WebSocketStream, check_handshake

#: The client connection preface (RFC 9113 section 3.4).
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# RFC 9113 section 8.2.2: connection-specific fields are malformed in HTTP/2; an app that sets
# them (as HTTP/1.1 apps do) gets them dropped rather than a reset stream.
_CONNECTION_SPECIFIC = frozenset(
    {b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade"}
)
_NO_BODY_STATUSES = frozenset({204, 304})
#: Budgets refill over this many seconds.
_BUDGET_PERIOD = 10.0


@dataclass(slots=True)
class H2CUpgrade:
    """An HTTP/1.1 request that asked for ``Upgrade: h2c`` (RFC 7540 section 3.2); it becomes
    stream 1 of the HTTP/2 connection."""

    method: bytes
    target: bytes
    headers: Headers
    body: bytes
    settings: bytes
    trailing: bytes


class _H2Connection(h2.connection.H2Connection):
    """h2, except that a client's GOAWAY neither closes the connection nor drops output: the
    client promises no new streams, yet the ones in flight still get their answers (RFC 9113
    section 6.8), frames after it are still read (section 7: whatever its code), and what was
    queued before it (our SETTINGS, ACKs) is still sent."""

    def __init__(self, config: h2.config.H2Configuration) -> None:
        super().__init__(config)
        self.state_machine._transitions = _TRANSITIONS

    def clear_outbound_data_buffer(self) -> None:
        """Called by h2 only on a received GOAWAY; the output stays."""


_TRANSITIONS = {
    **H2ConnectionStateMachine._transitions,
    (ConnectionState.IDLE, ConnectionInputs.RECV_GOAWAY): (None, ConnectionState.IDLE),
    (ConnectionState.SERVER_OPEN, ConnectionInputs.RECV_GOAWAY): (
        None,
        ConnectionState.SERVER_OPEN,
    ),
}


class _Budget:
    """A token bucket: ``size`` tokens, refilled evenly over ``_BUDGET_PERIOD`` seconds."""

    __slots__ = ("_last", "_rate", "_size", "_tokens")

    def __init__(self, size: int, now: float) -> None:
        self._size = float(size)
        self._tokens = float(size)
        self._rate = size / _BUDGET_PERIOD
        self._last = now

    def spend(self, now: float) -> bool:
        """Take one token; ``False`` once the budget is exhausted."""
        self._tokens = min(self._size, self._tokens + (now - self._last) * self._rate) - 1
        self._last = now
        return self._tokens >= 0


class _Outbound:
    """What one stream still has to send; ``app_waits`` means a ``send()`` waits on it."""

    __slots__ = ("app_waits", "chunks", "end", "offset", "remaining", "stop_request", "trailers")

    def __init__(self) -> None:
        self.chunks: deque[bytes] = deque()
        self.offset = 0  # bytes of chunks[0] already sent
        self.end = False
        self.trailers: Headers | None = None
        self.app_waits = False
        self.remaining = -1  # bytes the response's content-length still promises; -1: none
        self.stop_request = False  # once the response is out, RST_STREAM(NO_ERROR)


class HTTP2Connection:
    """The HTTP/2 protocol of one connection, behind ``ServerConnection``."""

    def __init__(
        self,
        config: Config,
        events: deque[Event],
        info: ConnectionInfo,
        *,
        date: DateHeader | None,
        now: float,
        upgrade: H2CUpgrade | None = None,
        output: bytes = b"",
    ) -> None:
        self._config = config
        self._events = events
        self._info = info
        self._date = date if config.date_header else None  # None: no Date header
        self._server_header = config.server_header_bytes
        self._now = now
        self._out = bytearray(output)
        #: HTTP streams and WebSockets whose application has not finished.
        self._http: dict[int, HTTPStream] = {}
        self._websockets: dict[int, WebSocketStream] = {}
        self._outbound: dict[int, _Outbound] = {}
        self._no_body: set[int] = set()  # responses to HEAD, 204 and 304: body dropped
        self._early_data: dict[int, list[bytes]] = {}  # WebSocket frames before the accept
        self._unacked: dict[int, int] = {}  # WebSocket bytes not yet returned to the window
        self._body_size: dict[int, int] = {}
        self._authority: dict[int, bytes] = {}  # each request's :authority, for its pushes
        self._resets = _Budget(config.h2_reset_budget, now)
        self._control_frames = _Budget(config.h2_control_frame_budget, now)
        self._goaway_sent = False
        self._goaway_received = False  # the client will open no more streams
        self._settings_seen = False  # RFC 9113 section 3.4: the preface ends with SETTINGS
        self._declared_length: dict[int, int] = {}  # request content-length, checked at end
        #: Streams whose app waits for body: when the wait times out (request_body_timeout).
        self._body_due: dict[int, float] = {}
        self._last_stream_id = 0
        self.closed = False
        self._idle_deadline: float | None = now + config.keep_alive_timeout

        # Outbound fields are checked by check_headers (and pseudo-fields are ours): h2 need
        # not check them again, which is a tenth of the time of a small request.
        h2_conn = _H2Connection(
            h2.config.H2Configuration(
                client_side=False,
                header_encoding=None,
                validate_outbound_headers=False,
                normalize_outbound_headers=False,
            )
        )
        settings = {
            SettingCodes.MAX_CONCURRENT_STREAMS: config.h2_max_concurrent_streams,
            SettingCodes.MAX_HEADER_LIST_SIZE: config.h2_max_header_list_size,
            SettingCodes.HEADER_TABLE_SIZE: config.h2_max_header_table_size,
            SettingCodes.INITIAL_WINDOW_SIZE: int(config.max_buffered_body_size),
            SettingCodes.ENABLE_CONNECT_PROTOCOL: 1,  # RFC 8441 section 3
        }
        h2_conn.local_settings = h2.settings.Settings(client=False, initial_values=settings)
        h2_conn.decoder.max_header_list_size = config.h2_max_header_list_size
        h2_conn.decoder.max_allowed_table_size = config.h2_max_header_table_size
        self._h2 = h2_conn
        if upgrade is None:
            h2_conn.initiate_connection()
        else:
            h2_conn.initiate_upgrade_connection(upgrade.settings)
        extra = config.h2_connection_window_size - 65535
        if extra > 0:
            h2_conn.increment_flow_control_window(extra)
        if upgrade is not None:
            self._start_upgraded(upgrade)
            if upgrade.trailing:
                self.receive_data(upgrade.trailing, now)

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
        self._check_header_block()
        self._after(now)

    def connection_lost(self, now: float) -> None:
        self._now = now
        if not self.closed:
            self._close()

    def app_receive(self, stream_id: int, now: float) -> None:
        self._now = now
        ws = self._websockets.get(stream_id)
        if ws is not None:
            ws.app_receive()
            self._return_ws_window(stream_id, ws)
            return
        stream = self._http.get(stream_id)
        if stream is None:
            raise AppProtocolError(f"receive() on stream {stream_id}, which has ended")
        stream.app_receive()
        if stream.waiting_for_body and stream_id not in self._body_due:
            self._body_due[stream_id] = now + self._config.request_body_timeout

    def app_send(self, stream_id: int, message: Any, now: float) -> bool:
        self._now = now
        ws = self._websockets.get(stream_id)
        if ws is not None:
            try:
                ws.app_send(message, now)
            finally:
                self._send_pending()
            return self._may_return(stream_id)
        stream = self._http.get(stream_id)
        if stream is None:
            raise AppProtocolError(f"send() on stream {stream_id}, which has ended")
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

    def app_finished(self, stream_id: int, error: BaseException | None, now: float) -> None:
        self._now = now
        ws = self._websockets.pop(stream_id, None)
        if ws is not None:
            ws.finish(error)
        else:
            stream = self._http.pop(stream_id, None)
            if stream is None:
                return
            stream.finish()
            if not stream.body_complete and not stream.disconnected and not self.closed:
                # RFC 9113 section 8.1: once the response is out, the client may stop sending.
                out = self._outbound.get(stream_id)
                if out is None:
                    self._reset(stream_id, ErrorCodes.NO_ERROR)
                else:
                    out.stop_request = True
        self._early_data.pop(stream_id, None)
        self._unacked.pop(stream_id, None)
        self._body_size.pop(stream_id, None)
        self._authority.pop(stream_id, None)
        self._declared_length.pop(stream_id, None)
        self._body_due.pop(stream_id, None)
        self._send_pending()
        self._after(now)

    def start_shutdown(self, now: float) -> None:
        self._now = now
        if self.closed or self._goaway_sent:
            return
        self._goaway_sent = True
        # Written by hand: h2 refuses to send anything after its own GOAWAY, and in-flight
        # streams must still finish (RFC 9113 section 6.8).
        goaway = GoAwayFrame(0)
        goaway.last_stream_id = self._last_stream_id
        goaway.error_code = ErrorCodes.NO_ERROR
        self._out += self._h2.data_to_send()
        self._out += goaway.serialize()
        for ws in list(self._websockets.values()):
            ws.close(1001, "server shutting down")
        self._send_pending()
        self._after(now)

    def handle_timeout(self, now: float) -> None:
        self._now = now
        if self.closed:
            return
        idle = self._idle_deadline
        if idle is not None and now >= idle:
            self._goaway(ErrorCodes.NO_ERROR)
            return
        for stream_id, body_due in list(self._body_due.items()):
            if now >= body_due:
                self._body_timed_out(stream_id)
        for ws in list(self._websockets.values()):
            due = ws.deadline
            if due is not None and now >= due:
                ws.handle_timeout(now)
        self._send_pending()
        self._after(now)

    def _body_timed_out(self, stream_id: int) -> None:
        """The app waited ``request_body_timeout`` for body that never came: 408 if nothing
        was answered yet, else the stream is cancelled; the app sees http.disconnect."""
        del self._body_due[stream_id]
        stream = self._http.get(stream_id)
        if stream is not None and not stream.disconnected:
            self._refuse_body(stream, 408, b"Request Timeout\n")

    def data_to_send(self) -> bytes:
        if self._out:
            out = bytes(self._out + self._h2.data_to_send())
            self._out.clear()
            return out
        return self._h2.data_to_send()

    @property
    def deadline(self) -> float | None:
        if self.closed:
            return None
        due = self._idle_deadline
        if self._body_due:
            body_due = min(self._body_due.values())
            if due is None or body_due < due:
                due = body_due
        for ws in self._websockets.values():
            ws_due = ws.deadline
            if ws_due is not None and (due is None or ws_due < due):
                due = ws_due
        return due

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
        elif kind in (
            h2.events.PingReceived,
            h2.events.RemoteSettingsChanged,
            h2.events.PriorityUpdated,
            h2.events.UnknownFrameReceived,
        ):
            if not self._control_frames.spend(self._now):
                self._goaway(ErrorCodes.ENHANCE_YOUR_CALM)  # PING/SETTINGS flood (CVE-2019-9512)
            elif kind is h2.events.RemoteSettingsChanged:
                self._send_pending()  # the initial window may have grown
        elif kind is h2.events.ConnectionTerminated:
            # The client's GOAWAY: streams in flight finish, then the connection closes.
            self._goaway_received = True
        elif kind is h2.events.TrailersReceived:
            pass  # ASGI has no request trailers; StreamEnded follows

    def _on_request(self, stream_id: int, headers: Headers, ended: Any) -> None:
        if self._goaway_sent or self._goaway_received:
            self._refuse(stream_id)  # RFC 9113 section 6.8: after GOAWAY, not processed
            return
        self._last_stream_id = stream_id
        if len(self._http) + len(self._websockets) >= self._config.h2_max_concurrent_streams:
            # Reset streams' apps may still run (Rapid Reset): they count until they finish.
            self._refuse(stream_id)
            return
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
                cookies.append(value)  # RFC 9113 section 8.2.3: joined into one field
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
        if method == b"CONNECT":
            if protocol == b"websocket":
                self._start_websocket(stream_id, path, fields)
            else:
                self._answer(stream_id, 501, b"CONNECT is not supported\n")
            return
        if TOKEN.fullmatch(method) is None:
            self._reset(stream_id, ErrorCodes.PROTOCOL_ERROR)  # RFC 9110 section 9.1: a token
            return
        if path[:1] != b"/" and not (method == b"OPTIONS" and path == b"*"):
            # RFC 9113 section 8.3.1: origin-form, or "*" for OPTIONS; else malformed.
            self._reset(stream_id, ErrorCodes.PROTOCOL_ERROR)
            return
        if authority:
            self._authority[stream_id] = authority
        content_length = _declared_length(fields)
        if content_length is not None:
            if ended and content_length:
                # RFC 9113 section 8.1.1: content-length must match the DATA that came.
                self._reset(stream_id, ErrorCodes.PROTOCOL_ERROR)
                return
            self._declared_length[stream_id] = content_length
        limit = self._config.max_request_body_size
        if limit is not None and content_length is not None and content_length > limit:
            self._answer(stream_id, 413, b"Content Too Large\n")
            return
        self._start_http(stream_id, method, path, fields)

    def _start_http(self, stream_id: int, method: bytes, target: bytes, headers: Headers) -> None:
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
        self._http[stream_id] = stream
        self._body_size[stream_id] = 0
        self._events.append(StreamStarted(stream_id, scope))

    def _start_upgraded(self, upgrade: H2CUpgrade) -> None:
        headers = [
            (name, value)
            for name, value in upgrade.headers
            if name not in (b"connection", b"upgrade", b"http2-settings")
        ]
        self._last_stream_id = 1
        self._start_http(1, upgrade.method, upgrade.target, headers)
        stream = self._http[1]
        if upgrade.body:
            self._body_size[1] = len(upgrade.body)
            stream.feed_body(upgrade.body)
        stream.end_body()

    def _start_websocket(self, stream_id: int, path: bytes, headers: Headers) -> None:
        """RFC 8441 section 5: extended CONNECT carries a WebSocket on this stream."""
        try:
            _, subprotocols, offers = check_handshake(headers, key_required=False)
        except HandshakeError as exc:
            self._answer(stream_id, exc.status, str(exc).encode() + b"\n", exc.headers)
            return
        ws = WebSocketStream(
            stream_id,
            self,
            self._events,
            self._config,
            key=None,
            subprotocols=subprotocols,
            extension_offers=offers,
        )
        scope = self._info.websocket(
            http_version="2",
            target=path,
            headers=headers,
            subprotocols=subprotocols,
            extensions={"websocket.http.response": {}},
        )
        self._websockets[stream_id] = ws
        self._events.append(StreamStarted(stream_id, scope))

    def _on_data(self, event: h2.events.DataReceived) -> None:
        stream_id = event.stream_id
        data = event.data
        flow = event.flow_controlled_length
        ws = self._websockets.get(stream_id)
        if ws is not None:
            self._unacked[stream_id] = self._unacked.get(stream_id, 0) + flow
            if ws.accepted:
                ws.receive_data(data, self._now)
            elif data:
                self._early_data.setdefault(stream_id, []).append(data)
            self._return_ws_window(stream_id, ws)
            return
        stream = self._http.get(stream_id)
        if stream is None or stream.disconnected or stream.response_complete:
            self._ack(stream_id, flow)  # nobody will read it: the window reopens at once
            return
        if not data and not event.stream_ended and not self._control_frames.spend(self._now):
            self._goaway(ErrorCodes.ENHANCE_YOUR_CALM)  # empty DATA flood (CVE-2019-9518)
            return
        size = self._body_size[stream_id] + len(data)
        self._body_size[stream_id] = size
        limit = self._config.max_request_body_size
        if limit is not None and size > limit:
            self._ack(stream_id, flow)
            self._refuse_body(stream, 413, b"Content Too Large\n")
            return
        if flow > len(data):
            self._ack(stream_id, flow - len(data))  # padding is never the app's to consume
        if data:
            stream.feed_body(data)
            if stream.receive_pending:
                stream.deliver()
            self._body_due.pop(stream_id, None)  # progress: a later wait starts afresh

    def _on_stream_ended(self, stream_id: int) -> None:
        stream = self._http.get(stream_id)
        if stream is not None:
            declared = self._declared_length.pop(stream_id, None)
            if declared is not None and declared != self._body_size.get(stream_id, 0):
                # RFC 9113 section 8.1.1 (h2 checks only a stream ended by DATA, not trailers).
                stream.disconnect()
                self._drop_outbound(stream_id)
                self._reset(stream_id, ErrorCodes.PROTOCOL_ERROR)
                return
            stream.end_body()
            self._body_due.pop(stream_id, None)
            return
        ws = self._websockets.get(stream_id)
        if ws is not None:
            # RFC 8441 section 5: END_STREAM is the TCP FIN of the WebSocket.
            ws.connection_lost()
            if ws.accepted:
                self._end_stream(stream_id)
            elif stream_id not in self._outbound:
                # No answer began (a denial would have one): the client gave up waiting.
                self._reset(stream_id, ErrorCodes.CANCEL)

    def _on_reset(self, event: h2.events.StreamReset) -> None:
        stream_id = event.stream_id
        self._drop_outbound(stream_id)
        self._body_due.pop(stream_id, None)
        stream = self._http.get(stream_id)
        ws = self._websockets.get(stream_id)
        unfinished = (stream is not None and not stream.response_complete) or ws is not None
        if stream is not None:
            stream.disconnect()
        if ws is not None:
            ws.connection_lost()
        # Rapid Reset (CVE-2023-44487) is the client's RST_STREAM; MadeYouReset (CVE-2025-8671)
        # a frame that makes h2 reset the stream (remote_reset False): both spend the budget.
        if unfinished and not self._resets.spend(self._now):
            self._goaway(ErrorCodes.ENHANCE_YOUR_CALM)

    def _check_header_block(self) -> None:
        """CONTINUATION flood (CVE-2024-27316): h2 buffers up to 64 frames of a header block;
        a block larger than the header list it may carry ends the connection sooner."""
        frames = getattr(self._h2.incoming_buffer, "_headers_buffer", ())
        if frames and sum(len(frame.data) for frame in frames) > (
            self._config.h2_max_header_list_size
        ):
            self._goaway(ErrorCodes.ENHANCE_YOUR_CALM)

    # -- HTTPWire: responses ------------------------------------------------------------------

    def start_response(
        self, stream: HTTPStream, status: int, headers: Headers, flags: int, body: bytes, end: bool
    ) -> None:
        stream_id = stream.stream_id
        if self.closed or stream.disconnected:
            return
        no_body = stream.method == "HEAD" or status in _NO_BODY_STATUSES
        fields = [(b":status", b"%d" % status)]
        fields += [pair for pair in headers if pair[0] not in _CONNECTION_SPECIFIC]
        out = self._outbound.setdefault(stream_id, _Outbound())
        if flags & HAS_CONTENT_LENGTH:
            if not no_body:
                for name, value in headers:
                    if name == b"content-length":
                        out.remaining = int(value)
        elif end and not no_body:
            fields.append((b"content-length", b"%d" % len(body)))
        add_server_headers(fields, flags, self._server_header, self._date)
        if no_body:
            self._no_body.add(stream_id)
            body = b""
        if self._send_head(stream_id, fields, body, end):
            self._queue(stream, body, end)

    def _send_head(self, stream_id: int, fields: Headers, body: bytes, end: bool) -> bool:
        """A response's HEADERS (ending the stream when nothing follows); whether the body
        is still to be sent."""
        try:
            self._h2.send_headers(stream_id, fields, end_stream=end and not body)
        except h2.exceptions.StreamClosedError:
            self._drop_outbound(stream_id)
            return False
        if end and not body:
            self._drop_outbound(stream_id)
            return False
        return True

    def send_body(self, stream: HTTPStream, body: bytes, end: bool) -> None:
        if not self.closed and not stream.disconnected:
            self._queue(stream, b"" if stream.stream_id in self._no_body else body, end)

    def send_trailers(self, stream: HTTPStream, trailers: Headers) -> None:
        if self.closed or stream.disconnected:
            return
        out = self._outbound.setdefault(stream.stream_id, _Outbound())
        self._check_length(stream, out, 0, True)
        out.trailers = [pair for pair in trailers if pair[0] not in _CONNECTION_SPECIFIC]
        self._flush(stream.stream_id, out)

    def abort_response(self, stream: HTTPStream) -> None:
        self._drop_outbound(stream.stream_id)
        self._reset(stream.stream_id, ErrorCodes.INTERNAL_ERROR)

    def request_body_wanted(self, stream: HTTPStream) -> None:
        """Nothing to do: an HTTP/2 client sends its body without waiting to be asked."""

    def request_body_consumed(self, stream: HTTPStream, size: int) -> None:
        self._ack(stream.stream_id, size)

    def _queue(self, stream: HTTPStream, body: bytes, end: bool) -> None:
        stream_id = stream.stream_id
        out = self._outbound.setdefault(stream_id, _Outbound())
        self._check_length(stream, out, len(body), end)
        if body:
            out.chunks.append(body)
        out.end = out.end or end
        self._flush(stream_id, out)

    def _check_length(self, stream: HTTPStream, out: _Outbound, size: int, end: bool) -> None:
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
        fields = [(b":status", b"200")]
        fields += [pair for pair in headers if pair[0] not in _CONNECTION_SPECIFIC]
        add_server_headers(fields, 0, self._server_header, self._date)
        try:
            self._h2.send_headers(stream_id, fields)
        except h2.exceptions.StreamClosedError:
            return
        for data in self._early_data.pop(stream_id, ()):
            stream.receive_data(data, self._now)

    def websocket_rejected(
        self, stream: WebSocketStream, status: int, headers: Headers, body: bytes, end: bool
    ) -> None:
        stream_id = stream.stream_id
        if self.closed:
            return
        out = self._outbound.get(stream_id)
        if out is None:
            out = self._outbound[stream_id] = _Outbound()
            fields = [(b":status", b"%d" % status)]
            fields += [pair for pair in headers if pair[0] not in _CONNECTION_SPECIFIC]
            present = HAS_SERVER if any(n == b"server" for n, _ in headers) else 0
            present |= HAS_DATE if any(n == b"date" for n, _ in headers) else 0
            add_server_headers(fields, present, self._server_header, self._date)
            if not self._send_head(stream_id, fields, body, end):
                return
        if body:
            out.chunks.append(body)
        out.end = end
        self._flush(stream_id, out)

    def websocket_send(self, stream: WebSocketStream, data: bytes) -> None:
        if self.closed:
            return
        out = self._outbound.setdefault(stream.stream_id, _Outbound())
        if not out.end:
            out.chunks.append(data)
            self._flush(stream.stream_id, out)

    def websocket_closed(self, stream: WebSocketStream) -> None:
        self._end_stream(stream.stream_id)

    def _return_ws_window(self, stream_id: int, ws: WebSocketStream) -> None:
        """Reopen a WebSocket's window while its app keeps up (``ws_max_queue`` messages)."""
        unacked = self._unacked.get(stream_id, 0)
        if unacked and ws.queued < self._config.ws_max_queue:
            self._unacked[stream_id] = 0
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
        h2_conn = self._h2
        if (
            self._goaway_sent
            or self._goaway_received
            or not h2_conn.remote_settings.enable_push
            # RFC 9113 section 5.1.2: the client's limit on streams we open.
            or h2_conn.open_outbound_streams >= h2_conn.remote_settings.max_concurrent_streams
            or len(self._http) + len(self._websockets) >= self._config.h2_max_concurrent_streams
        ):
            return  # a push is a hint: the client can always ask for the resource itself
        authority = self._authority.get(stream.stream_id, b"")
        target = quote(path, safe="/%:@!$&'()*+,;=?").encode("ascii")
        request = [(b":method", b"GET"), (b":scheme", self._info.scheme.encode("ascii")),
                   (b":authority", authority), (b":path", target)]  # fmt: skip
        request += [pair for pair in headers if pair[0] not in _CONNECTION_SPECIFIC]
        promised = self._h2.get_next_available_stream_id()
        try:
            self._h2.push_stream(stream.stream_id, promised, request)
        except h2.exceptions.ProtocolError:
            return
        fields = [(b"host", authority), *request[4:]] if authority else request[4:]
        self._start_http(promised, b"GET", target, fields)
        self._http[promised].end_body()

    def _early_hint(self, stream: HTTPStream, message: Mapping[str, Any]) -> None:
        """ASGI ``http.response.early_hint``: a 103 with Link fields (RFC 8297)."""
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
        if stream.response_state != START:
            raise AppProtocolError("'http.response.early_hint' goes before 'http.response.start'")
        if not self.closed:
            with contextlib.suppress(h2.exceptions.StreamClosedError):
                self._h2.send_headers(stream.stream_id, fields)

    # -- sending ------------------------------------------------------------------------------

    def _flush(self, stream_id: int, out: _Outbound) -> None:
        """Send as much of a stream's queue as the flow-control windows allow."""
        h2_conn = self._h2
        try:
            while out.chunks:
                window = h2_conn.local_flow_control_window(stream_id)
                if window <= 0:
                    return
                chunk = out.chunks[0]
                offset = out.offset
                size = min(window, h2_conn.max_outbound_frame_size, len(chunk) - offset)
                piece = chunk[offset : offset + size] if offset or size < len(chunk) else chunk
                offset += size
                if offset == len(chunk):
                    out.chunks.popleft()
                    offset = 0
                out.offset = offset
                last = not out.chunks and out.end and out.trailers is None
                h2_conn.send_data(stream_id, piece, end_stream=last)
                if last:
                    self._stream_sent(stream_id, out)
                    return
            if out.trailers is not None:
                h2_conn.send_headers(stream_id, out.trailers, end_stream=True)
                self._stream_sent(stream_id, out)
            elif out.end:
                h2_conn.end_stream(stream_id)
                self._stream_sent(stream_id, out)
            elif out.app_waits:
                out.app_waits = False
                self._events.append(SendAllowed(stream_id))
        except h2.exceptions.StreamClosedError:
            self._drop_outbound(stream_id)

    def _stream_sent(self, stream_id: int, out: _Outbound) -> None:
        del self._outbound[stream_id]
        self._no_body.discard(stream_id)
        if out.stop_request:
            self._reset(stream_id, ErrorCodes.NO_ERROR)
        if out.app_waits:
            self._events.append(SendAllowed(stream_id))

    def _send_pending(self) -> None:
        """After a window opened: every blocked stream sends what it now can."""
        if self.closed:
            return
        for stream_id, out in list(self._outbound.items()):
            if out.chunks or out.end or out.trailers is not None:
                self._flush(stream_id, out)

    def _may_return(self, stream_id: int) -> bool:
        """``send()`` returns once its data is in h2's hands (not held for flow control)."""
        out = self._outbound.get(stream_id)
        if out is None or not out.chunks or self.closed:
            return True
        out.app_waits = True
        return False

    def _drop_outbound(self, stream_id: int) -> None:
        out = self._outbound.pop(stream_id, None)
        self._no_body.discard(stream_id)
        if out is not None and out.app_waits:
            self._events.append(SendAllowed(stream_id))

    def _end_stream(self, stream_id: int) -> None:
        out = self._outbound.setdefault(stream_id, _Outbound())
        out.end = True
        self._flush(stream_id, out)

    def _ack(self, stream_id: int, size: int) -> None:
        """Return ``size`` consumed bytes to the peer's windows (RFC 9113 section 6.9)."""
        if size and not self.closed:
            self._h2.acknowledge_received_data(size, stream_id)

    def _reset(self, stream_id: int, code: ErrorCodes) -> None:
        with contextlib.suppress(h2.exceptions.StreamClosedError):
            self._h2.reset_stream(stream_id, code)

    def _refuse(self, stream_id: int) -> None:
        """REFUSED_STREAM (RFC 9113 section 8.7): not processed, safe to retry; refusals
        count against the reset budget, so a client that keeps being refused is cut off."""
        self._reset(stream_id, ErrorCodes.REFUSED_STREAM)
        if not self._resets.spend(self._now):
            self._goaway(ErrorCodes.ENHANCE_YOUR_CALM)

    def _answer(
        self, stream_id: int, status: int, body: bytes, extra: Headers | None = None
    ) -> None:
        """A response the server gives by itself (413, 501, handshake errors)."""
        fields = [(b":status", b"%d" % status), (b"content-type", b"text/plain; charset=utf-8"),
                  (b"content-length", b"%d" % len(body)), *(extra or ())]  # fmt: skip
        add_server_headers(fields, 0, self._server_header, self._date)
        try:
            self._h2.send_headers(stream_id, fields)
            self._h2.send_data(stream_id, body, end_stream=True)
        except h2.exceptions.ProtocolError:
            self._reset(stream_id, ErrorCodes.REFUSED_STREAM)
            return
        stream = self._h2.streams.get(stream_id)
        if stream is not None and not stream.closed:
            self._reset(stream_id, ErrorCodes.NO_ERROR)  # the request body is not wanted

    def _refuse_body(self, stream: HTTPStream, status: int, body: bytes) -> None:
        """The request body is refused (413 too large, 408 too slow): that answer if none has
        begun, else RST_STREAM(CANCEL); the app sees http.disconnect."""
        stream_id = stream.stream_id
        started = stream.response_state not in (START, HEAD)
        stream.disconnect()
        self._drop_outbound(stream_id)
        if started:
            self._reset(stream_id, ErrorCodes.CANCEL)
        else:
            self._answer(stream_id, status, body)

    # -- the connection -----------------------------------------------------------------------

    def _after(self, now: float) -> None:
        """Re-arm the idle timer; after a GOAWAY, close once the last stream is done."""
        if self.closed:
            return
        active = self._http or self._websockets or self._outbound
        if self._goaway_sent and not active:
            self._close()
        elif self._goaway_received and not active:
            self._goaway(ErrorCodes.NO_ERROR)  # RFC 9113 section 6.8: GOAWAY before closing
        elif active:
            self._idle_deadline = None
        elif self._idle_deadline is None:
            self._idle_deadline = now + self._config.keep_alive_timeout

    def _h2_failed(self, exc: h2.exceptions.ProtocolError) -> None:
        """h2 found a connection error and queued its GOAWAY; an HPACK failure is a
        COMPRESSION_ERROR (RFC 9113 section 4.3), which h2 reports as PROTOCOL_ERROR."""
        out = self._h2.data_to_send()
        cause = exc.__cause__
        if (
            isinstance(cause, HPACKError)
            and not isinstance(cause, OversizedHeaderListError)
            and len(out) >= 17
            and out[-14] == 0x7  # the last frame is h2's GOAWAY, with no debug data
        ):
            out = out[:-4] + int(ErrorCodes.COMPRESSION_ERROR).to_bytes(4, "big")
        self._out += out
        self._goaway_sent = True
        self._close()

    def _goaway(self, code: ErrorCodes) -> None:
        """End the connection now with GOAWAY(``code``); every stream is disconnected."""
        if self.closed:
            return
        if not self._goaway_sent:
            self._goaway_sent = True
            self._h2.close_connection(error_code=code, last_stream_id=self._last_stream_id)
        self._close()

    def _close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._idle_deadline = None
        for stream in self._http.values():
            stream.disconnect()
        for ws in self._websockets.values():
            ws.connection_lost()
        for stream_id, out in self._outbound.items():
            if out.app_waits:
                self._events.append(SendAllowed(stream_id))
        self._outbound.clear()
        self._events.append(CloseConnection())


def _declared_length(headers: Headers) -> int | None:
    """The request's content-length (h2 has checked that it is a number)."""
    for name, value in headers:
        if name == b"content-length" and value.isdigit():
            return int(value)
    return None
