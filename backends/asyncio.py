"""The asyncio driver: ``asyncio.Protocol`` callbacks feed ``ServerConnection``.

The speed path: no stream objects, the transport's own buffer and ``pause_writing`` for write
backpressure, one loop timer per connection. TLS runs in the protocol over memory BIOs
(``TLSEngine``) rather than in the loop's own TLS, which holds large buffers per connection
from accept on. Everything that is not asyncio lives in ``driver.py`` (shared by every driver).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

from asgi_core.httpdate import DateHeader
from asgi_core.proxy import ProxyProtocolError

from .config import ServerConfig
from .driver import AppStream, ASGIApp, DriverConnection, Waiter
from .lifecycle import AppCalls, ConnectionLimit, log_cut, log_draining, log_waiting
from .lifespan import LifespanFailure, LifespanRunner
from .logs import logger
from .nonblocking import ACCEPTS_PER_TURN
from .proxy_protocol import ProxyHeaderReader
from .run import PROGRAM_SIGNALS, OnReady, ProgramSignals, Ready, Sockets, report_ready, use_uvloop
from .sockets import Listening, as_listening, close_listeners, open_listeners, socket_address
from .tls import ServerTLS, TLSEngine, watch_certificates

T = TypeVar("T")

__all__ = ["LifespanFailure", "run", "serve"]

#: Plaintext asked of the ``SSLObject`` per read (one TLS record holds at most 16 KiB).
TLS_READ_SIZE = 64 * 1024


class _Server:
    """What every connection of one server shares."""

    def __init__(self, app: ASGIApp, config: ServerConfig, state: dict[str, Any]) -> None:
        self.app = app
        self.config = config
        self.state = state
        self.stopping = False
        self.loop = asyncio.get_running_loop()
        self.date = DateHeader(time.time())
        self.connections: set[_Connection | _BeforeServing] = set()
        self.calls = AppCalls(config)
        self.limit = ConnectionLimit(config)
        #: Set whenever a connection closes or the last app call ends.
        self.progress = asyncio.Event()
        self.calls.on_idle = self.progress.set
        self.tasks: set[asyncio.Task[None]] = set()

    async def all_done(self) -> None:
        """Until every connection is closed and every application call has returned."""
        while self.connections or self.calls.running:
            self.progress.clear()
            await self.progress.wait()


class _FutureWaiter:
    """A one-shot waiter on a bare future: lighter than ``asyncio.Event`` on the hot path
    (a WebSocket app waits once per message)."""

    __slots__ = ("_future",)

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._future: asyncio.Future[None] = loop.create_future()

    def set(self) -> None:
        if not self._future.done():
            self._future.set_result(None)

    async def wait(self) -> None:
        await self._future


class _Connection(asyncio.Protocol, DriverConnection):
    """One TCP connection: the transport's callbacks in, the core's events out."""

    __slots__ = ("_drain_waiters", "_pending", "_timer", "loop", "proxied", "server",
                 "transport", "write_paused")  # fmt: skip

    def __init__(self, server: _Server) -> None:
        self.server = server
        self.loop = server.loop
        self.write_paused = False
        self._drain_waiters: list[asyncio.Future[None]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._pending: list[bytes] | None = None  # HTTP/2 writes of this loop turn
        #: What a PROXY header announced: the (client, server) and the scheme the proxy spoke.
        self.proxied: ProxyHeaderReader | None = None

    # -- transport callbacks ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self._start_core("http", None, None)

    def _start_core(self, scheme: str, alpn: str | None, tls: dict[str, Any] | None) -> None:
        """Make the core and serve: at connect, or once a TLS handshake is done."""
        server = self.server
        transport = self.transport
        proxied = self.proxied
        if proxied is None:
            client = socket_address(transport.get_extra_info("peername"))
            local = socket_address(transport.get_extra_info("sockname"))
        else:
            client, local, scheme = proxied.client, proxied.server, proxied.scheme or scheme
            tls = proxied.tls or tls  # the client's TLS, which the proxy ended, not ours with it
        self.start_core(server, client=client, local=local, scheme=scheme, alpn=alpn, tls=tls)
        server.connections.add(self)
        self.pump()
        if server.stopping:  # it arrived, or its handshake ended, after the shutdown began
            self.shutdown()

    def data_received(self, data: bytes) -> None:
        self.core.receive_data(data, self.loop.time())
        self.pump()

    def eof_received(self) -> bool | None:
        self.core.receive_data(b"", self.loop.time())
        self.pump()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport_lost()
        self._wake_drainers()
        self._forget()

    def _forget(self) -> None:
        server = self.server
        server.connections.discard(self)
        server.limit.release()
        server.progress.set()

    def pause_writing(self) -> None:
        self.write_paused = True
        self.update_reading()

    def resume_writing(self) -> None:
        self.write_paused = False
        self._wake_drainers()
        self.update_reading()

    # -- DriverConnection primitives ----------------------------------------------------------

    def now(self) -> float:
        return self.loop.time()

    def new_waiter(self) -> Waiter:
        return _FutureWaiter(self.loop)

    def spawn_app(self, stream: AppStream) -> None:
        task = self.loop.create_task(self.run_app(stream))
        tasks = self.server.tasks
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def write(self, data: bytes) -> None:
        """A multiplexed protocol's (HTTP/2's) writes wait for the end of the loop turn and go
        out in one send: each stream's app writes its own response, most in the same turn."""
        if not self.core.protocol.multiplexed:
            self.send_now(data)
        elif self._pending is None:
            self._pending = [data]
            self.loop.call_soon(self._send_pending)
        else:
            self._pending.append(data)

    def _send_pending(self) -> None:
        pending = self._pending
        if pending is not None:
            self._pending = None
            self.send_now(pending[0] if len(pending) == 1 else b"".join(pending))

    def send_now(self, data: bytes) -> None:
        transport = self.transport
        # Closing: the peer is gone (a send failed; connection_lost comes a loop turn later)
        # or we closed. asyncio would log "socket.send() raised exception." from the fifth
        # write to a lost transport, and every app of an HTTP/2 connection may write in that
        # turn.
        if not transport.is_closing():
            transport.write(data)

    def close_transport(self) -> None:
        self._send_pending()
        self.transport.close()

    def set_reading_paused(self, paused: bool) -> None:
        if paused:
            self.transport.pause_reading()
        else:
            self.transport.resume_reading()

    def rearm_timer(self, deadline: float | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if deadline is not None:
            self._timer = self.loop.call_at(deadline, self._fire_timer)

    def _fire_timer(self) -> None:
        self._timer = None
        self.on_timer()

    @property
    def write_blocked(self) -> bool:
        return self.write_paused

    def write_backlog(self) -> int:
        # Over TLS these are ciphertext bytes: a record's overhead is a fraction of a percent.
        return self.transport.get_write_buffer_size()

    def cut(self) -> None:
        self.abort()

    async def drain(self) -> None:
        if self.write_paused and not self.transport_closed:
            waiter = self.loop.create_future()
            self._drain_waiters.append(waiter)
            await waiter

    def _wake_drainers(self) -> None:
        waiters, self._drain_waiters = self._drain_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def run_in_thread(self, function: Callable[..., T], *args: Any) -> T:
        return await self.loop.run_in_executor(None, function, *args)

    def abort(self) -> None:
        if not self.transport_closed:
            self.transport_closed = True
            self.transport.abort()


class _TLSConnection(_Connection):
    """A TLS connection: the handshake and the records run here, over memory BIOs.

    No TLS state exists before the client's first byte, so a connection that never sends a
    ClientHello costs little more than its transport; the core is made once the handshake is
    done. Ciphertext still flows through the transport, so its backpressure works unchanged.
    """

    __slots__ = ("engine", "serving", "tls")

    def __init__(self, server: _Server, tls: ServerTLS) -> None:
        super().__init__(server)
        self.tls = tls
        self.engine: TLSEngine | None = None
        self.serving = False  # the handshake is done and the core exists
        self.transport_closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        server = self.server
        server.connections.add(self)
        loop = self.loop
        timeout = server.limit.timeout(self.tls.handshake_timeout)
        self._timer = loop.call_at(loop.time() + timeout, self._timed_out)
        if server.stopping:
            self.shutdown()

    def data_received(self, data: bytes) -> None:
        engine = self.engine
        if engine is None or not self.serving:
            self._handshake(data)
            return
        engine.receive_data(data)
        self._receive_plaintext(engine)

    def eof_received(self) -> bool | None:
        if self.serving:
            return super().eof_received()
        return None  # the client left during its handshake: the transport closes

    def connection_lost(self, exc: Exception | None) -> None:
        if self.serving:
            super().connection_lost(exc)
        else:
            self.transport_closed = True
            self._cancel_timer()
            self._forget()
        self.engine = None  # an app may outlive its connection; its TLS buffers need not

    def pause_writing(self) -> None:
        if self.serving:
            super().pause_writing()
        else:
            self.write_paused = True

    def resume_writing(self) -> None:
        if self.serving:
            super().resume_writing()
        else:
            self.write_paused = False

    def send_now(self, data: bytes) -> None:
        engine = self.engine
        if engine is not None and engine.write(data):
            if not self.transport.is_closing():  # as in _Connection.send_now
                self.transport.write(engine.data_to_send())
        else:  # the TLS session is broken: nothing more can be sent
            self.abort()

    def close_transport(self) -> None:
        """Our close_notify follows what is queued, then the socket closes."""
        self._send_pending()
        engine = self.engine
        transport = self.transport
        if engine is not None and not transport.is_closing():
            engine.close_notify()
            self._send_records(engine)
        transport.close()

    def shutdown(self) -> None:
        if self.serving:
            super().shutdown()
        elif not self.transport_closed:  # no request can be in flight before the handshake
            self._cancel_timer()
            self.transport_closed = True
            self.transport.close()

    def _handshake(self, data: bytes) -> None:
        """Feed the handshake; once it is done, make the core and give it what followed."""
        if self.transport_closed:
            return
        engine = self.engine
        if engine is None:
            self.engine = engine = TLSEngine(self.tls.context)
        engine.receive_data(data)
        try:
            done = engine.do_handshake()
        except ssl.SSLError as exc:
            logger.debug("TLS handshake with %s failed: %s", self._peer(), exc)
            self._send_records(engine)  # the alert tells the client why
            self.shutdown()
            return
        self._send_records(engine)
        if done:
            self._cancel_timer()
            self.serving = True
            ssl_object = engine.ssl
            self._start_core("https", self.tls.alpn(ssl_object), self.tls.extension(ssl_object))
            self._receive_plaintext(engine)

    def _receive_plaintext(self, engine: TLSEngine) -> None:
        """Give the core all the plaintext received so far, as one piece: one read's worth,
        as on plain TCP, after which ``pump`` pauses the transport if the core asks."""
        chunks = []
        while data := engine.read(TLS_READ_SIZE):
            chunks.append(data)
            if not engine.may_read_more:  # spares a read that would raise SSLWantReadError
                break
        if self.transport_closed:
            return
        self._send_records(engine)  # e.g. the answer to a KeyUpdate
        core = self.core
        if chunks:
            core.receive_data(chunks[0] if len(chunks) == 1 else b"".join(chunks), self.loop.time())
            self.pump()
        if data == b"" and not self.transport_closed:  # close_notify or a broken record
            core.receive_data(b"", self.loop.time())
            self.pump()

    def _send_records(self, engine: TLSEngine) -> None:
        """Write what TLS produced by itself (handshake messages, alerts, close_notify)."""
        if engine.has_data_to_send:
            self.transport.write(engine.data_to_send())

    def _timed_out(self) -> None:
        self._timer = None
        logger.debug("TLS handshake with %s timed out", self._peer())
        self.abort()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _peer(self) -> Any:
        return self.transport.get_extra_info("peername")


class _BeforeServing(asyncio.Protocol):
    """A stage before a connection is served (its PROXY header, its first bytes): it is
    counted for the shutdown, bounded by a timer, and hands the transport on when done."""

    transport: asyncio.Transport

    def __init__(self, server: _Server) -> None:
        self.server = server
        self._timer: asyncio.TimerHandle | None = None
        self.transport_closed = False

    def _hand_over(self, connection: asyncio.Protocol, data: bytes) -> None:
        """The stage is over: ``connection`` takes the transport, and ``data`` if any."""
        self._cancel_timer()
        self.server.connections.discard(self)
        self.transport.set_protocol(connection)
        connection.connection_made(self.transport)
        if data:
            connection.data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport_closed = True
        self._cancel_timer()
        server = self.server
        server.connections.discard(self)
        server.limit.release()
        server.progress.set()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def close(self) -> None:
        if not self.transport_closed:
            self._cancel_timer()
            self.transport_closed = True
            self.transport.close()

    def shutdown(self) -> None:
        """Nothing is in flight yet: close at once."""
        self.close()

    def abort(self) -> None:
        if not self.transport_closed:
            self.transport_closed = True
            self.transport.abort()


class _FirstBytes(_BeforeServing):
    """A plain connection until the client's first bytes, with nothing else made for it (no
    core), so a storm of connections that send nothing costs a transport each. The keep-alive
    timeout bounds the wait, as the core's would."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        server = self.server
        server.connections.add(self)
        loop = server.loop
        self._timer = loop.call_at(loop.time() + server.limit.first_bytes_timeout(), self.close)

    def data_received(self, data: bytes) -> None:
        if not self.transport_closed:
            self._hand_over(_Connection(self.server), data)

    def shutdown(self) -> None:
        """Not cut: the client may be sending its request (answered with Connection: close,
        the core's rule for a connection that has not sent its first one)."""


class _ProxyHeaderConnection(_BeforeServing):
    """Reads a connection's PROXY header (``backends/proxy_protocol.py``), then hands the
    transport to the connection it was made for, with what followed the header."""

    def __init__(self, server: _Server, inner: _Connection) -> None:
        super().__init__(server)
        self.inner = inner

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        server = self.server
        peer, local = transport.get_extra_info("peername"), transport.get_extra_info("sockname")
        self.reader = reader = ProxyHeaderReader(server.config, peer, local)
        if not reader.trusted:
            self._refuse("a PROXY header from a peer not in --forwarded-allow-ips")
            return
        server.connections.add(self)
        self._timer = server.loop.call_later(reader.timeout, self._timed_out)
        if server.stopping:
            self.shutdown()

    def data_received(self, data: bytes) -> None:
        if self.transport_closed:
            return
        try:
            done = self.reader.feed(data)
        except ProxyProtocolError as exc:
            self._refuse(exc)
            return
        if done:
            self.inner.proxied = self.reader
            self._hand_over(self.inner, self.reader.rest)

    def eof_received(self) -> bool | None:
        self.data_received(b"")  # refused: closed before the header ended
        return None

    def _refuse(self, why: object) -> None:
        self.reader.refuse(why)
        self.shutdown()

    def _timed_out(self) -> None:
        self._timer = None
        self._refuse(f"no whole PROXY header within {self.reader.timeout:g} s")


async def serve(
    app: ASGIApp,
    config: ServerConfig,
    *,
    on_ready: OnReady | None = None,
    listeners: Sequence[socket.socket | Listening] | None = None,
) -> None:
    """Serve ``app`` until cancelled, then shut down gracefully.

    ``on_ready`` gets the bound addresses (useful with port 0) once the server accepts
    connections; ``listeners`` are sockets already bound (else the config's are opened), and
    serving closes them. Cancelling the awaiting task stops accepting, lets in-flight requests
    finish for up to ``config.graceful_timeout`` seconds, closes every connection, runs the
    lifespan shutdown, and then re-raises the cancellation.
    """
    lifespan = LifespanRunner(app, config.lifespan, asyncio.Event)
    lifespan_task = asyncio.create_task(lifespan.run_app()) if lifespan.enabled else None
    try:
        await lifespan.startup()
        try:
            await _serve_started(app, config, lifespan.state, on_ready, listeners)
        finally:
            await lifespan.shutdown()
            logger.info("Shutdown complete")
    finally:
        if lifespan_task is not None:
            lifespan_task.cancel()
            with contextlib.suppress(BaseException):
                await lifespan_task


async def _serve_started(
    app: ASGIApp,
    config: ServerConfig,
    state: dict[str, Any],
    on_ready: OnReady | None,
    given: Sequence[socket.socket | Listening] | None,
) -> None:
    listening = open_listeners(config) if given is None else as_listening(given, config.tls)
    tls = ServerTLS.from_config(config) if any(item.tls for item in listening) else None
    server = _Server(app, config, state)
    loop = server.loop
    listeners = []
    for item in listening:
        factory = _factory(server, tls if item.tls else None)
        # asyncio's own loop accepts up to ``backlog`` sockets per loop turn (uvloop's libuv
        # takes all that wait): bounded, so that a storm of connects waits its turns beside
        # the clients already served ...
        per_turn = min(config.backlog, ACCEPTS_PER_TURN)
        listeners.append(await loop.create_server(factory, sock=item.socket, backlog=per_turn))
        item.socket.listen(config.backlog)  # ... while the kernel's queue keeps its length
    date_timer: asyncio.TimerHandle | None = None

    def tick() -> None:
        nonlocal date_timer
        server.date.update(time.time())
        date_timer = loop.call_later(1.0, tick)

    tick()
    stop_watch = watch_certificates(tls, config)
    try:
        report_ready(on_ready, listening)
        await asyncio.Future()  # until cancelled
    finally:
        stop_watch()
        hurry = await _drain(server)
        server.stopping = True
        await _stop_accepting(server.loop, listeners)
        for listener in listeners:
            listener.close()
        if given is None:
            close_listeners(listening)
        await _shut_down(server, hurry)
        if date_timer is not None:
            date_timer.cancel()
        for listener in listeners:
            with contextlib.suppress(Exception):
                await listener.wait_closed()


async def _stop_accepting(loop: asyncio.AbstractEventLoop, listeners: list[asyncio.Server]) -> None:
    """Accept no more, and let the connections already accepted be made before the
    listeners close: asyncio's own loop makes each accepted socket's transport a loop turn
    later, and a server closed in between drops it (``Server._attach`` asserts it is open),
    which the client sees as a reset. uvloop makes them at once."""
    for listener in listeners:
        for sock in listener.sockets:
            with contextlib.suppress(Exception):
                loop.remove_reader(sock.fileno())
    for _ in range(2):
        await asyncio.sleep(0)


async def _drain(server: _Server) -> bool:
    """Keep serving for ``shutdown_delay`` with the health path at 503; True when a second
    cancellation (a second signal) cut it short: then the shutdown does not wait either."""
    config = server.config
    if not config.shutdown_delay:
        return False
    server.calls.draining = True
    log_draining(config)
    try:
        await asyncio.sleep(config.shutdown_delay)
    except asyncio.CancelledError:
        return True
    return False


async def _shut_down(server: _Server, hurry: bool) -> None:
    """No new requests; wait for what is in flight (unless ``hurry``), then cut the rest."""
    for connection in list(server.connections):
        connection.shutdown()
    if not hurry:
        await _wait_graceful(server, server.config.graceful_timeout)
    for connection in list(server.connections):
        connection.abort()
    for task in list(server.tasks):
        task.cancel()
    if server.tasks:
        await asyncio.wait(list(server.tasks), timeout=5.0)


async def _wait_graceful(server: _Server, timeout: float) -> None:
    """Wait for every connection and application call, at most ``timeout`` seconds."""
    log_waiting(server.calls, len(server.connections), timeout)
    try:
        await asyncio.wait_for(asyncio.shield(server.all_done()), timeout)
    except asyncio.TimeoutError:
        log_cut(server.calls, len(server.connections), timeout)
    except asyncio.CancelledError:  # a second signal: stop now
        log_cut(server.calls, len(server.connections), timeout)


class _Refused(asyncio.Protocol):
    """A connection past ``max_connections``: closed as soon as its transport exists."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


def _factory(server: _Server, tls: ServerTLS | None) -> Callable[[], asyncio.Protocol]:
    """What a listener makes of each accepted connection: plain, or TLS over ``tls``; with
    ``proxy_protocol``, its PROXY header is read first; past ``max_connections``, nothing."""

    def make() -> _Connection:
        return _Connection(server) if tls is None else _TLSConnection(server, tls)

    def admit() -> asyncio.Protocol:
        # Counted here, not in connection_made: asyncio makes a burst's transports a loop
        # turn after accepting them all.
        if not limit.admit(loop.time()):
            return _Refused()
        if proxied:
            return _ProxyHeaderConnection(server, make())
        return _FirstBytes(server) if tls is None else _TLSConnection(server, tls)

    limit, loop, proxied = server.limit, server.loop, server.config.proxy_protocol
    return admit


def run(
    app: ASGIApp, config: ServerConfig, *, listeners: Sockets = None, on_ready: Ready = None
) -> None:
    """Serve until SIGINT or SIGTERM, then shut down gracefully (the CLI's entry point)."""
    loop: asyncio.AbstractEventLoop
    if use_uvloop(config):
        import uvloop

        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    try:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(_serve_until_signal(app, config, listeners, on_ready))
    finally:
        asyncio.set_event_loop(None)
        loop.close()


async def _serve_until_signal(
    app: ASGIApp,
    config: ServerConfig,
    listeners: Sequence[Listening] | None,
    on_ready: OnReady | None,
) -> None:
    loop = asyncio.get_running_loop()
    serving = loop.create_task(serve(app, config, listeners=listeners, on_ready=on_ready))
    signals = ProgramSignals(serving.cancel)
    for signum in PROGRAM_SIGNALS:
        loop.add_signal_handler(signum, signals, signum)
    try:
        await serving
    except asyncio.CancelledError:
        if not signals.received:
            raise
    finally:
        for signum in PROGRAM_SIGNALS:
            loop.remove_signal_handler(signum)
