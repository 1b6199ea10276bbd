"""An in-memory client that runs an ASGI app through the real core, with no sockets.

Requests go in as the bytes a client would send (HTTP/1.1, HTTP/2 frames, WebSocket frames),
through ``ServerConnection`` and the same driver code every backend uses; responses come back
as wire bytes and as parsed responses. It runs on anyio, so a test may use asyncio or trio.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio
import anyio.abc
import anyio.to_thread
import h2.config
import h2.connection
import h2.events
import h11
import wsproto
import wsproto.events

from ..backends.driver import AppStream, Waiter
from ..backends.memory import MemoryDriver
from ..config import Config
from ..httpdate import DateHeader

ASGIApp = Callable[..., Awaitable[None]]
Headers = list[tuple[bytes, bytes]]
T = TypeVar("T")

CLIENT = ("127.0.0.1", 50000)
SERVER = ("testserver", 80)


class AppHung(AssertionError):
    """The app did not answer (or did not return) within the client's timeout."""


class AppError(AssertionError):
    """The app raised; the original exception is the ``__cause__``."""


@dataclass
class Response:
    """One response as the client saw it."""

    status: int
    headers: Headers
    body: bytes
    http_version: str
    #: Bytes the server wrote during this exchange (HTTP/2: every frame, of any stream).
    wire: bytes = b""
    trailers: Headers = field(default_factory=list)
    #: Informational responses (1xx) before the final one: (status, headers).
    informational: list[tuple[int, Headers]] = field(default_factory=list)
    #: The HTTP/2 stream was reset instead of ending (its error code), else None.
    reset: int | None = None

    def header(self, name: str) -> str | None:
        """The first value of ``name`` (case-insensitive), decoded as Latin-1."""
        key = name.lower().encode("latin-1")
        for header, value in self.headers:
            if header == key:
                return value.decode("latin-1")
        return None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)


class _MemoryDriver(MemoryDriver):
    """The memory driver (``asgi_core.backends.memory``: every backend's driver logic over a
    buffer and a virtual clock) with the apps as anyio tasks, and the client's side of it."""

    def __init__(
        self, app: ASGIApp, config: Config, group: anyio.abc.TaskGroup, **options: Any
    ) -> None:
        self.errors: list[BaseException] = []
        self.output_event = anyio.Event()
        self.resumed = anyio.Event()
        self.resumed.set()
        self._group = group
        self.running = 0  # app tasks not yet returned
        super().__init__(config, app=self._recording(app), date=DateHeader(time.time()), **options)

    def _recording(self, app: ASGIApp) -> ASGIApp:
        async def recorded(scope: Any, receive: Any, send: Any) -> None:
            self.running += 1
            try:
                await app(scope, receive, send)
            except Exception as exc:
                self.errors.append(exc)
                raise
            finally:
                self.running -= 1
                self._wake()

        return recorded

    # -- DriverConnection primitives ----------------------------------------------------------

    def new_waiter(self) -> Waiter:
        waiter: Waiter = anyio.Event()
        return waiter

    def spawn_app(self, stream: AppStream) -> None:
        self._group.start_soon(self.run_app, stream)

    def write(self, data: bytes) -> None:
        super().write(data)
        self._wake()

    def close_transport(self) -> None:
        self._wake()

    def set_reading_paused(self, paused: bool) -> None:
        if paused:
            self.resumed = anyio.Event()
        else:
            self.resumed.set()

    async def run_in_thread(self, function: Callable[..., T], *args: Any) -> T:
        return await anyio.to_thread.run_sync(function, *args)

    # -- the client's side --------------------------------------------------------------------

    def _wake(self) -> None:
        self.output_event.set()

    async def wait_output(self) -> None:
        """Until the server writes, closes or an app returns."""
        await self.output_event.wait()
        self.output_event = anyio.Event()

    def take_output(self) -> bytes:
        data = bytes(self.output)
        self.output.clear()
        return data

    async def read(self) -> bytes | None:
        """What the server wrote since the last read, waiting if there is nothing yet (b"" if
        an app returned meanwhile); None once the connection is closed and all of it read."""
        if not self.output:
            if self.transport_closed:
                return None
            await self.wait_output()
        return self.take_output()

    async def feed(self, data: bytes) -> None:
        """Bytes from the client; waits while the core has paused reading (backpressure)."""
        while self.read_paused and not self.transport_closed:
            await self.resumed.wait()
        if not self.transport_closed:
            self.receive_data(data)


class ASGIClient:
    """Talks to ``app`` through the real core, over HTTP/1.1 or HTTP/2, in memory.

    ``async with ASGIClient(app) as client: response = await client.get("/")``. Every call
    fails with ``AppHung`` after ``timeout`` seconds (real time), and with ``AppError`` if the
    app raised (``raise_app_exceptions``); ``settle()`` waits until every app call has returned.
    The server's own timers (``Config``'s timeouts, WebSocket pings) run on a virtual clock that
    moves only through ``advance(seconds)``.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        http_version: str = "1.1",
        config: Config | None = None,
        scheme: str = "http",
        client: tuple[str, int] | None = CLIENT,
        server: tuple[str, int] | None = SERVER,
        state: dict[str, Any] | None = None,
        timeout: float = 10.0,
        raise_app_exceptions: bool = True,
    ) -> None:
        if http_version not in ("1.1", "2"):
            raise ValueError(f"http_version is '1.1' or '2', not {http_version!r}")
        self.app = app
        self.http_version = http_version
        self.scheme = scheme
        self.client = client
        self.config = config or Config()
        self.server = server
        self.state = state
        self.timeout = timeout
        self.raise_app_exceptions = raise_app_exceptions
        #: The virtual clock every connection's timers run on, in seconds (see ``advance``).
        self.clock = 0.0
        self._group: anyio.abc.TaskGroup | None = None
        self._conn: _MemoryDriver | None = None
        self._h2: h2.connection.H2Connection | None = None
        self._drivers: list[_MemoryDriver] = []

    async def __aenter__(self) -> ASGIClient:
        self._group = anyio.create_task_group()
        await self._group.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        assert self._group is not None
        self._group.cancel_scope.cancel()
        await self._group.__aexit__(*exc)

    # -- connections --------------------------------------------------------------------------

    def _connect(self, alpn: str) -> _MemoryDriver:
        if self._group is None:
            raise RuntimeError("use the client as 'async with ASGIClient(app) as client'")
        driver = _MemoryDriver(
            self.app,
            self.config,
            self._group,
            clock=self.clock,
            alpn=alpn,
            scheme=self.scheme,
            client=self.client,
            server=self.server,
            state=self.state,
        )
        self._drivers.append(driver)
        return driver

    def _connection(self) -> _MemoryDriver:
        conn = self._conn
        if conn is None or conn.transport_closed:
            conn = self._conn = self._connect("h2" if self.http_version == "2" else "http/1.1")
            self._h2 = None
        return conn

    async def advance(self, seconds: float) -> None:
        """Move the virtual clock by ``seconds``: on every connection, each of the server's
        timers due on the way fires at its own time, in order (keep-alive, request head and
        body timeouts, WebSocket pings and close timeouts), then the apps it woke may run."""
        if seconds < 0:
            raise ValueError(f"the clock only moves forward, not by {seconds}")
        self.clock += seconds
        for driver in self._drivers:
            driver.advance(seconds)
        await anyio.sleep(0)
        self._check_errors()

    def _check_errors(self) -> None:
        if self.raise_app_exceptions:
            for driver in self._drivers:
                if driver.errors:
                    error = driver.errors.pop(0)
                    raise AppError(f"the app raised {error!r}") from error

    # -- requests -----------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: Iterable[tuple[bytes, bytes]] = (),
        body: bytes | Iterable[bytes] = b"",
    ) -> Response:
        """One request; ``body`` as one piece, or as pieces fed to the core one by one (a
        list of pieces is sent chunked over HTTP/1.1 unless a content-length is given)."""
        try:
            with anyio.fail_after(self.timeout):
                if self.http_version == "2":
                    response = await self._request_h2(method, path, list(headers), body)
                else:
                    response = await self._request_h11(method, path, list(headers), body)
        except TimeoutError:
            self._check_errors()
            raise AppHung(f"no response to {method} {path} within {self.timeout} s") from None
        self._check_errors()
        return response

    async def check(self, method: str, path: str, **kwargs: Any) -> Response:
        """The ready property: the app answers, not with a 5xx, and every app call it started
        returns (no hang, no leaked stream). Raises ``AssertionError`` saying which failed."""
        response = await self.request(method, path, **kwargs)
        assert response.status < 500, f"{method} {path} answered {response.status}"
        assert response.reset is None, f"{method} {path}: the stream was reset"
        await self.settle()
        return response

    async def get(self, path: str, **kwargs: Any) -> Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Response:
        return await self.request("POST", path, **kwargs)

    async def send_raw(self, data: bytes | Iterable[bytes], *, http_version: str = "1.1") -> bytes:
        """Hostile or hand-made bytes on a fresh connection; returns what the server wrote
        until it closed or went quiet (and every app call returned)."""
        conn = self._connect("h2" if http_version == "2" else "http/1.1")
        pieces = [data] if isinstance(data, bytes) else list(data)
        try:
            with anyio.fail_after(self.timeout):
                for piece in pieces:
                    await conn.feed(piece)
                    await anyio.sleep(0)
                await self._quiet(conn)
        except TimeoutError:
            raise AppHung(f"the connection did not settle within {self.timeout} s") from None
        self._check_errors()
        return conn.take_output()

    async def settle(self) -> None:
        """Wait until every app call has returned (else ``AppHung``: a leaked stream)."""
        try:
            with anyio.fail_after(self.timeout):
                while any(driver.running for driver in self._drivers):
                    await anyio.sleep(0.001)
        except TimeoutError:
            raise AppHung(f"an app call did not return within {self.timeout} s") from None
        self._check_errors()

    async def _quiet(self, conn: _MemoryDriver) -> None:
        """Until the connection closed, or nothing happens for a moment with no app running."""
        while not conn.transport_closed:
            with anyio.move_on_after(0.05):
                await conn.wait_output()
                continue
            if not conn.running:
                return

    async def _request_h11(
        self, method: str, path: str, headers: Headers, body: bytes | Iterable[bytes]
    ) -> Response:
        conn = self._connection()
        fields, pieces = self._h11_framing(method, headers, body)
        head = b"%s %s HTTP/1.1\r\n" % (method.encode("ascii"), path.encode("ascii"))
        head += b"".join(b"%s: %s\r\n" % (name, value) for name, value in fields) + b"\r\n"
        parser = h11.Connection(h11.CLIENT)
        parser.send(h11.Request(method=method, target=path, headers=fields))
        await conn.feed(head)
        for piece in pieces:
            if piece:
                await conn.feed(piece)
        return await _h11_response(conn, parser)

    def _h11_framing(
        self, method: str, headers: Headers, body: bytes | Iterable[bytes]
    ) -> tuple[Headers, list[bytes]]:
        """The request's fields (Host and the body's framing added) and its body's pieces."""
        pieces = [body] if isinstance(body, bytes) else list(body)
        names = {name.lower() for name, _ in headers}
        fields = [] if b"host" in names else [(b"host", self._host())]
        fields += headers
        if isinstance(body, bytes):
            if b"content-length" not in names and (body or method not in ("GET", "HEAD")):
                fields.append((b"content-length", b"%d" % len(body)))
        elif b"content-length" not in names:
            fields.append((b"transfer-encoding", b"chunked"))
            pieces = [b"%x\r\n%s\r\n" % (len(p), p) for p in pieces if p] + [b"0\r\n\r\n"]
        return fields, pieces

    def _host(self) -> bytes:
        if self.server is None:
            return b"testserver"
        host, port = self.server
        default = 443 if self.scheme == "https" else 80
        return host.encode("idna") + (b"" if port == default else b":%d" % port)

    async def _request_h2(
        self, method: str, path: str, headers: Headers, body: bytes | Iterable[bytes]
    ) -> Response:
        conn = self._connection()
        client = self._h2
        if client is None:
            client = self._h2 = h2.connection.H2Connection(
                h2.config.H2Configuration(client_side=True, header_encoding=None)
            )
            client.initiate_connection()
        pieces = [body] if isinstance(body, bytes) else [p for p in body if p]
        stream_id = client.get_next_available_stream_id()
        fields = [(b":method", method.encode("ascii")), (b":scheme", self.scheme.encode()),
                  (b":authority", self._host()), (b":path", path.encode("ascii"))]  # fmt: skip
        fields += [(name.lower(), value) for name, value in headers if name.lower() != b"host"]
        client.send_headers(stream_id, fields, end_stream=not any(pieces))
        unsent = bytearray(b"".join(pieces))
        exchange = _H2Exchange(client, stream_id)
        while True:
            _send_h2_body(client, stream_id, unsent)
            outgoing = client.data_to_send()
            if outgoing:
                await conn.feed(outgoing)
            received = await conn.read()
            if received is None:
                raise AppHung("the server closed the connection without a complete response")
            response = exchange.receive(received)
            if response is not None:
                return response

    # -- WebSocket ----------------------------------------------------------------------------

    @asynccontextmanager
    async def websocket(
        self,
        path: str,
        *,
        subprotocols: Iterable[str] = (),
        headers: Iterable[tuple[bytes, bytes]] = (),
    ) -> AsyncIterator[WebSocketSession]:
        """A WebSocket (RFC 6455 over HTTP/1.1) on its own connection; raises
        ``WebSocketDenied`` when the app answers the handshake with HTTP instead."""
        conn = self._connect("http/1.1")
        ws = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
        request = wsproto.events.Request(
            host=self._host().decode(),
            target=path,
            subprotocols=list(subprotocols),
            extra_headers=list(headers),
        )
        session = WebSocketSession(self, conn, ws)
        with anyio.fail_after(self.timeout):
            await conn.feed(ws.send(request))
            await session._handshake()
        try:
            yield session
        finally:
            if ws.state is wsproto.connection.ConnectionState.OPEN:
                with anyio.move_on_after(self.timeout):
                    await session.close()
        self._check_errors()


def _fields(headers: Iterable[tuple[bytes, bytes]]) -> Headers:
    return [(name, value) for name, value in headers if not name.startswith(b":")]


async def _h11_response(conn: _MemoryDriver, parser: h11.Connection) -> Response:
    """Read the server's output with ``parser`` (h11 as the client) until one whole response."""
    wire = bytearray()
    result: Response | None = None
    body_parts: list[bytes] = []
    informational: list[tuple[int, Headers]] = []
    while True:
        event = parser.next_event()
        if event is h11.NEED_DATA:
            data = await conn.read()  # waking also when an app returns
            if data is None:
                parser.receive_data(b"")
            elif data:  # b"" would mean EOF to h11
                wire += data
                parser.receive_data(data)
        elif isinstance(event, h11.InformationalResponse):
            informational.append((event.status_code, list(event.headers)))
        elif isinstance(event, h11.Response):
            result = Response(event.status_code, list(event.headers), b"", "1.1")
        elif isinstance(event, h11.Data):
            body_parts.append(bytes(event.data))
        elif isinstance(event, h11.EndOfMessage):
            assert result is not None
            result.body = b"".join(body_parts)
            result.trailers = list(event.headers)
            result.informational = informational
            result.wire = bytes(wire)
            return result
        elif isinstance(event, h11.ConnectionClosed):
            raise AppHung("the server closed the connection without a complete response")


def _send_h2_body(client: h2.connection.H2Connection, stream_id: int, unsent: bytearray) -> None:
    """Send as much of the request body as the server's windows allow."""
    while unsent:
        size = min(client.local_flow_control_window(stream_id),
                   client.max_outbound_frame_size, len(unsent))  # fmt: skip
        if size <= 0:
            return
        client.send_data(stream_id, bytes(unsent[:size]), end_stream=size == len(unsent))
        del unsent[:size]


class _H2Exchange:
    """One HTTP/2 request's answer, assembled from what the server writes."""

    def __init__(self, client: h2.connection.H2Connection, stream_id: int) -> None:
        self.client = client
        self.stream_id = stream_id
        self.response: Response | None = None
        self.data = bytearray()
        self.wire = bytearray()

    def receive(self, received: bytes) -> Response | None:
        """Take in the server's bytes; the response once its stream ended or was reset."""
        self.wire += received
        for event in self.client.receive_data(received):
            if getattr(event, "stream_id", self.stream_id) == self.stream_id:
                response = self._event(event)
                if response is not None:
                    return response
        return None

    def _event(self, event: h2.events.Event) -> Response | None:
        response = self.response
        if isinstance(event, h2.events.InformationalResponseReceived):
            assert response is None
            informational = (int(dict(event.headers)[b":status"]), _fields(event.headers))
            self.response = Response(0, [], b"", "2", informational=[informational])
        elif isinstance(event, h2.events.ResponseReceived):
            status = int(dict(event.headers)[b":status"])
            earlier = response.informational if response else []
            self.response = Response(status, _fields(event.headers), b"", "2",
                                     informational=earlier)  # fmt: skip
        elif isinstance(event, h2.events.DataReceived):
            self.data += event.data
            self.client.acknowledge_received_data(event.flow_controlled_length, self.stream_id)
        elif isinstance(event, h2.events.TrailersReceived) and response is not None:
            response.trailers = list(event.headers)
        elif isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset)):
            if response is None or response.status == 0:
                raise AppHung(f"stream {self.stream_id} ended without a response")
            response.body = bytes(self.data)
            response.wire = bytes(self.wire)
            if isinstance(event, h2.events.StreamReset):
                response.reset = int(event.error_code)
            return response
        elif isinstance(event, h2.events.ConnectionTerminated) and response is None:
            raise AppHung(f"GOAWAY ({event.error_code!r}) before a response")
        return None


class WebSocketDenied(AssertionError):
    """The app refused the handshake; ``response`` is the HTTP answer it gave."""

    def __init__(self, response: Response) -> None:
        super().__init__(f"the WebSocket handshake was answered with {response.status}")
        self.response = response


class WebSocketClosed(Exception):
    """The server closed the WebSocket: its close code and reason."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"closed with {code} {reason!r}")
        self.code = code
        self.reason = reason


class WebSocketSession:
    """An open WebSocket: send and receive messages, close."""

    def __init__(self, client: ASGIClient, conn: _MemoryDriver, ws: wsproto.WSConnection) -> None:
        self._client = client
        self._conn = conn
        self._ws = ws
        self._messages: list[str | bytes] = []
        self._parts: list[Any] = []
        self.subprotocol: str | None = None
        self.close_code: int | None = None
        self.close_reason = ""
        self._answers = b""  # pongs and the close answer, sent on the next read

    async def _handshake(self) -> None:
        denial: Response | None = None
        body: list[bytes] = []
        while (data := await self._conn.read()) is not None:
            if not data:
                continue
            self._ws.receive_data(data)
            for event in self._ws.events():
                if isinstance(event, wsproto.events.AcceptConnection):
                    self.subprotocol = event.subprotocol
                    self._take(list(self._ws.events()))
                    return
                if isinstance(event, wsproto.events.RejectConnection):
                    denial = Response(event.status_code, list(event.headers), b"", "1.1")
                    if not event.has_body:
                        raise WebSocketDenied(denial)
                elif isinstance(event, wsproto.events.RejectData):
                    body.append(bytes(event.data))
                    if event.body_finished and denial is not None:
                        denial.body = b"".join(body)
                        raise WebSocketDenied(denial)
        raise AppHung("the connection closed during the WebSocket handshake")

    def _take(self, events: list[Any]) -> None:
        for event in events:
            if isinstance(event, (wsproto.events.TextMessage, wsproto.events.BytesMessage)):
                self._parts.append(event.data)
                if event.message_finished:
                    parts = self._parts
                    text = isinstance(parts[0], str)
                    self._messages.append("".join(parts) if text else b"".join(parts))
                    self._parts = []
            elif isinstance(event, wsproto.events.Ping):
                if self._ws.state is wsproto.connection.ConnectionState.OPEN:  # not after a close
                    self._conn_send(self._ws.send(event.response()))
            elif isinstance(event, wsproto.events.CloseConnection):
                self.close_code = event.code
                self.close_reason = event.reason or ""
                if self._ws.state is wsproto.connection.ConnectionState.REMOTE_CLOSING:
                    self._conn_send(self._ws.send(event.response()))

    def _conn_send(self, data: bytes) -> None:
        self._answers += data

    async def _read(self) -> None:
        """Take in what the server wrote (waiting for it), and answer pings and a close."""
        conn = self._conn
        data = await conn.read()
        if data is None:
            if self.close_code is None:
                self.close_code = 1006
            return
        if data:
            self._ws.receive_data(data)
        elif conn.transport_closed:
            self._ws.receive_data(None)
        self._take(list(self._ws.events()))
        answers, self._answers = self._answers, b""
        if answers and not conn.transport_closed:
            await conn.feed(answers)

    async def send_text(self, text: str) -> None:
        await self._conn.feed(self._ws.send(wsproto.events.TextMessage(data=text)))

    async def send_bytes(self, data: bytes) -> None:
        await self._conn.feed(self._ws.send(wsproto.events.BytesMessage(data=data)))

    async def receive(self) -> str | bytes:
        """The next message; raises ``WebSocketClosed`` once the server has closed."""
        with anyio.fail_after(self._client.timeout):
            while not self._messages:
                if self.close_code is not None:
                    raise WebSocketClosed(self.close_code, self.close_reason)
                await self._read()
        self._client._check_errors()
        return self._messages.pop(0)

    async def receive_text(self) -> str:
        message = await self.receive()
        assert isinstance(message, str), f"expected a text message, got {message!r}"
        return message

    async def receive_bytes(self) -> bytes:
        message = await self.receive()
        assert isinstance(message, bytes), f"expected a bytes message, got {message!r}"
        return message

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Send a close frame and wait for the server's answer (RFC 6455 section 7)."""
        if self._ws.state is wsproto.connection.ConnectionState.OPEN:
            await self._conn.feed(self._ws.send(wsproto.events.CloseConnection(code, reason)))
        with anyio.fail_after(self._client.timeout):
            while self.close_code is None:
                await self._read()
