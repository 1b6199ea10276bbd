"""What every fuzz target shares: the input format, an in-memory driver running a tiny
well-behaved ASGI app, and strict checkers of what the server wrote.

An input is ``flags`` (one byte), ``seed`` (one byte), then the bytes the client sends. The
seed picks where those bytes are split into reads (0: one read); the flags add an EOF, small
limits, clock jumps between reads and a graceful shutdown, so one corpus file replays exactly.
"""

from __future__ import annotations

import os
import random
import sys
import traceback
from collections import deque
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h11
from hpack import Decoder
from hyperframe.exceptions import HyperframeError
from hyperframe.frame import (
    ContinuationFrame,
    DataFrame,
    Frame,
    GoAwayFrame,
    HeadersFrame,
    PushPromiseFrame,
    RstStreamFrame,
    SettingsFrame,
)

from asgi_core import AppReceive, ClientDisconnected, Config, DateHeader, SendAllowed
from asgi_core.backends.driver import AppStream
from asgi_core.backends.memory import MAX_FIRINGS, MemoryDriver

# -- invariants -------------------------------------------------------------------------------


class InvariantError(AssertionError):
    """An invariant of a target does not hold: the input is a finding."""


def require(condition: object, message: str) -> None:
    """Raise ``InvariantError`` (never stripped by ``python -O``, unlike ``assert``)."""
    if not condition:
        raise InvariantError(message)


#: Core bugs found by fuzzing and not fixed yet, each with a ``fuzz/regressions/*.pending``
#: input. Their checks are relaxed (narrowly) so fuzzing can look past them; FUZZ_STRICT=1
#: restores them, to reproduce a pending input. Remove an entry once its bug is fixed.
KNOWN_BUGS: dict[str, str] = {}
STRICT = os.environ.get("FUZZ_STRICT", "") not in ("", "0")


def known(bug: str) -> bool:
    """Whether a check is relaxed for the known, pending core bug ``bug``."""
    return bug in KNOWN_BUGS and not STRICT


# -- the input --------------------------------------------------------------------------------

EOF = 0x01  # the client closes its side after the last read
TIGHT = 0x02  # small limits (head, body, window, queue, streams), so they are reached
CLOCK = 0x04  # the clock jumps between reads, past keep-alive, head and body timeouts
SHUTDOWN = 0x08  # a graceful shutdown starts before one of the reads
VARIANT = 0x10  # target-specific (cleartext sniffing, permessage-deflate...)
VARIANT2 = 0x20  # target-specific (a slow application...)

_PAUSES = (0.0, 0.0, 0.0, 0.5, 3.0, 6.0, 11.0, 21.0, 31.0)

DEFAULT_CONFIG = Config()
TIGHT_CONFIG = Config(
    max_request_head_size=512,
    max_request_body_size=1024,
    max_buffered_body_size=256,
    ws_max_size=1024,
    ws_max_queue=4,
    h2_max_concurrent_streams=4,
    h2_max_header_list_size=1024,
    h2_max_header_table_size=256,
    h2_reset_budget=8,
    h2_control_frame_budget=16,
)


@dataclass(frozen=True)
class Script:
    """One decoded input: the reads, the clock jump before each, and when to shut down."""

    flags: int
    pieces: list[bytes]
    pauses: list[float]
    shutdown_at: int | None

    @property
    def config(self) -> Config:
        return TIGHT_CONFIG if self.flags & TIGHT else DEFAULT_CONFIG

    def has(self, flag: int) -> bool:
        return bool(self.flags & flag)


def decode(data: bytes, prefix: Callable[[int], bytes] | None = None) -> Script:
    """Split an input into a ``Script``; ``prefix(flags)`` is sent before the payload (the
    HTTP/2 preface, a WebSocket handshake) and is split like the rest."""
    flags = data[0] if data else 0
    seed = data[1] if len(data) > 1 else 0
    payload = (prefix(flags) if prefix else b"") + data[2:]
    rng = random.Random(seed)
    pieces: list[bytes] = []
    if seed == 0:
        pieces = [payload] if payload else []
    else:
        cap = 1 << (seed % 13)
        pos = 0
        while pos < len(payload):
            size = 1 + rng.randrange(cap)
            pieces.append(payload[pos : pos + size])
            pos += size
    pauses = [rng.choice(_PAUSES) if flags & CLOCK else 0.0 for _ in pieces]
    shutdown_at = rng.randrange(len(pieces) + 1) if flags & SHUTDOWN else None
    return Script(flags, pieces, pauses, shutdown_at)


# -- the application --------------------------------------------------------------------------


class Receive:
    """An app action: ``await receive()``; the driver resumes the app with the message."""


@dataclass(frozen=True)
class Send:
    """An app action: ``await send(message)``."""

    message: dict[str, Any]


@dataclass(frozen=True)
class Sleep:
    """An app action: ``await sleep(seconds)`` on the driver's virtual clock."""

    seconds: float


RECEIVE = Receive()
Action = Receive | Send | Sleep
App = Generator[Action, Any, None]


def app(scope: dict[str, Any]) -> App:
    """The tiny app every target runs; the query string's letters pick what it does."""
    if scope["type"] == "websocket":
        return websocket_app(scope)
    return http_app(scope)


def http_app(scope: dict[str, Any]) -> App:
    """Reads the whole body (or answers first with ``x``), then a small response.

    ``w`` sleeps before reading, ``e`` answers 204, ``s`` streams the body in two pieces,
    ``t`` adds trailers, ``h`` sends an early hint and ``p`` a push where the scope offers them.
    """
    query: bytes = scope["query_string"]
    extensions = scope["extensions"]
    if b"w" in query:
        yield Sleep(1.0)
    early = b"x" in query
    while not early:
        message = yield RECEIVE
        if message["type"] == "http.disconnect" or not message["more_body"]:
            break
    if b"h" in query and "http.response.early_hint" in extensions:
        yield Send({"type": "http.response.early_hint", "links": [b"</a.css>; rel=preload"]})
    status = 204 if b"e" in query else 200
    trailers = b"t" in query and "http.response.trailers" in extensions
    headers = [(b"content-type", b"text/plain")]
    yield Send(
        {"type": "http.response.start", "status": status, "headers": headers, "trailers": trailers}
    )
    if b"p" in query and "http.response.push" in extensions and scope["path"] != "/pushed":
        yield Send({"type": "http.response.push", "path": "/pushed", "headers": []})
    body = b"" if status == 204 else b"ok"
    if b"s" in query:
        yield Send({"type": "http.response.body", "body": body, "more_body": True})
    yield Send({"type": "http.response.body", "body": body})
    if trailers:
        yield Send({"type": "http.response.trailers", "headers": [(b"x-done", b"1")]})
    if early:
        yield RECEIVE


def websocket_app(scope: dict[str, Any]) -> App:
    """Accepts (choosing the first subprotocol offered) and echoes every message.

    ``d`` denies with a 403 response, ``c`` closes before accepting, ``w`` sleeps before each
    receive; a text message starting with "c" makes the app close (1000), bytes starting with
    b"q" make it return.
    """
    query: bytes = scope["query_string"]
    message = yield RECEIVE
    if message["type"] != "websocket.connect":
        return
    if b"d" in query:
        yield Send({"type": "websocket.http.response.start", "status": 403, "headers": []})
        yield Send({"type": "websocket.http.response.body", "body": b"denied"})
        return
    if b"c" in query:
        yield Send({"type": "websocket.close"})
        return
    subprotocols = scope["subprotocols"]
    yield Send(
        {"type": "websocket.accept", "subprotocol": subprotocols[0] if subprotocols else None}
    )
    closed = False  # once the app has closed, it only reads until the disconnect
    while True:
        if b"w" in query:
            yield Sleep(1.0)
        message = yield RECEIVE
        if message["type"] == "websocket.disconnect":
            return
        if closed:
            continue
        if (message.get("text") or "")[:1] == "c":
            closed = True
            yield Send({"type": "websocket.close", "code": 1000, "reason": "bye"})
        elif (message.get("bytes") or b"")[:1] == b"q":
            return
        else:
            yield Send({"type": "websocket.send", **_payload(message)})


def _payload(message: dict[str, Any]) -> dict[str, Any]:
    if message.get("text") is not None:
        return {"text": message["text"]}
    return {"bytes": message["bytes"]}


# -- the driver -------------------------------------------------------------------------------

FIXED_DATE = 784111777.0
#: Bytes a step may write per byte read, on top of a fixed allowance: far above what the tiny
#: app can cause, far below what an amplification bug would.
OUTPUT_PER_INPUT_BYTE = 64
OUTPUT_ALLOWANCE = 16384
#: Timer and wake-up rounds after the last read before the transport is declared lost.
SETTLE_ROUNDS = MAX_FIRINGS


@dataclass
class Task:
    """One stream's application, as a driver's task."""

    stream_id: int
    scope: dict[str, Any]
    gen: App
    waiting: str = ""  # "receive", "send", "sleep", or "" while running
    wake: float = 0.0
    finished: bool = False


class Driver(MemoryDriver):
    """Runs a ``Script`` through one ``ServerConnection`` on the memory driver (reading paused
    when told, timers on its virtual clock), with one generator app per stream scheduled in a
    fixed order, and checks the contract of the core's API on the way."""

    def __init__(
        self,
        script: Script,
        *,
        alpn: str | None,
        on_output: Callable[[bytes, bool], None] | None = None,
    ) -> None:
        self.script = script
        self.config = script.config
        self.on_output = on_output
        self.tasks: dict[int, Task] = {}
        self.started: list[Task] = []
        self.unread: deque[bytes] = deque()
        self.fed = bytearray()
        self.max_read = 0
        self.step_read = 0  # bytes read in the step now writing (the output allowance)
        self.peer_eof = False
        self.closed_by_itself = False
        super().__init__(
            self.config,
            client=("203.0.113.7", 50123),
            server=("192.0.2.1", 8000),
            alpn=alpn,
            date=DateHeader(FIXED_DATE),
        )

    # -- running a script ---------------------------------------------------------------------

    def run(self) -> Driver:
        """Play the script, then settle."""
        script = self.script
        for index, piece in enumerate(script.pieces):
            if script.shutdown_at == index:
                self.shutdown()
            if script.pauses[index]:
                self.advance(script.pauses[index])
            self.unread.append(piece)
            self.read()
        if script.shutdown_at == len(script.pieces):
            self.shutdown()
        if script.has(EOF):
            self.unread.append(b"")
        self.settle()
        return self

    @property
    def peer_gone(self) -> bool:
        """The client left (EOF, or the transport was lost) before the server closed."""
        return self.peer_eof or not self.closed_by_itself

    def read(self) -> None:
        """Read what the client sent while the driver's reading is not paused."""
        while self.unread and not self.read_paused and not self.core.closed:
            data = self.unread.popleft()
            self.max_read = max(self.max_read, len(data))
            self.fed += data
            self.step_read = len(data)
            self.receive_data(data)
            self.step_read = 0
            if not data:
                self.peer_eof = True
                require(self.core.closed, "the connection stays open after the client's EOF")

    def shutdown(self) -> None:
        super().shutdown()
        self.read()

    def settle(self) -> None:
        """After the last read: let timers and apps run until nothing is due, then lose the
        transport; every app must then have returned (none waits forever)."""
        for _ in range(SETTLE_ROUNDS):
            self.read()
            due = self.next_due()
            if due is None:
                break
            self.fire(due)
        self.closed_by_itself = self.core.closed
        if not self.core.closed:
            self.transport_lost()
        for _ in range(SETTLE_ROUNDS):
            due = self.next_due()
            if due is None:
                break
            self.fire(due)
        for task in self.started:
            require(
                task.finished,
                f"stream {task.stream_id}'s app still waits ({task.waiting!r}) after the "
                "connection was lost",
            )
        require(self.closed, "no CloseConnection after connection_lost")

    # -- the memory driver's hooks: the clock, events, output ---------------------------------

    def next_wakeup(self) -> float | None:
        wakes = [task.wake for task in self.tasks.values() if task.waiting == "sleep"]
        return min(wakes) if wakes else None

    def wake(self) -> None:
        for task in list(self.tasks.values()):
            if task.waiting == "sleep" and task.wake <= self.clock:
                task.waiting = ""
                self.resume(task, None)
                self.pump()
        self.read()

    def spawn_app(self, stream: AppStream) -> None:
        task = Task(stream.stream_id, stream.scope, app(stream.scope))
        self.tasks[task.stream_id] = task
        self.started.append(task)
        self.resume(task, None)

    def on_app_receive(self, event: AppReceive) -> None:
        task = self._task(event.stream_id, "AppReceive")
        require(task.waiting == "receive", f"AppReceive for stream {task.stream_id}, "
                f"whose app is not in receive() but {task.waiting!r}")  # fmt: skip
        self.check_message(task, event.message)
        super().on_app_receive(event)
        task.waiting = ""
        self.resume(task, event.message)

    def on_send_allowed(self, event: SendAllowed) -> None:
        task = self._task(event.stream_id, "SendAllowed")
        require(task.waiting == "send", f"SendAllowed for stream {task.stream_id}, "
                f"whose app is not in send() but {task.waiting!r}")  # fmt: skip
        super().on_send_allowed(event)
        task.waiting = ""
        self.resume(task, None)

    def write(self, data: bytes) -> None:
        """One step's output, bounded by what that step read."""
        limit = OUTPUT_ALLOWANCE + OUTPUT_PER_INPUT_BYTE * self.step_read
        require(len(data) <= limit, f"one step wrote {len(data)} bytes for {self.step_read} read")
        super().write(data)
        if self.on_output is not None:
            self.on_output(data, self.core.closed)

    def _task(self, stream_id: int, what: str) -> Task:
        task = self.tasks.get(stream_id)
        require(task is not None, f"{what} for stream {stream_id}, which never started")
        assert task is not None
        require(not task.finished, f"{what} for stream {stream_id}, whose app has returned")
        return task

    def resume(self, task: Task, value: Any) -> None:
        """Run an app until it waits (receive, send under flow control, sleep) or returns."""
        error: BaseException | None = None
        while True:
            try:
                action = task.gen.throw(error) if error is not None else task.gen.send(value)
            except StopIteration:
                self._finished(task, None)
                return
            except ClientDisconnected as exc:  # the ASGI spec's OSError from send()
                self._finished(task, exc)
                return
            error = value = None
            if isinstance(action, Receive):
                task.waiting = "receive"
                self.core.app_receive(task.stream_id, self.clock)
                return
            if isinstance(action, Sleep):
                task.waiting = "sleep"
                task.wake = self.clock + action.seconds
                return
            try:
                allowed = self.core.app_send(task.stream_id, action.message, self.clock)
            except ClientDisconnected as exc:
                error = exc
                continue
            if not allowed:
                task.waiting = "send"
                return

    def _finished(self, task: Task, error: BaseException | None) -> None:
        task.finished = True
        task.waiting = ""
        self.core.app_finished(task.stream_id, error, self.clock)

    # -- the messages an app receives ---------------------------------------------------------

    def check_message(self, task: Task, message: dict[str, Any]) -> None:
        """Every message is a well-formed ASGI message, in an order the spec allows."""
        kind = message.get("type")
        messages = self.received[task.stream_id]
        earlier = [m["type"] for m in messages]
        require(
            "http.disconnect" not in earlier or kind == "http.disconnect",
            f"{kind!r} after http.disconnect",
        )
        require("websocket.disconnect" not in earlier, f"{kind!r} after websocket.disconnect")
        if task.scope["type"] == "http":
            self._check_http_message(task, message, messages)
        else:
            self._check_websocket_message(message, earlier)

    def _check_http_message(
        self, task: Task, message: dict[str, Any], messages: list[dict[str, Any]]
    ) -> None:
        kind = message.get("type")
        if kind == "http.disconnect":
            require(set(message) == {"type"}, f"bad http.disconnect {message!r}")
            return
        require(kind == "http.request", f"an http app received {kind!r}")
        body, more = message.get("body"), message.get("more_body")
        if not isinstance(body, bytes) or not isinstance(more, bool):
            raise InvariantError(f"bad http.request {message!r}")
        require(
            not any(m.get("more_body") is False for m in messages if m["type"] == kind),
            "http.request after the one that ended the body",
        )
        # HTTP/2 flow control bounds a stream's unread body to its window exactly; HTTP/1.1
        # reads pause at the limit, so one read more may be held.
        limit = self.config.max_buffered_body_size
        if task.scope["http_version"] != "2":
            limit += self.max_read
        require(len(body) <= limit, f"a {len(body)}-byte body message (limit {limit})")

    def _check_websocket_message(self, message: dict[str, Any], earlier: list[str]) -> None:
        kind = message.get("type")
        if kind == "websocket.connect":
            require(not earlier, "websocket.connect is not the first message")
            return
        require(earlier[:1] == ["websocket.connect"], f"{kind!r} before websocket.connect")
        if kind == "websocket.receive":
            text, data = message.get("text"), message.get("bytes")
            require((text is None) != (data is None), f"receive with text and bytes {message!r}")
            if isinstance(text, str):
                text.encode("utf-8")  # no lone surrogates
                size = len(text)
            elif isinstance(data, bytes) and text is None:
                size = len(data)
            else:
                raise InvariantError(f"bad websocket.receive {message!r}")
            limit = self.config.ws_max_size
            require(size <= limit, f"a {size}-long WebSocket message (limit {limit})")
        elif kind == "websocket.disconnect":
            code, reason = message.get("code"), message.get("reason", "")
            if not isinstance(code, int) or not isinstance(reason, str):
                raise InvariantError(f"bad websocket.disconnect {message!r}")
            require(1000 <= code <= 4999, f"disconnect code {code}")
        else:
            require(False, f"a websocket app received {kind!r}")


# -- checking HTTP/1.1 output -----------------------------------------------------------------


@dataclass
class HTTP11Output:
    """What the server wrote over HTTP/1.1: statuses in order, and after a 101 the rest."""

    statuses: list[int] = field(default_factory=list)
    switched: list[tuple[bytes, bytes]] | None = None  # the 101's headers
    rest: bytes = b""


def check_http11_output(data: bytes, methods: list[str], peer_gone: bool) -> HTTP11Output:
    """Parse every response with h11 as the client; each must be complete and well framed.

    ``methods`` are the requests' methods in order; an answer past them is to a request the
    server refused before starting a stream, whose method is unknown here (GET, or HEAD: no
    body). The output ends where the connection closed; ``peer_gone``: the client left
    first, so the last request may have no final response.
    """
    result = HTTP11Output()
    rest: bytes | None = data
    exchange = 0
    while rest:
        if exchange < len(methods):
            rest = _exchange(rest, methods[exchange], peer_gone, result, exchange)
        else:
            answer, attempt = rest, HTTP11Output()
            try:
                rest = _exchange(answer, "GET", peer_gone, attempt, exchange)
            except InvariantError:
                attempt = HTTP11Output()
                rest = _exchange(answer, "HEAD", peer_gone, attempt, exchange)
            result.statuses += attempt.statuses
            result.switched, result.rest = attempt.switched, attempt.rest
        exchange += 1
    return result


def _exchange(
    data: bytes, method: str, peer_gone: bool, result: HTTP11Output, exchange: int
) -> bytes | None:
    """Parse one response to a ``method`` request into ``result``; return the bytes after
    it, or None where parsing ends (a 101, or the close)."""
    client = h11.Connection(h11.CLIENT)
    headers = [("host", "fuzz"), ("connection", "upgrade"), ("upgrade", "fuzz")]
    # The core serves CONNECT as any request (no tunnel): its answer is framed as a GET's.
    mirror = "GET" if method == "CONNECT" else method
    client.send(h11.Request(method=mirror, target="/", headers=headers))
    client.send(h11.EndOfMessage())
    client.receive_data(data)
    eof_sent = final = False
    while True:
        try:
            event = client.next_event()
        except h11.RemoteProtocolError as exc:
            if eof_sent and peer_gone and not final:
                return None  # only informational answers before the client left
            raise InvariantError(
                f"response {exchange} to {method} does not parse: {exc}; output: {data!r}"
            ) from None
        if event is h11.NEED_DATA:
            require(not eof_sent, f"response {exchange} is cut short: {data!r}")
            client.receive_data(b"")
            eof_sent = True
        elif isinstance(event, h11.InformationalResponse):
            status = event.status_code
            require(status in (100, 101), f"informational status {status}")
            result.statuses.append(status)
            if status == 101:
                result.switched = list(event.headers)
                result.rest = bytes(client.trailing_data[0])
                return None
        elif isinstance(event, h11.Response):
            final = True
            status = event.status_code
            require(200 <= status <= 599, f"final status {status}")
            require(status != 500, "a 500: the core blamed the well-behaved app")
            result.statuses.append(status)
        elif isinstance(event, h11.EndOfMessage):
            rest = bytes(client.trailing_data[0])
            if client.their_state is h11.MUST_CLOSE or client.their_state is h11.CLOSED:
                require(not rest, f"bytes after a response that closes: {rest[:64]!r}")
            return rest
        elif isinstance(event, h11.ConnectionClosed):
            return None
        else:
            require(event is not h11.PAUSED, f"h11 paused after response {exchange}")


def check_http11_driver(driver: Driver) -> HTTP11Output:
    """``check_http11_output`` on everything a driver's connection wrote."""
    methods = http11_methods(driver.started)
    return check_http11_output(bytes(driver.output), methods, driver.peer_gone)


def check_http11_connection(driver: Driver) -> None:
    """An HTTP/1.1 connection's output: responses, then after a 101 WebSocket frames; and
    the connection closes by itself."""
    result = check_http11_driver(driver)
    if result.switched is not None:
        check_websocket_after_101(result)
    require_closed_by_itself(driver)


def check_websocket_after_101(result: HTTP11Output) -> None:
    """What followed a 101 to a WebSocket handshake: well-formed frames, whole."""
    assert result.switched is not None
    deflate = any(name == b"sec-websocket-extensions" for name, _ in result.switched)
    check_websocket_output(result.rest, deflate=deflate, complete=True)


def require_closed_by_itself(driver: Driver) -> None:
    """Once the client stops sending, EOF or a timer closes an HTTP/1.1 connection (the tiny
    app never waits forever), so a real driver is never left holding it."""
    require(driver.closed_by_itself, "the connection never closes: no timer left armed")


def http11_methods(tasks: Iterable[Task]) -> list[str]:
    """The methods of the HTTP/1.x requests that started streams, in order."""
    return [
        task.scope.get("method", "GET")
        for task in tasks
        if task.scope["http_version"] in ("1.0", "1.1")
    ]


# -- checking WebSocket output ----------------------------------------------------------------


def sendable_close_code(code: int) -> bool:
    """RFC 6455 section 7.4: codes an endpoint may put in a close frame."""
    return code in (1000, 1001, 1002, 1003) or 1007 <= code <= 1014 or 3000 <= code <= 4999


def check_websocket_output(data: bytes, *, deflate: bool, complete: bool) -> list[int]:
    """Parse the server's frames (RFC 6455 section 5): unmasked, well framed, control frames
    short and whole, nothing after a close frame, whose code is one that may be sent.
    Returns the opcodes; ``complete`` means no half frame may be left at the end."""
    opcodes: list[int] = []
    pos = 0
    in_message = False
    while pos + 2 <= len(data):
        first, second = data[pos], data[pos + 1]
        fin, rsv1, opcode = first & 0x80, first & 0x40, first & 0x0F
        require(not first & 0x30, f"RSV2/RSV3 set in frame {len(opcodes)}")
        require(not second & 0x80, "a server frame is masked")
        length, header = second & 0x7F, 2
        if length == 126:
            if pos + 4 > len(data):
                break
            length, header = int.from_bytes(data[pos + 2 : pos + 4], "big"), 4
            require(length >= 126, "a 16-bit length that fits in 7 bits")
        elif length == 127:
            if pos + 10 > len(data):
                break
            length, header = int.from_bytes(data[pos + 2 : pos + 10], "big"), 10
            require(length >= 1 << 16, "a 64-bit length that fits in 16 bits")
        if pos + header + length > len(data):
            break
        payload = data[pos + header : pos + header + length]
        pos += header + length
        require(8 not in opcodes, f"a frame (opcode {opcode}) after the close frame")
        opcodes.append(opcode)
        if opcode >= 8:
            require(opcode in (8, 9, 10), f"reserved control opcode {opcode}")
            require(fin and not rsv1 and length <= 125, f"a bad control frame {opcode}")
            if opcode == 8:
                require(length != 1, "a close frame with a 1-byte payload")
                if length:
                    code = int.from_bytes(payload[:2], "big")
                    require(sendable_close_code(code), f"close code {code} may not be sent")
                    payload[2:].decode("utf-8")
        elif opcode in (1, 2):
            require(not in_message, "a new message inside a fragmented one")
            require(not rsv1 or deflate, "RSV1 without permessage-deflate")
            in_message = not fin
        else:
            require(opcode == 0, f"reserved data opcode {opcode}")
            require(in_message and not rsv1, "a bad continuation frame")
            in_message = not fin
    require(not complete or pos == len(data), f"a half frame at the end: {data[pos:]!r}")
    return opcodes


# -- checking HTTP/2 output -------------------------------------------------------------------


class H2Checker:
    """Parses the server's HTTP/2 output as it is written: whole frames (hyperframe), the
    server preface first, header blocks that HPACK-decode in order, valid statuses, no frame
    on a stream after its end, and nothing after a GOAWAY with an error, which must come
    with the connection's close."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.frames = 0
        self.decoder = Decoder()
        self.decoder.max_allowed_table_size = 1 << 32
        self.decoder.max_header_list_size = 1 << 32
        self.block: bytearray | None = None
        self.block_frame: HeadersFrame | PushPromiseFrame | None = None
        self.responded: set[int] = set()  # streams whose final HEADERS went out
        self.ended: set[int] = set()  # streams ended by END_STREAM or RST_STREAM
        self.goaway_codes: list[int] = []
        self.statuses: list[int] = []

    def feed(self, data: bytes, closed: bool) -> None:
        """One step's output; ``closed``: the core had closed the connection by then."""
        self.buffer += data
        buffer = self.buffer
        pos = 0
        while pos + 9 <= len(buffer):
            try:
                frame, length = Frame.parse_frame_header(memoryview(buffer)[pos : pos + 9])
                if pos + 9 + length > len(buffer):
                    break
                frame.parse_body(memoryview(buffer)[pos + 9 : pos + 9 + length])
            except HyperframeError as exc:
                raise InvariantError(f"frame {self.frames} does not parse: {exc!r}") from None
            pos += 9 + length
            self._frame(frame)
        del buffer[:pos]
        require(not buffer, f"a step ends inside a frame: {bytes(buffer[:32])!r}")
        if any(self.goaway_codes):
            require(closed, "GOAWAY with an error but the connection stays open")

    def _frame(self, frame: Frame) -> None:
        index = self.frames
        self.frames += 1
        if index == 0:
            require(
                isinstance(frame, SettingsFrame) and "ACK" not in frame.flags,
                f"the server preface is not SETTINGS but {frame!r}",
            )
        require(not any(self.goaway_codes), f"{frame!r} after a GOAWAY with an error")
        if self.block is not None:
            require(isinstance(frame, ContinuationFrame), f"{frame!r} inside a header block")
        sid = frame.stream_id
        if isinstance(frame, (HeadersFrame, DataFrame)):
            require(sid > 0, f"{type(frame).__name__} on stream 0")
            require(sid not in self.ended, f"{type(frame).__name__} on ended stream {sid}")
            if "END_STREAM" in frame.flags:
                self.ended.add(sid)
        if isinstance(frame, (HeadersFrame, PushPromiseFrame)):
            self.block = bytearray(frame.data)
            self.block_frame = frame
        elif isinstance(frame, ContinuationFrame):
            require(self.block is not None, "CONTINUATION outside a header block")
            assert self.block is not None
            self.block += frame.data
        elif isinstance(frame, DataFrame):
            require(sid in self.responded, f"DATA on stream {sid} before its response head")
        elif isinstance(frame, RstStreamFrame):
            self.ended.add(sid)
        elif isinstance(frame, GoAwayFrame):
            require(sid == 0, "GOAWAY on a stream")
            self.goaway_codes.append(frame.error_code)
        if self.block is not None and "END_HEADERS" in frame.flags:
            self._header_block(bytes(self.block))

    def _header_block(self, block: bytes) -> None:
        frame = self.block_frame
        assert frame is not None
        self.block = self.block_frame = None
        try:
            fields = self.decoder.decode(block, raw=True)
        except Exception as exc:
            raise InvariantError(f"a header block does not decode: {exc!r}") from None
        names = [name for name, _ in fields]
        if isinstance(frame, PushPromiseFrame):
            require(frame.promised_stream_id % 2 == 0, "an odd promised stream id")
            require(b":path" in names and b":method" in names, f"bad push request {fields!r}")
            return
        sid = frame.stream_id
        status = dict(fields).get(b":status")
        if sid in self.responded:
            require(status is None, f"trailers with :status on stream {sid}")
            require("END_STREAM" in frame.flags, f"trailers without END_STREAM on {sid}")
            return
        require(status is not None and status.isdigit(), f"no valid :status in {fields!r}")
        assert status is not None
        code = int(status)
        require(code in (100, 103) or 200 <= code <= 599, f"status {code}")
        require(code != 500, "a 500: the core blamed the well-behaved app")
        require(names.count(b":status") == 1, f"pseudo-fields {names!r}")
        self.statuses.append(code)
        if code >= 200:
            self.responded.add(sid)
        else:
            require("END_STREAM" not in frame.flags, "an informational response ends a stream")


# -- running targets --------------------------------------------------------------------------


def replay(check: Callable[[bytes], None], argv: list[str]) -> int:
    """Run ``check`` on every file named (folders: every file inside); 1 if any failed."""
    paths: list[Path] = []
    for name in argv:
        path = Path(name)
        paths += sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    if not paths:
        print(f"usage: python -m {check.__module__} FILE_OR_FOLDER...", file=sys.stderr)
        return 2
    failed = 0
    for path in paths:
        try:
            check(path.read_bytes())
        except Exception:
            failed += 1
            print(f"FAIL {path}", file=sys.stderr)
            traceback.print_exc()
        else:
            print(f"ok   {path}")
    print(f"{len(paths) - failed} passed, {failed} failed")
    return 1 if failed else 0
