"""ServerConnection: the one object a driver talks to, whatever protocol the peer speaks.

It picks the protocol and delegates: HTTP/2 when TLS's ALPN chose "h2", when a cleartext
connection opens with the HTTP/2 preface (prior knowledge), or when an HTTP/1.1 request asks
for ``Upgrade: h2c``; HTTP/1.1 otherwise. Every input takes ``now``, the driver's monotonic
clock, so timers are exact and tests run on a virtual clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .config import Config
from .events import Event
from .h2c import switch_to_http2
from .http2 import PREFACE, HTTP2Connection
from .http11 import HTTP11Connection
from .httpdate import DateHeader
from .protocol import ProtocolContext
from .proxy import trusted_peers
from .scope import Address, ConnectionInfo
from .timers import Pressure

#: ALPN protocols the core speaks, in the server's order of preference.
SUPPORTED_ALPN = ("h2", "http/1.1")


class ServerConnection:
    """The server side of one transport connection, as a pure state machine.

    Feed it bytes (``receive_data``), application messages (``app_send``), receive requests
    (``app_receive``), task ends (``app_finished``) and the clock (``handle_timeout``); after
    each call act on ``events()`` in order and write ``data_to_send()``.

    ``scheme`` is "https" over TLS, where ``alpn`` is what the handshake chose and ``tls`` the
    ASGI TLS extension's dict (``server_cert``, ``client_cert_chain``, ``tls_version``...),
    put in every scope's ``extensions``. ``pressure``, shared by a server's connections, shrinks
    the idle keep-alive waits that start while it is set (``timers.reduced``).
    """

    __slots__ = ("_context", "_h2c", "_sniffed", "_sniffing", "pending_events", "protocol")

    def __init__(
        self,
        config: Config,
        *,
        client: Address = None,
        server: Address = None,
        scheme: str = "http",
        alpn: str | None = None,
        state: dict[str, Any] | None = None,
        tls: dict[str, Any] | None = None,
        date: DateHeader | None = None,
        pressure: Pressure | None = None,
        now: float = 0.0,
    ) -> None:
        offered = SUPPORTED_ALPN if config.http2 else SUPPORTED_ALPN[1:]
        if alpn is not None and alpn not in offered:
            raise ValueError(f"unsupported ALPN protocol {alpn!r}; offer one of {offered}")
        #: The events ``next_event`` hands out, in order; a driver may pop them itself.
        #: (A list: events come a few at a time, and a deque's first block is 760 bytes, on
        #: every idle connection.)
        self.pending_events: list[Event] = []
        proxy = trusted_peers(config.forwarded_allow_ips) if config.proxy_headers else None
        if proxy is not None and not proxy.trusts_peer(client):
            proxy = None  # an untrusted peer's proxy headers are ignored whole
        info = ConnectionInfo(scheme, client, server, config.root_path, state, tls, proxy)
        date = date if config.date_header else None
        context = ProtocolContext(config, self.pending_events, info, date, pressure)
        self._context = context
        cleartext = alpn is None and config.http2
        #: Waiting for the first bytes: the HTTP/2 preface, or HTTP/1.1.
        self._sniffing = cleartext
        self._sniffed = b""
        self._h2c = cleartext
        #: The protocol serving now. A driver's hot path reads its output through it
        #: (``data_to_send()``, ``reading_paused``, ``deadline``) to skip this layer.
        self.protocol: HTTP11Connection | HTTP2Connection
        if alpn == "h2":
            self.protocol = HTTP2Connection(context, now=now)
        else:
            self.protocol = HTTP11Connection(context, now=now, h2c=cleartext)

    # -- inputs -------------------------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> None:
        """Bytes from the peer; ``b""`` means the peer closed its side (EOF)."""
        if self._sniffing:
            eof = not data
            data = self._sniffed + data
            if not eof and len(data) < len(PREFACE) and PREFACE.startswith(data):
                self._sniffed = data  # could still be the preface
                return
            self._sniffing = False
            self._sniffed = b""
            if data.startswith(PREFACE):
                self._h2c = False
                self.protocol = HTTP2Connection(self._context, now=now)
            elif eof and data:
                self.protocol.receive_data(data, now)  # what came before the EOF, then it
                data = b""
        protocol = self.protocol
        protocol.receive_data(data, now)
        if self._h2c and protocol.upgrade is not None:  # type: ignore[union-attr]
            self._upgrade_to_h2(now)

    def _upgrade_to_h2(self, now: float) -> None:
        """The ``Upgrade: h2c`` request is complete: HTTP/2 takes over (``h2c.py``)."""
        self._h2c = False
        http11 = self.protocol
        assert isinstance(http11, HTTP11Connection)
        upgrade = http11.take_upgrade()
        self.protocol = switch_to_http2(upgrade, http11.data_to_send(), self._context, now)

    def connection_lost(self, now: float) -> None:
        """The transport is gone: nothing more can be read or written."""
        self.protocol.connection_lost(now)

    def app_receive(self, stream_id: int, now: float) -> None:
        """The stream's application awaits ``receive()``; one ``AppReceive`` will answer it."""
        self.protocol.app_receive(stream_id, now)

    def app_send(self, stream_id: int, message: Any, now: float) -> bool:
        """An ASGI message the application sent.

        Returns ``True`` when ``send()`` may return at once, ``False`` when it must wait for
        ``SendAllowed`` (flow control). Raises ``AppProtocolError`` naming the broken rule, or
        ``ClientDisconnected`` (an ``OSError``) once the client has gone. An accepted
        ``http.response.start`` writes nothing and moves no timer (the head goes out with the
        first body): a driver may skip acting on it when it queued no event.
        """
        return self.protocol.app_send(stream_id, message, now)

    def app_finished(self, stream_id: int, exc: BaseException | None, now: float) -> None:
        """The stream's application returned (``exc`` None) or raised ``exc``.

        A response it left unstarted becomes a 500; one it left half-sent is cut off.
        """
        self.protocol.app_finished(stream_id, exc, now)

    def start_shutdown(self, now: float, *, restart: bool = False) -> None:
        """Graceful shutdown: finish in-flight work, take no new requests, then close.

        WebSockets are closed with 1001 (going away), or 1012 (service restart) when
        ``restart`` says the server is being replaced rather than stopped.
        """
        self.protocol.start_shutdown(now, restart=restart)

    def handle_timeout(self, now: float) -> None:
        """Fire whatever timer is due at ``now``; a no-op before ``next_deadline``."""
        self.protocol.handle_timeout(now)

    # -- outputs ------------------------------------------------------------------------------

    def next_event(self) -> Event | None:
        """The next thing the driver must do, or ``None``."""
        return self.pending_events.pop(0) if self.pending_events else None

    def events(self) -> Iterator[Event]:
        """Drain the pending events in order (events added while draining are included)."""
        events = self.pending_events
        while events:
            yield events.pop(0)

    def data_to_send(self) -> bytes:
        """The bytes to write to the socket now (empty when there are none)."""
        return self.protocol.data_to_send()

    @property
    def next_deadline(self) -> float | None:
        """When the driver must call ``handle_timeout`` next (no side effects)."""
        return self.protocol.deadline

    @property
    def reading_paused(self) -> bool:
        """The driver should stop reading: input would otherwise pile up unbounded."""
        return self.protocol.reading_paused

    @property
    def client(self) -> Address:
        """The peer's address as the connection was made with it (before any proxy headers,
        which apply per request: the access log reads a request's ``client`` from its scope)."""
        return self._context.info.client

    @property
    def closed(self) -> bool:
        """``CloseConnection`` has been emitted; later input is ignored."""
        return self.protocol.closed
