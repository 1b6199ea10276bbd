"""The ASGI websocket rules for one stream, over wsproto's frame protocol (RFC 6455, RFC 7692).

``WebSocketStream`` owns the handshake decision (the app's accept, close or denial response),
the frames both ways, fragment reassembly, limits, keepalive pings and the close handshake. Its
protocol (the HTTP/1.1 Upgrade, or RFC 8441 over HTTP/2) only carries bytes and the handshake
response, through the small ``WebSocketWire`` interface.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections import deque
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any, Protocol

from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import BytesMessage, Ping, Pong, TextMessage
from wsproto.events import CloseConnection as CloseFrame
from wsproto.extensions import Extension, PerMessageDeflate
from wsproto.handshake import server_extensions_handshake
from wsproto.utilities import LocalProtocolError, generate_accept_token

from .budget import Budget
from .config import Config
from .errors import AppProtocolError, ClientDisconnected
from .events import AppReceive, Event, StreamStarted
from .headers import TOKEN, Headers, check_headers, check_status
from .scope import ConnectionInfo
from .timers import Deadlines, Timer
from .websocket_frames import RAW, FrameSplitter, message_frame

# Close codes (RFC 6455 section 7.4.1, and the IANA registry of section 11.7 for 1012).
NORMAL = 1000
GOING_AWAY = 1001
POLICY_VIOLATION = 1008
SERVICE_RESTART = 1012
#: Bytes of a message that earn it one more fragment over ``Config.ws_max_fragments``.
BYTES_PER_FRAGMENT = 64
NO_STATUS = 1005
ABNORMAL = 1006
MESSAGE_TOO_BIG = 1009
INTERNAL_ERROR = 1011


class WebSocketWire(Protocol):
    """What a protocol does for a ``WebSocketStream``."""

    def websocket_accepted(self, stream: WebSocketStream, headers: Headers) -> None:
        """Send the handshake's success response (HTTP/1.1: 101) with these extra headers."""

    def websocket_denied(
        self, stream: WebSocketStream, status: int, headers: Headers, body: bytes, end: bool
    ) -> None:
        """Send an HTTP response instead of the handshake (403, 500, or the app's denial)."""

    def websocket_send(self, stream: WebSocketStream, data: bytes) -> None:
        """Frames to write."""

    def websocket_closed(self, stream: WebSocketStream) -> None:
        """The WebSocket is over: close the transport (HTTP/1.1) or end the stream."""


class HandshakeError(Exception):
    """A request that asks for a WebSocket but cannot have one; carries the HTTP answer."""

    def __init__(self, status: int, reason: str, headers: Headers | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.headers = headers or []


def check_handshake(
    headers: Headers, *, key_required: bool = True
) -> tuple[bytes, list[str], list[str]]:
    """The key, subprotocols and extension offers of an RFC 6455 section 4.2.1 handshake.

    Over HTTP/2 (RFC 8441 section 5) there is no key: ``key_required`` is False.
    """
    key = b""
    version = b""
    subprotocols: list[str] = []
    extensions: list[str] = []
    for name, value in headers:
        if name == b"sec-websocket-key":
            key = value.strip()
        elif name == b"sec-websocket-version":
            version = value.strip()
        elif name == b"sec-websocket-protocol":
            # RFC 6455 section 4.1: each subprotocol is a token; others are not offered.
            offered = [p.strip() for p in value.split(b",")]
            subprotocols += [p.decode("ascii") for p in offered if TOKEN.fullmatch(p)]
        elif name == b"sec-websocket-extensions":
            extensions += [e.strip() for e in value.decode("latin-1").split(",") if e.strip()]
    if version != b"13":
        # RFC 6455 section 4.4: answer with the versions this server speaks.
        raise HandshakeError(426, "unsupported WebSocket version",
                             [(b"sec-websocket-version", b"13")])  # fmt: skip
    if not key_required:
        return key, subprotocols, extensions
    try:
        if len(base64.b64decode(key, validate=True)) != 16:
            raise ValueError
    except (binascii.Error, ValueError):
        raise HandshakeError(400, "Sec-WebSocket-Key must be 16 bytes in base64") from None
    return key, subprotocols, extensions


class WebSocketState(Enum):
    """Where a WebSocket is, as the application and the peer move it on."""

    # Members are singletons compared by identity: hash them so too, in C (Enum's own
    # __hash__ is Python code, and these are dict keys on every request).
    __hash__ = object.__hash__

    #: ``websocket.connect`` delivered or due; waiting for accept, close or a denial.
    CONNECTING = 0
    #: The application is sending a denial response (the websocket.http.response extension).
    DENYING = 1
    #: Accepted: messages flow both ways.
    OPEN = 2
    #: We sent a close frame and wait for the peer's.
    CLOSING = 3
    #: Over: the app gets (or got) ``websocket.disconnect``.
    CLOSED = 4


_CONNECTING, _DENYING, _OPEN, _CLOSING, _CLOSED = WebSocketState
WS_PING, WS_PONG, WS_CLOSE = Timer.WS_PING, Timer.WS_PONG, Timer.WS_CLOSE


def open_websocket(
    stream_id: int,
    wire: WebSocketWire,
    config: Config,
    events: list[Event],
    info: ConnectionInfo,
    deadlines: Deadlines,
    *,
    http_version: str,
    target: bytes,
    headers: Headers,
) -> WebSocketStream:
    """A handshake request becomes a WebSocket whose app is started (``StreamStarted``).

    Over HTTP/2 (``http_version`` "2", RFC 8441) there is no key. Raises ``HandshakeError``.
    """
    key, subprotocols, offers = check_handshake(headers, key_required=http_version != "2")
    ws = WebSocketStream(stream_id, wire, events, config, deadlines,
                         key=key if http_version != "2" else None,
                         subprotocols=subprotocols, extension_offers=offers)  # fmt: skip
    scope = info.websocket(
        http_version=http_version,
        target=target,
        headers=headers,
        subprotocols=subprotocols,
        extensions={"websocket.http.response": {}},
    )
    events.append(StreamStarted(stream_id, scope))
    return ws


class WebSocketStream:
    """One WebSocket as the application sees it."""

    def __init__(
        self,
        stream_id: int,
        wire: WebSocketWire,
        events: list[Event],
        config: Config,
        deadlines: Deadlines,
        *,
        key: bytes | None,
        subprotocols: list[str],
        extension_offers: list[str],
    ) -> None:
        self.stream_id = stream_id
        self._wire = wire
        self._events = events
        self._config = config
        #: The connection's deadlines; this WebSocket's are keyed by its stream id.
        self._deadlines = deadlines
        self._key = key
        self.subprotocols = subprotocols
        self._extension_offers = extension_offers
        self._ws: Connection | None = None
        self._frames: FrameSplitter | None = None  # set with ``_ws`` by the accept
        self._state = _CONNECTING
        self._inbox: deque[dict[str, Any]] = deque([{"type": "websocket.connect"}])
        self.receive_pending = 0
        self._fragments: io.StringIO | bytearray | None = None  # a message arriving in parts
        self._fragment_size = 0
        self._fragment_count = 0
        budget = config.ws_control_frame_budget
        self._control_frames = None if budget is None else Budget(budget, 0.0)
        self._disconnect: dict[str, Any] | None = None
        self._denial: tuple[int, Headers] = (0, [])  # a denial response's status and headers
        self._closed_by_app = False
        self._now = 0.0

    # -- state the protocol reads -------------------------------------------------------------

    @property
    def open(self) -> bool:
        return self._state is _OPEN

    @property
    def accepted(self) -> bool:
        """The handshake succeeded: bytes from the peer are frames now."""
        return self._ws is not None

    @property
    def queued(self) -> int:
        """Messages received but not yet taken by the app (reading pauses past a limit)."""
        return len(self._inbox)

    # -- the application's side ---------------------------------------------------------------

    def app_receive(self) -> None:
        self.receive_pending += 1
        self._deliver()

    def app_send(self, message: Mapping[str, Any], now: float) -> None:
        """Check one application message against ``_SEND_RULES`` and act on it."""
        self._now = now
        if not isinstance(message, Mapping):
            raise AppProtocolError(f"an ASGI message must be a dict, got {type(message).__name__}")
        kind = message.get("type")
        state = self._state
        if state is _CLOSED or state is _CLOSING:
            if self._closed_by_app:
                raise AppProtocolError(f"{kind!r} sent after the app closed the WebSocket")
            # The peer closed, vanished or broke the protocol: the spec's OSError.
            raise ClientDisconnected(f"stream {self.stream_id}: the WebSocket is closed")
        rule = _SEND_RULES.get((state, kind)) if type(kind) is str else None
        if rule is None:
            if state is _CONNECTING:
                self._deny(500, [], b"", True)
            raise AppProtocolError(f"expected {_EXPECTED[state]}, got {kind!r}")
        try:
            rule(self, message)
        except AppProtocolError:
            if self._state is _CONNECTING:  # a broken answer to the handshake is a 500
                self._deny(500, [], b"", True)
            raise

    def _on_accept(self, message: Mapping[str, Any]) -> None:
        self._accept(message)

    def _on_close_before_accept(self, message: Mapping[str, Any]) -> None:
        # ASGI websocket spec: close before accept is answered with HTTP 403.
        self._closed_by_app = True
        self._deny(403, [], b"", True)

    def _on_denial_start(self, message: Mapping[str, Any]) -> None:
        status = check_status(message.get("status"))
        headers, _ = check_headers(message.get("headers", ()), "'websocket.http.response.start'")
        self._denial = (status, headers)
        self._state = _DENYING

    def _on_denial_body(self, message: Mapping[str, Any]) -> None:
        body = message.get("body", b"")
        more = message.get("more_body", False)
        if not isinstance(body, (bytes, bytearray)) or type(more) is not bool:
            raise AppProtocolError("'websocket.http.response.body' needs bytes and a bool")
        status, headers = self._denial
        self._denial = (status, [])
        self._wire.websocket_denied(self, status, headers, bytes(body), not more)
        if not more:
            self._finish(NORMAL, "")

    def _on_send(self, message: Mapping[str, Any]) -> None:
        data = _message_data(message)
        ws, frames = self._ws, self._frames
        if frames is not None and frames.frames_sends and ws is not None:
            if ws.state is ConnectionState.OPEN:
                self._wire.websocket_send(self, message_frame(data))
            return
        self._send_frame(
            TextMessage(data=data) if isinstance(data, str) else BytesMessage(data=data)
        )

    def _on_close(self, message: Mapping[str, Any]) -> None:
        code = message.get("code", NORMAL)
        reason = message.get("reason") or ""
        if type(code) is not int or not isinstance(reason, str):
            raise AppProtocolError("'websocket.close' needs an int 'code' and a str 'reason'")
        if not _sendable_close_code(code):
            raise AppProtocolError(
                f"close code {code} may not be sent (RFC 6455 section 7.4: 1000-1003, "
                "1007-1014, or 3000-4999)"
            )
        if len(reason.encode("utf-8")) > 123:
            raise AppProtocolError("a close reason is at most 123 bytes of UTF-8 (RFC 6455 5.5)")
        self._closed_by_app = True
        self.close(code, reason)

    def finish(self, error: BaseException | None) -> None:
        """The app returned or raised: before accept that is 403/500; after, a close."""
        if self._state is _CONNECTING:
            self._deny(500 if error is not None else 403, [], b"", True)
        elif self._state is _DENYING:
            self._finish(ABNORMAL, "")
            self._wire.websocket_closed(self)
        elif self._state is _OPEN:
            self.close(INTERNAL_ERROR if error is not None else NORMAL, "")

    # -- the wire's side ----------------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> None:
        """Frames from the peer (only once accepted)."""
        self._now = now
        ws, frames = self._ws, self._frames
        if ws is None or frames is None or self._state is _CLOSED:
            return
        for kind, part in frames.split(data):
            if kind is not RAW:
                self._on_message_part(part, True)
            elif not self._wsproto_receive(ws, part, now):  # type: ignore[arg-type]  # RAW is bytes
                return
            if self._state is _CLOSED:
                return
        self._deliver()

    def _wsproto_receive(self, ws: Connection, data: bytes, now: float) -> bool:
        """Whole frames that need wsproto; False once the WebSocket is closed."""
        try:
            ws.receive_data(data)
        except LocalProtocolError:
            return False  # data after the close handshake: ignored
        for event in ws.events():
            if isinstance(event, (TextMessage, BytesMessage)):
                self._on_message_part(event.data, event.message_finished)
            elif isinstance(event, (Ping, Pong)):
                self._on_control_frame(event, now)
            elif isinstance(event, CloseFrame):
                self._on_peer_close(event)
                return False
            if self._state is _CLOSED:
                return False
        return True

    def connection_lost(self) -> None:
        """The transport is gone without a close handshake: code 1006."""
        if self._state is not _CLOSED:
            self._finish(ABNORMAL, "")

    def handle_timeout(self, now: float) -> None:
        """Fire this WebSocket's most urgent due timer: close, then pong, then ping."""
        self._now = now
        deadlines, stream_id = self._deadlines, self.stream_id
        if deadlines.is_due(WS_CLOSE, now, stream_id):
            # The peer never answered our close frame: drop the connection.
            self._finish(self._disconnect_code(ABNORMAL), "")
            self._wire.websocket_closed(self)
        elif deadlines.is_due(WS_PONG, now, stream_id):
            self._fail(INTERNAL_ERROR, "keepalive ping timeout")
        elif deadlines.is_due(WS_PING, now, stream_id):
            if self._state is not _OPEN:
                deadlines.cancel(WS_PING, stream_id)  # no keepalive for a closing WebSocket
                return
            self._send_frame(Ping(payload=b"asgi-core"))
            if self._config.ws_ping_timeout:  # None (0 on the command line): no timeout
                deadlines.start(WS_PONG, now, stream_id)
            self._start_pings(now)

    def close(self, code: int, reason: str) -> None:
        """Start the close handshake (RFC 6455 section 7.1.2); the peer's reply ends it."""
        if self._state is not _OPEN or self._ws is None:
            return
        self._state = _CLOSING
        self._stop_timers()
        self._wire.websocket_send(self, self._ws.send(CloseFrame(code=code, reason=reason)))
        self._disconnect = {"type": "websocket.disconnect", "code": code, "reason": reason}
        self._deadlines.start(WS_CLOSE, self._now, self.stream_id)

    # -- internals ----------------------------------------------------------------------------

    def _start_pings(self, now: float) -> None:
        """The next keepalive ping, unless ``ws_ping_interval`` turns them off."""
        if self._config.ws_ping_interval:
            self._deadlines.start(WS_PING, now, self.stream_id)
        else:
            self._deadlines.cancel(WS_PING, self.stream_id)

    def _stop_timers(self) -> None:
        self._deadlines.cancel_stream(self.stream_id)

    def _fail(self, code: int, reason: str) -> None:
        """Fail the connection (RFC 6455 section 7.1.7): a close frame, then drop the socket
        without waiting for an answer (the peer is broken, silent or abusive)."""
        if self._state is _CLOSED:
            return
        self._send_frame(CloseFrame(code=code, reason=reason))
        self._finish(code, reason)
        self._wire.websocket_closed(self)

    def _accept(self, message: Mapping[str, Any]) -> None:
        subprotocol = message.get("subprotocol")
        headers, _ = check_headers(message.get("headers", ()), "'websocket.accept'")
        if subprotocol is not None and (
            not isinstance(subprotocol, str)
            or not subprotocol.isascii()
            or TOKEN.fullmatch(subprotocol.encode("ascii")) is None
        ):
            raise AppProtocolError(
                f"'subprotocol' must be None or a token str (RFC 6455 4.1), got {subprotocol!r}"
            )
        if any(name == b"sec-websocket-protocol" for name, _ in headers):
            raise AppProtocolError(
                "'websocket.accept' headers must not set sec-websocket-protocol; "
                "use the 'subprotocol' key"
            )
        response: Headers = []
        if self._key is not None:  # HTTP/1.1; RFC 8441 section 5 has no key nor upgrade
            response = [(b"upgrade", b"websocket"), (b"connection", b"Upgrade"),
                        (b"sec-websocket-accept", generate_accept_token(self._key))]  # fmt: skip
        if subprotocol is not None:
            response.append((b"sec-websocket-protocol", subprotocol.encode("ascii")))
        extensions: list[Extension] = []
        if self._config.ws_per_message_deflate and self._extension_offers:
            deflate = PerMessageDeflate()
            accepted = server_extensions_handshake(self._extension_offers, [deflate])
            if accepted:
                response.append((b"sec-websocket-extensions", accepted))
                extensions.append(deflate)
        self._ws = Connection(ConnectionType.SERVER, extensions=extensions)
        self._frames = FrameSplitter(deflate=bool(extensions))
        self._state = _OPEN
        self._wire.websocket_accepted(self, response + headers)
        if self._state is _OPEN:  # frames sent before the accept may have ended it
            self._start_pings(self._now)

    def _deny(self, status: int, headers: Headers, body: bytes, end: bool) -> None:
        """Answer the handshake with an HTTP response instead (403, 500)."""
        self._wire.websocket_denied(self, status, headers, body, end)
        self._finish(ABNORMAL if status >= 500 else GOING_AWAY, "")

    def _send_frame(self, event: Any) -> None:
        ws = self._ws
        if ws is not None and ws.state in (ConnectionState.OPEN, ConnectionState.REMOTE_CLOSING):
            self._wire.websocket_send(self, ws.send(event))

    def _on_control_frame(self, event: Ping | Pong, now: float) -> None:
        """A ping is answered, a pong ends the keepalive wait; a flood of either is cut."""
        budget = self._control_frames
        if budget is not None and not budget.spend(now):
            self._fail(POLICY_VIOLATION, "too many control frames")
        elif isinstance(event, Ping):
            self._send_frame(event.response())
        else:
            self._deadlines.cancel(WS_PONG, self.stream_id)

    def _on_message_part(self, data: str | bytes | bytearray, finished: bool) -> None:
        self._fragment_size += len(data)
        if self._fragment_size > self._config.ws_max_size:
            self._fragments = None
            self._fail(MESSAGE_TOO_BIG, "message too big")
            return
        self._fragment_count += 1
        allowed = self._config.ws_max_fragments
        if allowed is not None and self._fragment_count > (
            allowed + self._fragment_size // BYTES_PER_FRAGMENT
        ):
            self._fragments = None
            self._fail(POLICY_VIOLATION, "message in too many fragments")
            return
        parts = self._fragments
        if parts is None:
            if finished:  # the common case: a whole message in one frame
                self._fragment_size = self._fragment_count = 0
                self._queue_message(data)
                return
            # A buffer that grows in place: a flood of tiny fragments costs their bytes only.
            parts = self._fragments = io.StringIO() if isinstance(data, str) else bytearray()
        if isinstance(parts, io.StringIO):
            parts.write(str(data))
        else:
            parts += data  # type: ignore[arg-type]
        if finished:
            self._fragments = None
            self._fragment_size = self._fragment_count = 0
            self._queue_message(parts.getvalue() if isinstance(parts, io.StringIO) else parts)

    def _queue_message(self, data: str | bytes | bytearray) -> None:
        if isinstance(data, str):
            self._inbox.append({"type": "websocket.receive", "text": data})
        else:
            self._inbox.append({"type": "websocket.receive", "bytes": bytes(data)})

    def _on_peer_close(self, event: CloseFrame) -> None:
        ws = self._ws
        assert ws is not None
        if ws.state == ConnectionState.REMOTE_CLOSING:
            # Answer the close (RFC 6455 section 5.5.1); a protocol error's close is our own.
            self._wire.websocket_send(self, ws.send(event.response()))
        elif ws.state == ConnectionState.OPEN:
            # wsproto reports a frame it could not parse as a close (RFC 6455 section 7.1.7).
            self._fail(event.code, event.reason or "")
            return
        code = event.code if self._state is _OPEN else self._disconnect_code(event.code)
        self._finish(code, event.reason or "")
        # RFC 6455 section 7.1.1: the server closes the TCP connection first.
        self._wire.websocket_closed(self)

    def _disconnect_code(self, default: int) -> int:
        return int(self._disconnect["code"]) if self._disconnect else default

    def _finish(self, code: int, reason: str) -> None:
        self._state = _CLOSED
        self._stop_timers()
        if self._disconnect is None or code == ABNORMAL:
            self._disconnect = {"type": "websocket.disconnect", "code": int(code), "reason": reason}
        self._deliver()

    def _deliver(self) -> None:
        while self.receive_pending:
            if self._inbox:
                message = self._inbox.popleft()
            elif self._state is _CLOSED and self._disconnect is not None:
                message = self._disconnect
            else:
                return
            self.receive_pending -= 1
            self._events.append(AppReceive(self.stream_id, message))


_Rule = Callable[[WebSocketStream, Mapping[str, Any]], None]

#: ASGI websocket spec (and its websocket.http.response extension): which message may come in
#: which state, and what handles it (and moves the state on).
_SEND_RULES: dict[tuple[WebSocketState, str], _Rule] = {
    (_CONNECTING, "websocket.accept"): WebSocketStream._on_accept,  # -> OPEN
    (_CONNECTING, "websocket.close"): WebSocketStream._on_close_before_accept,  # -> CLOSED (403)
    (_CONNECTING, "websocket.http.response.start"): WebSocketStream._on_denial_start,  # DENYING
    (_DENYING, "websocket.http.response.body"): WebSocketStream._on_denial_body,  # -> CLOSED
    (_OPEN, "websocket.send"): WebSocketStream._on_send,
    (_OPEN, "websocket.close"): WebSocketStream._on_close,  # -> CLOSING
}

#: What the application may send next, for the error message when it sends something else.
_EXPECTED = {
    _CONNECTING: "'websocket.accept', 'websocket.close' or 'websocket.http.response.start'",
    _DENYING: "'websocket.http.response.body'",
    _OPEN: "'websocket.send' or 'websocket.close'",
}


def _sendable_close_code(code: int) -> bool:
    """Codes an endpoint may put in a close frame (RFC 6455 section 7.4.1 and 7.4.2)."""
    return code in (1000, 1001, 1002, 1003) or 1007 <= code <= 1014 or 3000 <= code <= 4999


def _message_data(message: Mapping[str, Any]) -> str | bytes:
    text = message.get("text")
    data = message.get("bytes")
    if (text is None) == (data is None):
        raise AppProtocolError("'websocket.send' needs exactly one of 'bytes' and 'text'")
    if text is not None:
        if not isinstance(text, str):
            raise AppProtocolError(f"'text' must be a str, got {type(text).__name__}")
        return text
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise AppProtocolError(f"'bytes' must be bytes, got {type(data).__name__}")
    return bytes(data)


__all__ = [
    "HandshakeError",
    "WebSocketState",
    "WebSocketStream",
    "WebSocketWire",
    "check_handshake",
    "open_websocket",
]
