"""The driver for structured-concurrency runtimes (trio, and anyio on asyncio or trio).

Each connection is a task that owns a task group: one reader (which also keeps the core's timer,
as the deadline of the cancel scope it reads in), one writer (the only place bytes leave, so two
app tasks can never write at once), and the connection's app tasks.
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

from asgi_core.connection import ServerConnection
from asgi_core.httpdate import DateHeader

from .config import ServerConfig
from .driver import AppStream, ASGIApp, DriverConnection, Waiter
from .lifespan import LifespanRunner
from .logs import logger
from .run import SHUTDOWN_SIGNALS, Address, OnReady, ShutdownSignals, report_ready
from .runtime import CancelScope, Event, Listener, Runtime, Stream, TaskGroup, TaskStatus
from .sockets import Listening, as_listening, close_listeners, open_listeners, socket_address
from .tls import ServerTLS, TLSStream

T = TypeVar("T")

READ_SIZE = 64 * 1024
#: Bytes queued for a socket before an app's ``send()`` waits for the writer.
WRITE_HIGH_WATER = 64 * 1024
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
    #: Set while no connection is open.
    all_closed: Event = field(init=False)

    def __post_init__(self) -> None:
        self.all_closed = self.runtime.event()
        self.all_closed.set()

    def connection_opened(self, connection: StructuredConnection) -> None:
        self.connections.add(connection)
        if self.all_closed.is_set():
            self.all_closed = self.runtime.event()

    def connection_ended(self, connection: StructuredConnection) -> None:
        self.connections.discard(connection)
        if not self.connections:
            self.all_closed.set()


class StructuredConnection(DriverConnection):
    """One TCP connection as a task with its reader (which keeps the timer), writer and apps."""

    def __init__(
        self, server: StructuredServer, stream: Stream, tls: ServerTLS | None = None
    ) -> None:
        self.server = server
        #: The TLS the listener that accepted it speaks (None: plain).
        self.listener_tls = tls
        self.runtime = runtime = server.runtime
        self.stream = stream
        self._tls: TLSStream | None = None
        self._receive: Callable[[int], Awaitable[bytes]] = stream.receive
        self._send: Callable[[bytes], Awaitable[bool]] = stream.send
        self._out = bytearray()
        self._in_flight = 0
        self._writer_wakeup = runtime.event()
        self._drained = runtime.event()
        self._resume_reading = runtime.event()
        self._read_scope = runtime.cancel_scope()  # cancelled when the socket is to close
        #: The scope a read waits in; its deadline is the timer.
        self._deadline_scope: CancelScope | None = None
        self._apps: TaskGroup | None = None

    async def run(self) -> None:
        runtime = self.runtime
        server = self.server
        peer, local = self.stream.addresses()
        tls = self.listener_tls
        scheme, alpn, tls_info = "http", None, None
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
        core = ServerConnection(
            server.config.protocol,
            client=socket_address(peer),
            server=socket_address(local),
            scheme=scheme,
            alpn=alpn,
            tls=tls_info,
            state=server.state,
            date=server.date,
            now=runtime.current_time(),
        )
        self.init_driver(core, server.app, server.config.access_log)
        server.connection_opened(self)
        try:
            async with runtime.task_group() as apps:
                self._apps = apps
                async with runtime.task_group() as io:
                    self.pump()
                    if server.stopping:  # its handshake ended after the shutdown began
                        self.shutdown()
                    io.start_soon(self._read_loop)
                    await self._write_loop()  # returns once the socket is to be closed
                    io.cancel_scope.cancel()
                await self._close_stream()
                server.connection_ended(self)
                # The app tasks outlive the socket: they see http.disconnect and finish.
        finally:
            server.connection_ended(self)
            with runtime.cancel_scope(shield=True):
                await self._close_stream()

    async def _handshake(self, tls: ServerTLS, peer: Any) -> TLSStream | None:
        """The TLS handshake within ``tls.handshake_timeout``; None (logged at debug level,
        the socket left to close) when it fails, times out or the client leaves."""
        runtime = self.runtime
        deadline = runtime.current_time() + tls.handshake_timeout
        stream: TLSStream | None = None
        with runtime.cancel_scope(deadline=deadline) as scope:
            try:
                stream = await TLSStream.accept(tls.context, self.stream, runtime.event, READ_SIZE)
            except ssl.SSLError as exc:
                logger.debug("TLS handshake with %s failed: %s", peer, exc)
        if scope.cancelled_caught:
            logger.debug("TLS handshake with %s timed out", peer)
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
        with self._read_scope:
            while not self.transport_closed:
                deadline = self.armed_deadline
                with runtime.cancel_scope(
                    deadline=infinity if deadline is None else deadline
                ) as scope:
                    self._deadline_scope = scope
                    data: bytes | None = None
                    if self.read_paused:
                        self._resume_reading = runtime.event()
                        await self._resume_reading.wait()
                    else:
                        data = await self._receive(READ_SIZE)
                self._deadline_scope = None
                if scope.cancelled_caught:
                    self.on_timer()
                    continue
                if data is None:  # reading may resume
                    continue
                if self.transport_closed:
                    return
                self.core.receive_data(data, runtime.current_time())
                self.pump()
                if not data:
                    return

    async def _write_loop(self) -> None:
        """The one place this connection's bytes leave; ends when the socket is to close."""
        runtime = self.runtime
        while True:
            if not self._out:
                if self.transport_closed:
                    if self._tls is not None:
                        deadline = runtime.current_time() + CLOSE_NOTIFY_TIMEOUT
                        with runtime.cancel_scope(deadline=deadline):
                            await self._tls.send_close_notify()
                    return
                self._writer_wakeup = runtime.event()
                await self._writer_wakeup.wait()
                continue
            data = bytes(self._out)
            self._out.clear()
            self._in_flight = len(data)
            delivered = await self._send(data)
            self._in_flight = 0
            if not delivered:
                self.transport_lost()
                return
            if not self.write_blocked:
                self._drained.set()
                self.update_reading()

    # -- DriverConnection primitives ----------------------------------------------------------

    def now(self) -> float:
        return self.runtime.current_time()

    def new_waiter(self) -> Waiter:
        event: Waiter = self.runtime.event()
        return event

    def spawn_app(self, stream: AppStream) -> None:
        assert self._apps is not None
        self._apps.start_soon(self.run_app, stream)

    def write(self, data: bytes) -> None:
        self._out += data
        self._writer_wakeup.set()
        if self.write_blocked:
            self.update_reading()

    def close_transport(self) -> None:
        self._read_scope.cancel()
        self._drained.set()  # a send() waiting to drain returns; its next one raises
        self._writer_wakeup.set()  # the writer flushes what is queued, then returns

    def set_reading_paused(self, paused: bool) -> None:
        if not paused:
            self._resume_reading.set()

    def rearm_timer(self, deadline: float | None) -> None:
        scope = self._deadline_scope
        if scope is not None:
            scope.deadline = float("inf") if deadline is None else deadline

    @property
    def write_blocked(self) -> bool:
        return len(self._out) + self._in_flight > WRITE_HIGH_WATER

    async def drain(self) -> None:
        while self.write_blocked and not self.transport_closed:
            if self._drained.is_set():  # shared: every stream's send() may wait on it
                self._drained = self.runtime.event()
            await self._drained.wait()

    async def run_in_thread(self, function: Callable[..., T], *args: Any) -> T:
        result: T = await self.runtime.run_sync(function, *args)
        return result

    def transport_lost(self) -> None:
        if self.transport_closed and self.core.closed:
            return
        super().transport_lost()
        self._read_scope.cancel()
        self._drained.set()
        self._writer_wakeup.set()


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
        group = await outer.start(connections)
        for listener, uses_tls in listeners:
            outer.start_soon(_accept_loop, runtime, listener, server, group, uses_tls)
        outer.start_soon(_tick_date, runtime, server)
        task_status.started(report_ready(on_ready, listening))
        try:
            await runtime.sleep_forever()
        finally:
            server.stopping = True
            with runtime.cancel_scope(shield=True):
                for listener, _ in listeners:
                    await listener.aclose()
                if given is None:
                    close_listeners(listening)
                for connection in list(server.connections):
                    connection.shutdown()
                with runtime.cancel_scope(
                    deadline=runtime.current_time() + config.graceful_timeout
                ):
                    await _first_of(runtime, server.all_closed, stop_now)
            shield.cancel()
            outer.cancel_scope.cancel()


async def _first_of(runtime: Runtime, *events: Event | None) -> None:
    """Wait until any of ``events`` (None entries ignored) is set."""
    async with runtime.task_group() as group:

        async def wait(event: Event) -> None:
            await event.wait()
            group.cancel_scope.cancel()

        for event in events:
            if event is not None:
                group.start_soon(wait, event)


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
        group.start_soon(_run_connection, server, stream, tls)


async def _run_connection(server: StructuredServer, stream: Stream, tls: bool) -> None:
    """One connection's task; a bug in it must not take the other connections down."""
    try:
        await StructuredConnection(server, stream, server.tls if tls else None).run()
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
) -> None:
    """The CLI's server: the first SIGINT/SIGTERM shuts down gracefully, a second at once."""
    stop_now = runtime.event()
    serving = runtime.cancel_scope()
    failure: Exception | None = None
    signals = ShutdownSignals(lambda: stop_now.set() if serving.cancel_called else serving.cancel())

    async def watch_signals() -> None:
        with runtime.open_signal_receiver(*SHUTDOWN_SIGNALS) as received:
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
                    on_ready=None,
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
