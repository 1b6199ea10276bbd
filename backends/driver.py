"""What every driver does around ``ServerConnection``, written once.

A driver subclasses ``DriverConnection`` and supplies the I/O primitives (write, close, pause
reading, re-arm the timer, make a waiter, start a task, run in a thread). Acting on the core's
events, the application's ``receive``/``send``, and running one application call live here, so
the asyncio, trio and anyio drivers cannot drift apart.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from asgi_core.connection import ServerConnection
from asgi_core.errors import ClientDisconnected
from asgi_core.events import (
    AppReceive,
    CloseConnection,
    Event,
    LimitHit,
    ResponseEnded,
    SendAllowed,
    StreamStarted,
    WebSocketClosed,
)
from asgi_core.timers import MinimumRate

from . import logs, metrics
from .access import Entry
from .lifecycle import restarting
from .logs import log_app_error, logger

if TYPE_CHECKING:
    from asgi_core.httpdate import DateHeader

    from .config import ServerConfig
    from .lifecycle import AppCalls, ConnectionLimit

ASGIApp = Callable[..., Awaitable[None]]
T = TypeVar("T")

#: Bytes read from a file per ``http.response.pathsend`` chunk.
FILE_CHUNK = 256 * 1024

#: The ``DriverConnection`` method that acts on each event type (by name, so a subclass's
#: override is the one called).
ACTIONS: dict[type[Event], str] = {
    StreamStarted: "on_stream_started",
    AppReceive: "on_app_receive",
    SendAllowed: "on_send_allowed",
    CloseConnection: "on_close_connection",
    ResponseEnded: "on_response_ended",
    WebSocketClosed: "on_websocket_closed",
    LimitHit: "on_limit_hit",
}


#: Messages that end a response (or a WebSocket), and the body types whose last one does.
_FINAL = frozenset({"http.response.trailers", "websocket.close"})
_LAST_BODY = frozenset({"http.response.body", "websocket.http.response.body"})


class Waiter(Protocol):
    """An event a task can wait for once: asyncio.Event, trio.Event and anyio.Event all fit."""

    def set(self) -> None: ...

    async def wait(self) -> Any: ...


class AppStream:
    """One stream's ``receive`` and ``send``, as the application calls them."""

    __slots__ = ("app", "conn", "inbox", "receive_waiter", "responded", "response_headers",
                 "scope", "send_waiter", "started", "stream_id", "ws_closed")  # fmt: skip

    def __init__(
        self, conn: DriverConnection, stream_id: int, scope: dict[str, Any], app: ASGIApp
    ) -> None:
        self.conn = conn
        self.stream_id = stream_id
        self.scope = scope
        #: What answers this stream: the server's app, or its own health or 503 answer.
        self.app = app
        #: The final response message was sent: what runs now is work after the response.
        self.responded = False
        #: The core's answers to ``receive()``, one per call (a list: a deque's first block
        #: is 760 bytes, on every request).
        self.inbox: list[dict[str, Any]] = []
        self.receive_waiter: Waiter | None = None
        self.send_waiter: Waiter | None = None
        #: When the stream started, on the driver's clock (the access log's duration).
        self.started = conn.now()
        #: The app's response headers, kept only when the access log format reads them.
        self.response_headers: Any = None
        #: A WebSocket's closing line was written (the core may report the close twice).
        self.ws_closed = False

    async def receive(self) -> dict[str, Any]:
        if not self.inbox:
            conn = self.conn
            conn.core.app_receive(self.stream_id, conn.now())
            conn.pump()
            while not self.inbox:
                self.receive_waiter = waiter = conn.new_waiter()
                try:
                    await waiter.wait()
                finally:
                    self.receive_waiter = None
        return self.inbox.pop(0)

    async def send(self, message: dict[str, Any]) -> None:
        conn = self.conn
        core = conn.core
        try:
            may_return = core.app_send(self.stream_id, message, conn.now())
        except BaseException:
            conn.pump()  # the core may have answered 500 already
            raise
        # A response start alone asks nothing of the driver (the head waits for the first
        # body); tests/core/test_app_messages.py holds the core to that.
        if core.pending_events or message.get("type") != "http.response.start":
            conn.pump()
        if not may_return:
            self.send_waiter = waiter = conn.new_waiter()
            try:
                await waiter.wait()
            finally:
                self.send_waiter = None
        kind = message.get("type")
        if kind in _FINAL or (kind in _LAST_BODY and not message.get("more_body", False)):
            self.responded = True
        if kind == "http.response.start":
            if conn.access_log and logs.access_log.wants_response_headers:
                self.response_headers = message.get("headers")
        elif kind == "http.response.pathsend":
            await self._send_file(message["path"])
        if conn.write_blocked:
            await conn.drain()

    async def _send_file(self, path: str) -> None:
        """``http.response.pathsend``: the file's bytes go through the core as body."""
        conn = self.conn
        file = await conn.run_in_thread(open, path, "rb")
        try:
            while True:
                chunk = await conn.run_in_thread(file.read, FILE_CHUNK)
                await self.send(
                    {"type": "http.response.body", "body": chunk, "more_body": bool(chunk)}
                )
                if not chunk:
                    return
        finally:
            file.close()


class ServerShared(Protocol):
    """What a driver's server object shares with its connections (asyncio's ``_Server``,
    ``StructuredServer``)."""

    @property
    def app(self) -> ASGIApp: ...
    @property
    def config(self) -> ServerConfig: ...
    @property
    def state(self) -> dict[str, Any]: ...
    @property
    def date(self) -> DateHeader: ...
    @property
    def calls(self) -> AppCalls: ...
    @property
    def limit(self) -> ConnectionLimit: ...


class DriverConnection:
    """The loop around one ``ServerConnection``; subclasses provide the I/O primitives."""

    # Slots (the drivers' subclasses have theirs): an idle connection is mostly its objects.
    __slots__ = ("_block", "_taken_at_block", "access_log", "app", "armed_deadline", "calls",
                 "close_requested", "core", "read_paused", "send_deadline", "send_rate",
                 "streams", "transport_closed", "written")  # fmt: skip

    core: ServerConnection
    app: ASGIApp
    access_log: bool

    def start_core(
        self,
        server: ServerShared,
        *,
        client: Any,
        local: Any,
        scheme: str,
        alpn: str | None,
        tls: dict[str, Any] | None,
    ) -> None:
        """Make this connection's ``ServerConnection`` (at accept, or after its TLS handshake
        and PROXY header) and start driving it."""
        core = ServerConnection(
            server.config.protocol,
            client=client,
            server=local,
            scheme=scheme,
            alpn=alpn,
            tls=tls,
            state=server.state,
            date=server.date,
            pressure=server.limit.pressure,
            now=self.now(),
        )
        config = server.config
        rate = config.min_response_rate
        self.init_driver(
            core, server.app, config.access_log, server.calls,
            None if rate is None else (rate, config.min_response_rate_grace),
        )  # fmt: skip

    def init_driver(
        self,
        core: ServerConnection,
        app: ASGIApp,
        access_log: bool,
        calls: AppCalls | None = None,
        send_rate: tuple[float, float] | None = None,
    ) -> None:
        self.core = core
        self.app = app
        self.access_log = access_log
        #: The server's running application calls (None: not tracked, as in memory).
        self.calls = calls
        self.streams: dict[int, AppStream] = {}
        self.transport_closed = False
        self.read_paused = False
        self.armed_deadline: float | None = None
        self.close_requested = False
        #: Kestrel's MinResponseDataRate (``ServerConfig.min_response_rate``), as (bytes/s,
        #: grace): each time writes block, the peer must take our bytes at that rate once the
        #: grace is over. What it took before the block earns it nothing.
        self.send_rate = send_rate
        #: Bytes handed to the transport.
        self.written = 0
        #: The current block: its clock, and what the peer had taken when it began.
        self._block: MinimumRate | None = None
        self._taken_at_block = 0
        #: When the peer falls below ``send_rate`` if it takes nothing more (None: not blocked).
        self.send_deadline: float | None = None

    # -- what a driver provides ---------------------------------------------------------------

    def now(self) -> float:
        """The driver's monotonic clock, in seconds."""
        raise NotImplementedError

    def new_waiter(self) -> Waiter:
        raise NotImplementedError

    def spawn_app(self, stream: AppStream) -> None:
        """Start ``self.run_app(stream)`` as a task owned by this connection."""
        raise NotImplementedError

    def write(self, data: bytes) -> None:
        """Queue bytes for the socket (the one writer of this connection sends them)."""
        raise NotImplementedError

    def close_transport(self) -> None:
        """Send what is queued, then close the socket."""
        raise NotImplementedError

    def set_reading_paused(self, paused: bool) -> None:
        raise NotImplementedError

    def rearm_timer(self, deadline: float | None) -> None:
        """Call ``on_timer`` at ``deadline`` (on the ``now()`` clock) instead of before."""
        raise NotImplementedError

    @property
    def write_blocked(self) -> bool:
        """More is queued for the socket than the high-water mark: ``send()`` must wait."""
        raise NotImplementedError

    def write_backlog(self) -> int:
        """Bytes handed to ``write`` that the peer has not taken yet."""
        raise NotImplementedError

    def cut(self) -> None:
        """Drop the connection now, unsent bytes and all (a peer that does not read)."""
        raise NotImplementedError

    async def drain(self) -> None:
        """Wait until the queue is below its high-water mark (or the connection is gone)."""
        raise NotImplementedError

    async def run_in_thread(self, function: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError

    # -- written once -------------------------------------------------------------------------

    def pump(self) -> None:
        """Act on everything the core asked for, in order; then write, pause, re-arm."""
        events = self.core.pending_events
        while events:
            event = events.pop(0)
            getattr(self, ACTIONS[event.__class__])(event)
        if not self.transport_closed:
            self.flush()

    def flush(self) -> None:
        """Write what the core has for the socket; close it, or pause reading and re-arm.

        It runs after every call into the core, so it reads the protocol in use directly
        (``ServerConnection.protocol``)."""
        protocol = self.core.protocol
        data = protocol.data_to_send()
        if data:
            self.written += len(data)
            self.write(data)
        if self.close_requested:
            self.transport_closed = True
            self.close_transport()
            self.rearm_timer(None)
            return
        self._update_reading(protocol.reading_paused)
        self._arm_before(protocol.deadline)

    def _arm_before(self, deadline: float | None) -> None:
        """A lazy timer: it is moved only to an earlier deadline. One that moved later (a
        keep-alive wait after each response) or went away lets the armed one fire early, find
        nothing due and re-arm, instead of a cancel and a new timer per request."""
        armed = self.armed_deadline
        if deadline is not None and (armed is None or deadline < armed):
            self.armed_deadline = deadline
            self.rearm_timer(deadline)

    # -- one method per event type (``ACTIONS``) ----------------------------------------------

    def on_stream_started(self, event: StreamStarted) -> None:
        """Start one application call with this scope."""
        calls = self.calls
        app = self.app if calls is None else calls.app_for(event.scope, self.app)
        stream = AppStream(self, event.stream_id, event.scope, app)
        self.streams[stream.stream_id] = stream
        self.spawn_app(stream)

    def on_app_receive(self, event: AppReceive) -> None:
        """Hand the message to that stream's ``receive()``."""
        stream = self.streams.get(event.stream_id)
        if stream is not None:
            stream.inbox.append(event.message)
            if stream.receive_waiter is not None:
                stream.receive_waiter.set()
            collected = metrics.metrics
            if collected is not None and (body := event.message.get("body")):
                collected.body_received(stream.scope, len(body))

    def on_send_allowed(self, event: SendAllowed) -> None:
        """A ``send()`` that waited on flow control may return."""
        stream = self.streams.get(event.stream_id)
        if stream is not None and stream.send_waiter is not None:
            stream.send_waiter.set()

    def on_close_connection(self, event: CloseConnection) -> None:
        """Write what is left, then close (at the end of this ``pump``)."""
        self.close_requested = True

    def on_response_ended(self, event: ResponseEnded) -> None:
        """A response is over (the app's, cut, or the server's own): one access line, and
        the metrics when they are on."""
        collected = metrics.metrics
        if not self.access_log and collected is None:
            return
        stream = self.streams.get(event.stream_id)
        scope = stream.scope if stream is not None else None
        duration = self.now() - stream.started if stream is not None else None
        if collected is not None:
            collected.response_ended(scope, event.status, event.bytes_sent, duration)
        if self.access_log:
            logs.access_log.log(
                Entry(
                    scope,
                    event.status,
                    event.bytes_sent,
                    duration,
                    event.complete,
                    self.core.client if stream is None else None,
                    stream.response_headers if stream is not None else None,
                    event.request,
                )
            )

    def on_limit_hit(self, event: LimitHit) -> None:
        """A limit no response shows (a refused stream, ENHANCE_YOUR_CALM): counted."""
        collected = metrics.metrics
        if collected is not None:
            collected.limits.labels(event.limit).inc()

    def on_websocket_closed(self, event: WebSocketClosed) -> None:
        """An accepted WebSocket is over: its closing line (once, however it ended)."""
        stream = self.streams.get(event.stream_id)
        if self.access_log and stream is not None and not stream.ws_closed:
            stream.ws_closed = True
            logs.access_log.log(Entry(stream.scope, None, 0, self.now() - stream.started))

    def update_reading(self) -> None:
        """Read only while the core wants input and the peer takes our output: a client
        that floods requests or pings but never reads stops being read."""
        self._update_reading(self.core.reading_paused)

    def _update_reading(self, core_paused: bool) -> None:
        blocked = self.write_blocked
        paused = core_paused or blocked
        if paused is not self.read_paused and not self.transport_closed:
            self.read_paused = paused
            self.set_reading_paused(paused)
        if self.send_rate is not None and not self.transport_closed:
            if blocked or self._block is not None:
                self.track_send_rate(blocked)
            if self.send_deadline is not None:
                self._arm_before(self.send_deadline)

    def track_send_rate(self, blocked: bool) -> None:
        """Time a block of writes and what the peer takes during it; set ``send_deadline``,
        when it falls below ``send_rate`` if it takes nothing more."""
        now = self.now()
        block = self._block
        if not blocked:
            self._block = self.send_deadline = None
            return
        taken = self.written - self.write_backlog()
        if block is None:
            assert self.send_rate is not None
            block = self._block = MinimumRate(*self.send_rate)
            block.waiting(now)
            self._taken_at_block = taken
        allowed = block.allowed(now, math.inf, taken - self._taken_at_block)
        self.send_deadline = now + allowed

    def _send_rate_missed(self) -> bool:
        """The peer takes our bytes slower than ``send_rate``: the connection is cut."""
        deadline = self.send_deadline
        if deadline is None or self.now() < deadline:
            return False
        self.track_send_rate(self.write_blocked)
        deadline = self.send_deadline
        if deadline is None or self.now() < deadline:
            return False  # it took enough meanwhile
        logger.info(
            "Closed a connection whose client reads slower than --min-response-rate (%s)",
            self.core.client,
        )
        self.send_deadline = None
        self.cut()
        return True

    def on_timer(self) -> None:
        """The timer fired: let the core act on whatever is due."""
        deadline = self.armed_deadline
        self.armed_deadline = None
        if self._send_rate_missed():
            return
        # A loop may fire a hair early (its clock resolution); the core must see it as due.
        now = self.now()
        self.core.handle_timeout(now if deadline is None else max(now, deadline))
        self.pump()

    def transport_lost(self) -> None:
        """The socket is gone: the core disconnects every stream; waiting sends return."""
        self.transport_closed = True
        self.core.connection_lost(self.now())
        self.pump()
        self.rearm_timer(None)
        for stream in self.streams.values():
            if stream.send_waiter is not None:
                stream.send_waiter.set()

    def shutdown(self) -> None:
        """Graceful shutdown: no new requests; close once in-flight responses are done
        (WebSockets get 1012 when the process is being replaced)."""
        self.core.start_shutdown(self.now(), restart=restarting())
        self.pump()

    async def run_app(self, stream: AppStream) -> None:
        """One application call; whatever way it ends, the core hears of it."""
        error: BaseException | None = None
        calls = self.calls
        if calls is not None:
            calls.started(stream)
        collected = metrics.metrics
        if collected is not None:
            collected.stream_started(stream.scope)
        try:
            await stream.app(stream.scope, stream.receive, stream.send)
        except ClientDisconnected:
            pass  # the spec's OSError for a gone client: not the app's fault, not logged
        except Exception as exc:  # the app's own failure: logged, answered, contained
            error = exc
            log_app_error(stream.scope, exc)
        except BaseException as exc:  # cancellation: the driver's own business
            error = exc
            raise
        finally:
            try:  # the stream is still known while the core reports its end (a 500's line)
                self.core.app_finished(stream.stream_id, error, self.now())
                self.pump()
            finally:
                del self.streams[stream.stream_id]
                if collected is not None:
                    collected.stream_finished(stream.scope)
            if calls is not None:
                calls.finished(stream)
