"""The asyncio driver: ``asyncio.Protocol`` callbacks feed ``ServerConnection``.

It holds no protocol knowledge: after every input it acts on the core's events, writes
``data_to_send()``, pauses or resumes reading as the core says, and re-arms one timer at the
core's ``next_deadline``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections import deque
from collections.abc import Callable
from typing import Any, cast

from ..connection import ServerConnection
from ..errors import ClientDisconnected
from ..events import AppReceive, CloseConnection, SendAllowed, StreamStarted
from ..httpdate import DateHeader
from ..lifespan import (
    LifespanMachine,
    LifespanUnsupported,
    ShutdownComplete,
    ShutdownFailed,
    StartupComplete,
    StartupFailed,
)
from .config import ServerConfig
from .logs import log_access, log_app_error, logger
from .sockets import bind_socket, raise_open_file_limit, socket_address

ASGIApp = Callable[..., Any]
Address = tuple[str, int]
FILE_CHUNK = 256 * 1024


class LifespanFailure(Exception):
    """Startup failed (or lifespan "on" and the app does not support it): do not serve."""


class _Server:
    """What every connection of one server shares."""

    def __init__(self, app: ASGIApp, config: ServerConfig, state: dict[str, Any]) -> None:
        self.app = app
        self.config = config
        self.state = state
        self.loop = asyncio.get_running_loop()
        self.date = DateHeader(time.time())
        self.connections: set[_Connection] = set()
        self.all_closed = asyncio.Event()
        self.all_closed.set()
        self.tasks: set[asyncio.Task[None]] = set()

    def tick_date(self) -> None:
        self.date.update(time.time())


class _AppStream:
    """One stream's ``receive`` and ``send``, as the application calls them."""

    __slots__ = ("conn", "inbox", "scope", "send_waiter", "stream_id", "waiter")

    def __init__(self, conn: _Connection, stream_id: int, scope: dict[str, Any]) -> None:
        self.conn = conn
        self.stream_id = stream_id
        self.scope = scope
        self.inbox: deque[dict[str, Any]] = deque()
        self.waiter: asyncio.Future[None] | None = None
        self.send_waiter: asyncio.Future[None] | None = None

    async def receive(self) -> dict[str, Any]:
        if not self.inbox:
            conn = self.conn
            conn.core.app_receive(self.stream_id, conn.loop.time())
            conn.pump()
            while not self.inbox:
                self.waiter = conn.loop.create_future()
                try:
                    await self.waiter
                finally:
                    self.waiter = None
        return self.inbox.popleft()

    async def send(self, message: dict[str, Any]) -> None:
        conn = self.conn
        try:
            may_return = conn.core.app_send(self.stream_id, message, conn.loop.time())
        finally:
            conn.pump()  # also when it raised: the core may have answered 500 already
        if not may_return:
            self.send_waiter = conn.loop.create_future()
            try:
                await self.send_waiter
            finally:
                self.send_waiter = None
        if conn.access_log and message.get("type") == "http.response.start":
            log_access(self.scope, message["status"])
        if message.get("type") == "http.response.pathsend":
            await self._send_file(message["path"])
        if conn.write_paused:
            await conn.drain()

    async def _send_file(self, path: str) -> None:
        """``http.response.pathsend``: the file's bytes go through the core as body."""
        loop = self.conn.loop
        with await loop.run_in_executor(None, open, path, "rb") as file:
            while True:
                chunk = await loop.run_in_executor(None, file.read, FILE_CHUNK)
                await self.send(
                    {"type": "http.response.body", "body": chunk, "more_body": bool(chunk)}
                )
                if not chunk:
                    return

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class _Connection(asyncio.Protocol):
    """One TCP connection: the transport's callbacks in, the core's events out."""

    def __init__(self, server: _Server) -> None:
        self.server = server
        self.loop = server.loop
        self.access_log = server.config.access_log
        self.streams: dict[int, _AppStream] = {}
        self.write_paused = False
        self.read_paused = False
        self.transport_closed = False
        self._drain_waiters: list[asyncio.Future[None]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._deadline: float | None = None

    # -- transport callbacks ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        server = self.server
        self.core = ServerConnection(
            server.config.protocol,
            client=socket_address(transport.get_extra_info("peername")),
            server=socket_address(transport.get_extra_info("sockname")),
            scheme="http",
            state=server.state,
            date=server.date,
            now=self.loop.time(),
        )
        server.connections.add(self)
        server.all_closed.clear()
        self._arm_timer()

    def data_received(self, data: bytes) -> None:
        self.core.receive_data(data, self.loop.time())
        self.pump()

    def eof_received(self) -> bool | None:
        self.core.receive_data(b"", self.loop.time())
        self.pump()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport_closed = True
        self.core.connection_lost(self.loop.time())
        self.pump()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._wake_drainers()
        for stream in self.streams.values():
            waiter = stream.send_waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        server = self.server
        server.connections.discard(self)
        if not server.connections:
            server.all_closed.set()

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        self._wake_drainers()

    # -- the loop around the core -------------------------------------------------------------

    def pump(self) -> None:
        """Act on everything the core asked for, in order."""
        core = self.core
        close = False
        while (event := core.next_event()) is not None:
            kind = type(event)
            if kind is AppReceive:
                stream = self.streams.get(event.stream_id)  # type: ignore[union-attr]
                if stream is not None:
                    stream.inbox.append(event.message)  # type: ignore[union-attr]
                    stream.wake()
            elif kind is StreamStarted:
                self._start_app(event.stream_id, event.scope)  # type: ignore[union-attr]
            elif kind is SendAllowed:
                stream = self.streams.get(event.stream_id)  # type: ignore[union-attr]
                waiter = stream.send_waiter if stream is not None else None
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)
            elif kind is CloseConnection:
                close = True
        if self.transport_closed:
            return
        data = core.data_to_send()
        if data:
            self.transport.write(data)
        if close:
            self.transport.close()
            self.transport_closed = True
            return
        if core.reading_paused is not self.read_paused:
            self.read_paused = not self.read_paused
            if self.read_paused:
                self.transport.pause_reading()
            else:
                self.transport.resume_reading()
        if core.next_deadline != self._deadline:
            self._arm_timer()

    def _arm_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._deadline = deadline = self.core.next_deadline
        if deadline is not None:
            self._timer = self.loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        deadline = self._deadline
        self._deadline = None
        # The loop may fire a hair early (its clock resolution); the core must see it as due.
        now = self.loop.time()
        self.core.handle_timeout(now if deadline is None else max(now, deadline))
        self.pump()

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

    # -- application tasks --------------------------------------------------------------------

    def _start_app(self, stream_id: int, scope: dict[str, Any]) -> None:
        stream = _AppStream(self, stream_id, scope)
        self.streams[stream_id] = stream
        task = self.loop.create_task(self._run_app(stream))
        self.server.tasks.add(task)
        task.add_done_callback(self.server.tasks.discard)

    async def _run_app(self, stream: _AppStream) -> None:
        error: BaseException | None = None
        try:
            await self.server.app(stream.scope, stream.receive, stream.send)
        except ClientDisconnected:
            pass  # the spec's OSError for a gone client: not the app's fault, not logged
        except asyncio.CancelledError as exc:
            error = exc
        except BaseException as exc:
            error = exc
            log_app_error(stream.scope, exc)
        finally:
            del self.streams[stream.stream_id]
            self.core.app_finished(stream.stream_id, error, self.loop.time())
            self.pump()

    def shutdown(self) -> None:
        self.core.start_shutdown(self.loop.time())
        self.pump()

    def abort(self) -> None:
        if not self.transport_closed:
            self.transport_closed = True
            self.transport.abort()


class _Lifespan:
    """Runs the application's lifespan scope through ``LifespanMachine``."""

    def __init__(self, app: ASGIApp, mode: str) -> None:
        self.app = app
        self.mode = mode
        self.machine = LifespanMachine()
        self.inbox: deque[dict[str, Any]] = deque()
        self.waiter: asyncio.Future[None] | None = None
        self.outcome: asyncio.Future[object] | None = None
        self.task: asyncio.Task[None] | None = None

    @property
    def state(self) -> dict[str, Any]:
        return self.machine.state

    async def startup(self) -> None:
        if self.mode == "off":
            return
        loop = asyncio.get_running_loop()
        self.outcome = loop.create_future()
        self.task = loop.create_task(self._main())
        self.machine.startup()
        self._pump()
        result = await self.outcome
        if isinstance(result, StartupFailed):
            raise LifespanFailure(f"application startup failed: {result.message or '(no message)'}")
        if isinstance(result, LifespanUnsupported):
            if self.mode == "on":
                raise LifespanFailure(f"application does not support lifespan: {result.error}")
            logger.info("ASGI 'lifespan' is not supported by the app; serving without it")

    async def shutdown(self) -> None:
        if self.task is None or self.outcome is None:
            return
        loop = asyncio.get_running_loop()
        self.outcome = loop.create_future()
        self.machine.shutdown()
        self._pump()
        result = await self.outcome
        if isinstance(result, ShutdownFailed):
            logger.error("application shutdown failed: %s", result.message or "(no message)")

    async def _main(self) -> None:
        error: BaseException | None = None
        try:
            await self.app(self.machine.scope, self._receive, self._send)
        except BaseException as exc:
            error = exc
            if self.mode == "on" or self.outcome is None or self.outcome.done():
                logger.error("lifespan raised", exc_info=exc)
        finally:
            self.machine.app_finished(error)
            self._pump()

    async def _receive(self) -> dict[str, Any]:
        if not self.inbox:
            self.machine.app_receive()
            self._pump()
            while not self.inbox:
                self.waiter = asyncio.get_running_loop().create_future()
                await self.waiter
        return self.inbox.popleft()

    async def _send(self, message: dict[str, Any]) -> None:
        self.machine.app_send(message)
        self._pump()

    def _pump(self) -> None:
        for event in self.machine.events():
            if isinstance(event, AppReceive):
                self.inbox.append(event.message)
                if self.waiter is not None and not self.waiter.done():
                    self.waiter.set_result(None)
            elif self.outcome is not None and not self.outcome.done():
                self.outcome.set_result(event)
            elif isinstance(event, (StartupComplete, ShutdownComplete)):
                pass


async def serve(
    app: ASGIApp,
    config: ServerConfig,
    *,
    on_ready: Callable[[list[Address]], object] | None = None,
) -> None:
    """Serve ``app`` until cancelled, then shut down gracefully.

    ``on_ready`` gets the bound addresses (useful with port 0) once the server accepts
    connections. Cancelling the awaiting task stops accepting, lets in-flight requests finish
    for up to ``config.graceful_timeout`` seconds, closes every connection, runs the lifespan
    shutdown, and then re-raises the cancellation.
    """
    lifespan = _Lifespan(app, config.lifespan)
    await lifespan.startup()
    try:
        await _serve_started(app, config, lifespan.state, on_ready)
    finally:
        await lifespan.shutdown()


async def _serve_started(
    app: ASGIApp,
    config: ServerConfig,
    state: dict[str, Any],
    on_ready: Callable[[list[Address]], object] | None,
) -> None:
    server = _Server(app, config, state)
    loop = server.loop
    sock = bind_socket(config.host, config.port, config.backlog)
    listener = await loop.create_server(
        lambda: _Connection(server), sock=sock, backlog=config.backlog
    )
    date_timer: asyncio.TimerHandle | None = None

    def tick() -> None:
        nonlocal date_timer
        server.tick_date()
        date_timer = loop.call_later(1.0, tick)

    tick()
    try:
        addresses = [a for s in listener.sockets if (a := socket_address(s.getsockname()))]
        if on_ready is not None:
            on_ready(addresses)
        await asyncio.Future()  # until cancelled
    finally:
        listener.close()
        for connection in list(server.connections):
            connection.shutdown()
        # A second cancellation (a second signal) skips the wait: stop now.
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(
                asyncio.shield(server.all_closed.wait()), config.graceful_timeout
            )
        for connection in list(server.connections):
            connection.abort()
        for task in list(server.tasks):
            task.cancel()
        if server.tasks:
            await asyncio.wait(list(server.tasks), timeout=5.0)
        if date_timer is not None:
            date_timer.cancel()
        with contextlib.suppress(Exception):
            await listener.wait_closed()


def run(app: ASGIApp, config: ServerConfig) -> None:
    """Serve until SIGINT or SIGTERM, then shut down gracefully (the CLI's entry point)."""
    raise_open_file_limit()
    if config.loop == "uvloop" or (config.loop == "auto" and _has_uvloop()):
        import uvloop

        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    try:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(_serve_until_signal(app, config))
    finally:
        asyncio.set_event_loop(None)
        loop.close()


async def _serve_until_signal(app: ASGIApp, config: ServerConfig) -> None:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    stopping = False

    def on_signal(signum: int) -> None:
        nonlocal stopping
        name = signal.Signals(signum).name
        if stopping:
            logger.warning("%s received again: closing every connection now", name)
        else:
            logger.info("%s received: shutting down gracefully", name)
        stopping = True
        serving.cancel()

    def ready(addresses: list[Address]) -> None:
        for host, port in addresses:
            shown = f"[{host}]" if ":" in host else host
            logger.info("Serving on http://%s:%d (pid %d)", shown, port, os.getpid())

    serving = loop.create_task(serve(app, config, on_ready=ready))
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        await serving
    except asyncio.CancelledError:
        if not stopping:
            raise
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def _has_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True
