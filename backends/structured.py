"""The driver for structured-concurrency runtimes (trio, and anyio on asyncio or trio).

Each connection is a task that reads (and keeps the core's timer, as the deadline of the cancel
scope it reads in); its app calls run as tasks of the server's task group. Bytes go to the socket
at once when it takes them (``write`` is synchronous, so two app tasks never write at once);
what it does not take is sent by a writer task, which runs only while there is some. Nothing is
made for a connection until its first bytes, so one that sends nothing costs a task and a read.
Everything here is written against ``Runtime`` and the protocols beside it in ``runtime.py``;
``trio.py`` and ``anyio.py`` each supply one.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from asgi_core.httpdate import DateHeader
from asgi_core.proxy import ProxyProtocolError

from .config import ServerConfig
from .driver import AppStream, ASGIApp, DriverConnection, Waiter
from .lifecycle import AppCalls, ConnectionLimit, log_cut, log_draining, log_waiting
from .lifespan import LifespanRunner
from .logs import logger
from .nonblocking import NonBlockingStream
from .proxy_protocol import ProxyHeaderReader, ReplayedStream
from .run import PROGRAM_SIGNALS, Address, OnReady, ProgramSignals, report_ready
from .runtime import CancelScope, Event, Listener, Runtime, Stream, TaskGroup, TaskStatus
from .sockets import Listening, as_listening, close_listeners, open_listeners, socket_address
from .tls import ServerTLS, TLSStream, watch_certificates

T = TypeVar("T")

READ_SIZE = 64 * 1024
#: Bytes queued for a socket before an app's ``send()`` waits for the writer.
WRITE_HIGH_WATER = 64 * 1024
#: The largest send while ``--min-response-rate`` is on: what the peer takes is seen per slice.
WATCHED_SEND = 16 * 1024
#: Seconds a TLS close_notify may take to leave before the socket is closed without it.
CLOSE_NOTIFY_TIMEOUT = 1.0


@dataclass(eq=False)
class StructuredServer:
    """What every connection of one server shares."""

    runtime: Runtime
    app: ASGIApp
    config: ServerConfig
    state: dict[str, Any]
    tls: ServerTLS | None
    stopping: bool = field(default=False, init=False)
    date: DateHeader = field(default_factory=lambda: DateHeader(time.time()), init=False)
    connections: set[StructuredConnection] = field(default_factory=set, init=False)
    calls: AppCalls = field(init=False)
    limit: ConnectionLimit = field(init=False)
    #: Set (and replaced) whenever a connection closes or the last app call ends.
    progress: Event = field(init=False)
    #: The connections' tasks, and their app calls' and writers' (under the shutdown shield).
    tasks: TaskGroup | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.progress = self.runtime.event()
        self.calls = AppCalls(self.config)
        self.calls.on_idle = self.notify
        self.limit = ConnectionLimit(self.config)

    def start_task(self, function: Callable[..., Awaitable[object]], *args: Any) -> None:
        """Run a connection's app call or writer in the server's task group (a connection
        owns no task group: an idle one is then a task and a read)."""
        assert self.tasks is not None
        self.tasks.start_soon(_contained, function, *args)

    def notify(self) -> None:
        self.progress.set()
        self.progress = self.runtime.event()

    def connection_opened(self, connection: StructuredConnection) -> None:
        self.connections.add(connection)

    def connection_ended(self, connection: StructuredConnection) -> None:
        if connection in self.connections:
            self.connections.discard(connection)
            self.notify()

    async def all_done(self) -> None:
        """Until every connection is closed and every application call has returned."""
        while self.connections or self.calls.running:
            await self.progress.wait()


class StructuredConnection(DriverConnection):
    """One TCP connection as a task with its reader (which keeps the timer), writer and apps."""

    __slots__ = ("_deadline_scope", "_drained", "_finished", "_finished_event",
                 "_handshake_scope", "_in_flight", "_out", "_receive", "_resume_reading",
                 "_send", "_serving", "_tls", "_try_send", "_writer_scope", "_writing",
                 "listener_tls", "runtime", "server", "stream")  # fmt: skip

    def __init__(
        self, server: StructuredServer, stream: Stream, tls: ServerTLS | None = None
    ) -> None:
        self.server = server
        #: The TLS the listener that accepted it speaks (None: plain).
        self.listener_tls = tls
        self.runtime = server.runtime
        self.stream = stream
        self._tls: TLSStream | None = None
        self._receive: Callable[[int], Awaitable[bytes]] = stream.receive
        self._send: Callable[[bytes], Awaitable[bool]] = stream.send
        #: The socket's own non-blocking send, tried before any writer task (plain sockets).
        self._try_send: Callable[[bytes], int] | None = None
        #: The core exists (after the TLS handshake and the first bytes, if any).
        self._serving = False
        self._handshake_scope: CancelScope | None = None

    def _start_io(self) -> None:
        """What reading and writing need, made only once there is a core to serve."""
        stream = self.stream
        if self._tls is None and isinstance(stream, NonBlockingStream):
            self._try_send = stream.try_send
        #: Bytes for the socket that it did not take at once: a writer task sends them.
        self._out = bytearray()
        self._in_flight = 0
        #: A writer task is running (only while there is something to send).
        self._writing = False
        self._writer_scope: CancelScope | None = None
        # Events are made when first waited for: most connections never wait on them.
        self._drained: Event | None = None
        self._resume_reading: Event | None = None
        #: The socket may close: it is to close and nothing is left to send.
        self._finished = False
        self._finished_event: Event | None = None
        #: The scope a read waits in: its deadline is the timer, and it is cancelled when
        #: the socket is to close.
        self._deadline_scope: CancelScope | None = None

    def shutdown(self) -> None:
        """Graceful shutdown; one still in its TLS handshake has no request to wait for, so
        the handshake is cut and the socket closed."""
        if self._serving:
            super().shutdown()
        elif self._handshake_scope is not None:
            self._handshake_scope.cancel()

    def abort(self) -> None:
        """The graceful timeout passed: the socket is cut before the apps are cancelled, so
        that what they leave unanswered is not answered (asyncio's driver aborts alike)."""
        if self._serving:
            self.cut()

    async def run(self) -> None:
        runtime = self.runtime
        server = self.server
        peer, local = self.stream.addresses()
        client, own, scheme = socket_address(peer), socket_address(local), "http"
        proxied_tls: dict[str, Any] | None = None
        if server.config.proxy_protocol:
            proxied = await self._proxy_header(peer, local)
            if proxied is None:
                with runtime.cancel_scope(shield=True):
                    await self._close_stream()
                return
            client, own, scheme = proxied.client, proxied.server, proxied.scheme or scheme
            proxied_tls = proxied.tls
        tls = self.listener_tls
        alpn, tls_info = None, None
        if tls is not None:
            try:
                self._tls = stream = await self._handshake(tls, peer)
            finally:
                if self._tls is None:  # failed, timed out, or cancelled by the shutdown
                    with runtime.cancel_scope(shield=True):
                        await self._close_stream()
            if stream is None:
                return
            self._receive = stream.receive
            self._send = stream.send
            scheme, alpn, tls_info = "https", tls.alpn(stream.ssl), tls.extension(stream.ssl)
        tls_info = proxied_tls or tls_info  # the client's TLS, which the proxy ended, not ours
        first = b""
        if alpn != "h2":  # the client speaks first: nothing is made for it until it does
            first = await self._first_bytes()
            if not first:
                with runtime.cancel_scope(shield=True):
                    await self._close_stream()
                return
        self._start_io()
        self.start_core(server, client=client, local=own, scheme=scheme, alpn=alpn, tls=tls_info)
        self._serving = True
        try:
            self.pump()
            if first:
                self.core.receive_data(first, runtime.current_time())
                self.pump()
            if server.stopping:  # its handshake ended after the shutdown began
                self.shutdown()
            await self._read_loop()
            if not self._finished:  # e.g. the client's EOF came before its answer
                self._finished_event = finished = runtime.event()
                await finished.wait()
            if self._tls is not None:
                deadline = runtime.current_time() + CLOSE_NOTIFY_TIMEOUT
                with runtime.cancel_scope(deadline=deadline):
                    await self._tls.send_close_notify()
            # The app tasks outlive the socket: they see http.disconnect and finish.
        finally:
            server.connection_ended(self)
            with runtime.cancel_scope(shield=True):
                await self._close_stream()

    async def _first_bytes(self) -> bytes:
        """What the client sends first, within the keep-alive timeout (b"": it left or is
        late, and is closed as the core would close it). A storm of connections that send
        nothing costs a task and a read each, no core and no task groups. A shutdown does
        not cut the wait: the client may be sending its request (the core's rule too)."""
        runtime = self.runtime
        timeout = self.server.limit.first_bytes_timeout()
        with runtime.cancel_scope(deadline=runtime.current_time() + timeout):
            return await self._receive(READ_SIZE)
        return b""

    async def _proxy_header(self, peer: Any, local: Any) -> ProxyHeaderReader | None:
        """The PROXY header within its timeout; None (logged) when the peer may not send one,
        it is malformed, late, or the shutdown cut it. What followed it is read again."""
        reader = ProxyHeaderReader(self.server.config, peer, local)
        if not reader.trusted:
            reader.refuse("a PROXY header from a peer not in --forwarded-allow-ips")
            return None
        runtime = self.runtime
        done = False
        with runtime.cancel_scope(deadline=runtime.current_time() + reader.timeout) as scope:
            self._handshake_scope = scope
            if self.server.stopping:
                scope.cancel()
            try:
                while not done:
                    done = reader.feed(await self.stream.receive(READ_SIZE))
            except ProxyProtocolError as exc:
                reader.refuse(exc)
                return None
            finally:
                self._handshake_scope = None
        if not done:
            reader.refuse(f"no whole PROXY header within {reader.timeout:g} s (or a shutdown)")
            return None
        if reader.rest:
            self.stream = stream = ReplayedStream(self.stream, reader.rest)
            self._receive, self._send = stream.receive, stream.send
        return reader

    async def _handshake(self, tls: ServerTLS, peer: Any) -> TLSStream | None:
        """The TLS handshake within ``tls.handshake_timeout``; None (logged at debug level,
        the socket left to close) when it fails, times out or the client leaves."""
        runtime = self.runtime
        deadline = runtime.current_time() + self.server.limit.timeout(tls.handshake_timeout)
        stream: TLSStream | None = None
        with runtime.cancel_scope(deadline=deadline) as scope:
            self._handshake_scope = scope
            if self.server.stopping:
                scope.cancel()
            try:
                stream = await TLSStream.accept(tls.context, self.stream, runtime.event, READ_SIZE)
            except ssl.SSLError as exc:
                logger.debug("TLS handshake with %s failed: %s", peer, exc)
        self._handshake_scope = None
        if scope.cancelled_caught:
            logger.debug("TLS handshake with %s timed out or was cut by a shutdown", peer)
        return stream

    async def _close_stream(self) -> None:
        try:
            await self.stream.aclose()
        except Exception:  # already closed or broken: nothing left to release
            logger.debug("closing a connection's socket failed", exc_info=True)

    # -- reading and writing -----------------------------------------------------------------

    async def _read_loop(self) -> None:
        """Read, and fire the core's timer: a read waits in a scope whose deadline is it."""
        runtime = self.runtime
        infinity = float("inf")
        while not self.transport_closed:
            deadline = self.armed_deadline
            with runtime.cancel_scope(deadline=infinity if deadline is None else deadline) as scope:
                self._deadline_scope = scope
                data: bytes | None = None
                if self.read_paused:
                    self._resume_reading = resume = runtime.event()
                    await resume.wait()
                else:
                    data = await self._receive(READ_SIZE)
            self._deadline_scope = None
            if self.transport_closed:
                return
            if scope.cancelled_caught:
                self.on_timer()
                continue
            if data is None:  # reading may resume
                continue
            self.core.receive_data(data, runtime.current_time())
            self.pump()
            if not data:
                return

    async def _write_loop(self) -> None:
        """Send what the socket did not take at once; a task only while there is some."""
        try:
            with self.runtime.cancel_scope() as scope:
                self._writer_scope = scope
                out = self._out
                while out:
                    if self.send_rate is not None and len(out) > WATCHED_SEND:
                        # Slices, so that what the peer takes shows before a large send ends.
                        data = bytes(out[:WATCHED_SEND])
                        del out[:WATCHED_SEND]
                    else:
                        data = bytes(out)
                        out.clear()
                    self._in_flight = len(data)
                    delivered = await self._send(data)
                    self._in_flight = 0
                    if not delivered:
                        self.transport_lost()
                        return
                    if not self.write_blocked:
                        self._wake_drainers()
                        self.update_reading()
        finally:
            self._writing = False
            self._writer_scope = None
            if self.transport_closed:
                self._finish()

    # -- DriverConnection primitives ----------------------------------------------------------

    def now(self) -> float:
        return self.runtime.current_time()

    def new_waiter(self) -> Waiter:
        event: Waiter = self.runtime.event()
        return event

    def spawn_app(self, stream: AppStream) -> None:
        self.server.start_task(self.run_app, stream)

    def write(self, data: bytes) -> None:
        if not self._writing:
            try_send = self._try_send
            if try_send is not None:
                sent = try_send(data)
                if sent == len(data):
                    return
                data = data[sent:]
            self._writing = True
            self.server.start_task(self._write_loop)
        self._out += data
        if self.write_blocked:
            self.update_reading()

    def close_transport(self) -> None:
        self._stop_reading()
        self._wake_drainers()  # a send() waiting to drain returns; its next one raises
        if not self._writing:  # else the writer sends what is queued, then says so
            self._finish()

    def _stop_reading(self) -> None:
        scope = self._deadline_scope
        if scope is not None:
            scope.cancel()

    def _wake_drainers(self) -> None:
        drained = self._drained
        if drained is not None:
            drained.set()

    def _finish(self) -> None:
        self._finished = True
        finished = self._finished_event
        if finished is not None:
            finished.set()

    def set_reading_paused(self, paused: bool) -> None:
        resume = self._resume_reading
        if not paused and resume is not None:
            resume.set()

    def rearm_timer(self, deadline: float | None) -> None:
        scope = self._deadline_scope
        if scope is not None:
            scope.deadline = float("inf") if deadline is None else deadline

    @property
    def write_blocked(self) -> bool:
        return len(self._out) + self._in_flight > WRITE_HIGH_WATER

    def write_backlog(self) -> int:
        # What is in flight counts whole until the send returns: take it in slices while a
        # send rate is watched (WATCHED_SEND).
        return len(self._out) + self._in_flight

    def cut(self) -> None:
        scope = self._writer_scope
        if scope is not None:
            scope.cancel()  # the writer, stuck in a send the peer does not read
        self.transport_lost()

    async def drain(self) -> None:
        while self.write_blocked and not self.transport_closed:
            drained = self._drained
            if drained is None or drained.is_set():  # shared: every stream's send() waits on it
                self._drained = drained = self.runtime.event()
            await drained.wait()

    async def run_in_thread(self, function: Callable[..., T], *args: Any) -> T:
        result: T = await self.runtime.run_sync(function, *args)
        return result

    def transport_lost(self) -> None:
        if self.transport_closed and self.core.closed:
            return
        super().transport_lost()
        self._stop_reading()
        self._wake_drainers()
        self._finish()


async def serve_structured(
    runtime: Runtime,
    app: ASGIApp,
    config: ServerConfig,
    *,
    on_ready: OnReady | None,
    task_status: TaskStatus[list[Address]],
    stop_now: Event | None = None,
    listeners: Sequence[socket.socket | Listening] | None = None,
) -> None:
    """Serve until cancelled, then shut down gracefully (see the backends' ``serve``)."""
    lifespan = LifespanRunner(app, config.lifespan, runtime.event)
    failure: Exception | None = None
    # The lifespan call must outlive the cancellation that starts a shutdown: it still has
    # to receive lifespan.shutdown.
    lifespan_shield = runtime.cancel_scope(shield=True)

    async def run_lifespan() -> None:
        with lifespan_shield:
            await lifespan.run_app()

    async with runtime.task_group() as lifespan_group:
        if lifespan.enabled:
            lifespan_group.start_soon(run_lifespan)
        try:
            await lifespan.startup()
            await _serve_started(
                runtime, app, config, lifespan.state, on_ready, task_status, stop_now, listeners
            )
        except Exception as exc:
            # Raised after the task group, so callers see it plain (not in an ExceptionGroup).
            failure = exc
        finally:
            with runtime.cancel_scope(shield=True):
                await lifespan.shutdown()
                logger.info("Shutdown complete")
            lifespan_shield.cancel()
    if failure is not None:
        raise failure


async def _serve_started(
    runtime: Runtime,
    app: ASGIApp,
    config: ServerConfig,
    state: dict[str, Any],
    on_ready: OnReady | None,
    task_status: TaskStatus[list[Address]],
    stop_now: Event | None,
    given: Sequence[socket.socket | Listening] | None,
) -> None:
    listening = open_listeners(config) if given is None else as_listening(given, config.tls)
    tls = ServerTLS.from_config(config) if any(item.tls for item in listening) else None
    server = StructuredServer(runtime, app, config, state, tls)
    listeners = [(runtime.listener(item.socket), item.tls) for item in listening]
    # Connections live under a shield: cancelling serve() starts a graceful shutdown, and
    # only once that is over (or timed out) are they cancelled.
    shield = runtime.cancel_scope(shield=True)

    async def connections(*, task_status: TaskStatus[TaskGroup]) -> None:
        with shield:
            async with runtime.task_group() as group:
                task_status.started(group)
                await runtime.sleep_forever()

    async with runtime.task_group() as outer:
        group = server.tasks = await outer.start(connections)
        # Accepting and the Date header go on under the shield: through the drain, until the
        # listeners close.
        for listener, uses_tls in listeners:
            group.start_soon(_accept_loop, runtime, listener, server, group, uses_tls)
        group.start_soon(_tick_date, runtime, server)
        task_status.started(report_ready(on_ready, listening))
        stop_watch = watch_certificates(tls, config)
        try:
            await runtime.sleep_forever()
        finally:
            stop_watch()
            with runtime.cancel_scope(shield=True):
                hurry = await _drain(server, stop_now)
                server.stopping = True
                for listener, _ in listeners:
                    await listener.aclose()
                if given is None:
                    close_listeners(listening)
                for connection in list(server.connections):
                    connection.shutdown()
                if not hurry:
                    await _wait_graceful(server, stop_now)
                for connection in list(server.connections):
                    connection.abort()
            shield.cancel()
            outer.cancel_scope.cancel()


async def _drain(server: StructuredServer, stop_now: Event | None) -> bool:
    """Keep serving for ``shutdown_delay`` with the health path at 503; True when a second
    signal (``stop_now``) cut it short: then the shutdown does not wait either."""
    config, runtime = server.config, server.runtime
    if not config.shutdown_delay:
        return False
    server.calls.draining = True
    log_draining(config)
    with runtime.cancel_scope(deadline=runtime.current_time() + config.shutdown_delay):
        await _first_of(runtime, stop_now.wait if stop_now is not None else None)
    return stop_now is not None and stop_now.is_set()


async def _wait_graceful(server: StructuredServer, stop_now: Event | None) -> None:
    """Wait for every connection and application call, at most ``graceful_timeout``."""
    runtime, timeout = server.runtime, server.config.graceful_timeout
    log_waiting(server.calls, len(server.connections), timeout)
    with runtime.cancel_scope(deadline=runtime.current_time() + timeout):
        await _first_of(runtime, server.all_done, stop_now.wait if stop_now is not None else None)
    if server.connections or server.calls.running:
        log_cut(server.calls, len(server.connections), timeout)


async def _first_of(runtime: Runtime, *waits: Callable[[], Awaitable[object]] | None) -> None:
    """Wait until any of ``waits`` (None entries ignored) returns; with none, forever."""
    async with runtime.task_group() as group:

        async def wait(until: Callable[[], Awaitable[object]]) -> None:
            await until()
            group.cancel_scope.cancel()

        started = False
        for until in waits:
            if until is not None:
                group.start_soon(wait, until)
                started = True
        if not started:
            await runtime.sleep_forever()


async def _accept_loop(
    runtime: Runtime, listener: Listener, server: StructuredServer, group: TaskGroup, tls: bool
) -> None:
    while True:
        try:
            stream = await listener.accept()
        except runtime.listener_closed_errors:
            return
        except OSError as exc:  # e.g. out of file descriptors: wait, do not spin
            logger.error("accepting a connection failed: %s", exc)
            await runtime.sleep(0.1)
            continue
        if not server.limit.admit(runtime.current_time()):
            try:
                await stream.aclose()
            except Exception:  # already reset by the peer: nothing left to release
                logger.debug("closing a refused connection failed", exc_info=True)
            continue
        # Counted from accept on, so that a shutdown beginning now waits for it.
        connection = StructuredConnection(server, stream, server.tls if tls else None)
        server.connection_opened(connection)
        group.start_soon(_run_connection, server, connection)


async def _run_connection(server: StructuredServer, connection: StructuredConnection) -> None:
    """One connection's task; a bug in it must not take the other connections down."""
    try:
        await connection.run()
    except Exception:
        logger.exception("a connection failed")
    finally:
        server.connection_ended(connection)
        server.limit.release()


async def _contained(function: Callable[..., Awaitable[object]], *args: Any) -> None:
    """A bug in one connection's task must not take the other connections down."""
    try:
        await function(*args)
    except Exception:
        logger.exception("a connection failed")


async def _tick_date(runtime: Runtime, server: StructuredServer) -> None:
    while True:
        server.date.update(time.time())
        await runtime.sleep(1.0)


async def serve_until_signal(
    runtime: Runtime,
    app: ASGIApp,
    config: ServerConfig,
    listeners: Sequence[Listening] | None = None,
    on_ready: OnReady | None = None,
) -> None:
    """The CLI's server: the first SIGINT/SIGTERM shuts down gracefully, a second at once."""
    stop_now = runtime.event()
    serving = runtime.cancel_scope()
    failure: Exception | None = None
    signals = ProgramSignals(lambda: stop_now.set() if serving.cancel_called else serving.cancel())

    async def watch_signals() -> None:
        with runtime.open_signal_receiver(*PROGRAM_SIGNALS) as received:
            async for signum in received:
                signals(signum)

    async with runtime.task_group() as group:
        group.start_soon(watch_signals)
        try:
            with serving:
                await serve_structured(
                    runtime,
                    app,
                    config,
                    on_ready=on_ready,
                    task_status=_IgnoreStatus(),
                    stop_now=stop_now,
                    listeners=listeners,
                )
        except Exception as exc:  # raised after the group, plain (LifespanFailure, OSError)
            failure = exc
        group.cancel_scope.cancel()
    if failure is not None:
        raise failure


class _IgnoreStatus:
    def started(self, value: object = None, /) -> None:
        pass
