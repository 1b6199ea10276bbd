"""Properties of the pure core (ServerConnection), with no app framework and no clock.

- robustness: any bytes give events or a clean protocol answer (an HTTP status, a GOAWAY, a
  close code), never another exception, and output stays bounded;
- split invariance: however HTTP/2 and WebSocket input is cut, the app sees the same thing;
- stateful machines interleave client bytes, app messages, app completion, time and shutdown,
  checking invariants after every step.
"""

from __future__ import annotations

import contextlib

import h2.config
import h2.connection
import h11
import wsproto.connection as wsconn
import wsproto.events as wsevents
from helpers.harness import H2Peer, Harness
from hyperframe.frame import (
    DataFrame,
    Frame,
    GoAwayFrame,
    HeadersFrame,
    PingFrame,
    PriorityFrame,
    RstStreamFrame,
    SettingsFrame,
    WindowUpdateFrame,
)
from hypothesis import given, note
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from asgi_core import AppProtocolError, ClientDisconnected, Config
from asgi_core.testing.strategies import hostile_requests, split

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
OUTPUT_LIMIT = 1 << 20


def answer_everything(h: Harness) -> None:
    """A well-behaved app: every started HTTP stream reads its body, then answers."""
    for stream_id, scope in list(h.scopes.items()):
        if scope["type"] != "http" or stream_id in answered:
            continue
        answered.add(stream_id)
        try:
            h.receive(stream_id)
            h.respond(stream_id, b"ok")
        except ClientDisconnected:
            h.finish(stream_id)


answered: set[int] = set()


def parse_h11_responses(data: bytes) -> list[int]:
    """Statuses of the responses in ``data``; fails if the bytes are not valid HTTP/1.1."""
    client = h11.Connection(h11.CLIENT)
    statuses: list[int] = []
    if not data:
        return statuses
    client.receive_data(data)
    while True:
        if client.our_state is h11.IDLE:
            client.send(h11.Request(method="GET", target="/", headers=[("host", "x")]))
            client.send(h11.EndOfMessage())
        event = client.next_event()
        if isinstance(event, h11.Response):
            statuses.append(event.status_code)
        elif event is h11.NEED_DATA or isinstance(event, h11.ConnectionClosed):
            return statuses
        elif isinstance(event, h11.EndOfMessage):
            if client.their_state is h11.MUST_CLOSE:
                return statuses
            client.start_next_cycle()


@given(pieces=st.one_of(hostile_requests(), st.binary(max_size=300).flatmap(split)))
def test_http11_any_bytes_give_http_answers(pieces: tuple[bytes, ...]) -> None:
    """Robustness (HTTP/1.1): every answer is valid HTTP/1.1 with a status the RFCs name for
    the problem, nothing raises, and the output is bounded by what came in."""
    answered.clear()
    h = Harness(alpn="http/1.1")
    for piece in pieces:
        h.feed(piece)
        answer_everything(h)
    h.advance(60)
    statuses = parse_h11_responses(bytes(h.output))
    assert set(statuses) <= {200, 400, 408, 413, 431, 505}, statuses
    assert len(h.output) < OUTPUT_LIMIT


frame_strategy = st.one_of(
    st.builds(lambda sid, data, end: DataFrame(sid, data, flags=["END_STREAM"] if end else []),
              st.integers(1, 9), st.binary(max_size=100), st.booleans()),
    st.builds(lambda sid, block, end: HeadersFrame(
        sid, block, flags=["END_HEADERS"] + (["END_STREAM"] if end else [])),
        st.integers(1, 9), st.sampled_from([b"\x82\x86\x84\x41\x01a", b"\x82", b"\xff\xff"]),
        st.booleans()),
    st.builds(lambda sid, code: RstStreamFrame(sid, error_code=code), st.integers(1, 9),
              st.integers(0, 20)),
    st.builds(lambda sid, inc: WindowUpdateFrame(sid, window_increment=inc), st.integers(0, 9),
              st.integers(0, 2**31 - 1)),
    st.builds(lambda ack: PingFrame(0, b"12345678", flags=["ACK"] if ack else []),
              st.booleans()),
    st.builds(lambda values: SettingsFrame(0, settings=values),
              st.dictionaries(st.integers(1, 8), st.integers(0, 2**31 - 1), max_size=3)),
    st.builds(lambda sid, dep: PriorityFrame(sid, depends_on=dep), st.integers(1, 9),
              st.integers(0, 9)),
    st.builds(lambda last, code: GoAwayFrame(0, last_stream_id=last, error_code=code),
              st.integers(0, 9), st.integers(0, 20)),
)  # fmt: skip


def parse_frames(data: bytes) -> list[Frame]:
    frames = []
    while data:
        assert len(data) >= 9, f"a torn frame header: {data!r}"
        frame, length = Frame.parse_frame_header(memoryview(data[:9]))
        assert len(data) >= 9 + length, "a torn frame"
        frame.parse_body(memoryview(data[9 : 9 + length]))
        frames.append(frame)
        data = data[9 + length :]
    return frames


@given(frames=st.lists(frame_strategy, max_size=12), cuts=st.integers(1, 6))
def test_http2_any_frames_give_frames_back_or_a_goaway(frames: list[Frame], cuts: int) -> None:
    """Robustness (HTTP/2): after a valid preface, any frames give well-formed frames back;
    the connection either keeps serving or ends with GOAWAY, nothing raises."""
    answered.clear()
    h = Harness()
    client = h2.connection.H2Connection(h2.config.H2Configuration(header_encoding=None))
    client.initiate_connection()
    data = client.data_to_send() + b"".join(frame.serialize() for frame in frames)
    size = max(1, len(data) // cuts)
    for start in range(0, len(data), size):
        h.feed(data[start : start + size])
        answer_everything(h)
    h.advance(10)
    written = parse_frames(bytes(h.output))
    assert isinstance(written[0], SettingsFrame)
    if h.closed:
        assert any(isinstance(frame, GoAwayFrame) for frame in written)
    assert len(h.output) < OUTPUT_LIMIT


def ws_harness(config: Config | None = None) -> tuple[Harness, wsconn.Connection, int]:
    h = Harness(config, alpn="http/1.1")
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import Request

    handshake = WSConnection(ConnectionType.CLIENT)
    h.feed(handshake.send(Request(host="example", target="/ws")))
    [sid] = h.scopes
    h.receive(sid)
    h.send(sid, {"type": "websocket.accept"})
    return h, wsconn.Connection(wsconn.ConnectionType.CLIENT), sid


@given(data=st.binary(max_size=400).flatmap(split))
def test_websocket_any_bytes_close_with_a_valid_code(data: tuple[bytes, ...]) -> None:
    """Robustness (WebSocket): any frames give messages or a close with an RFC 6455 code."""
    h, _, sid = ws_harness(Config(ws_max_size=1000))
    for piece in data:
        h.feed(piece)
    for _ in range(40):
        h.receive(sid)
    client = wsconn.Connection(wsconn.ConnectionType.CLIENT)
    out = bytes(h.output)
    client.receive_data(out[out.index(b"\r\n\r\n") + 4 :])
    for event in client.events():
        if isinstance(event, wsevents.CloseConnection):
            assert event.code in (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1011), event.code
    for message in h.received[sid]:
        assert message["type"] in ("websocket.connect", "websocket.receive",
                                   "websocket.disconnect")  # fmt: skip
        if message["type"] == "websocket.receive":
            assert (message.get("text") is None) != (message.get("bytes") is None)


@given(messages=st.lists(st.one_of(st.text(max_size=50), st.binary(max_size=50)), max_size=6),
       cut=st.data())  # fmt: skip
def test_websocket_frames_split_anywhere_give_the_same_messages(
    messages: list[str | bytes], cut: st.DataObject
) -> None:
    """Split invariance (WebSocket): one feed or many, the app gets the same messages."""
    _, client, _ = ws_harness()
    stream = b"".join(
        client.send(wsevents.TextMessage(m) if isinstance(m, str) else wsevents.BytesMessage(m))
        for m in messages
    )
    results = []
    for pieces in ((stream,), cut.draw(split(stream, max_pieces=10))):
        h, _, sid = ws_harness()
        for piece in pieces:
            h.feed(piece)
        for _ in messages:
            h.receive(sid)
        results.append(h.received[sid])
    assert results[0] == results[1]
    assert [m.get("text", m.get("bytes")) for m in results[0][1:]] == messages


@given(bodies=st.lists(st.binary(max_size=3000), min_size=1, max_size=3), cut=st.data())
def test_http2_input_split_anywhere_gives_the_same_scopes_and_bodies(
    bodies: list[bytes], cut: st.DataObject
) -> None:
    """Split invariance (HTTP/2): the bytes of several requests, cut anywhere, give the
    same scopes and bodies as one read."""
    client = h2.connection.H2Connection(h2.config.H2Configuration(header_encoding=None))
    client.initiate_connection()
    for i, body in enumerate(bodies):
        sid = client.get_next_available_stream_id()
        client.send_headers(sid, [(b":method", b"POST"), (b":scheme", b"http"),
                                  (b":authority", b"a"), (b":path", b"/%d" % i)])  # fmt: skip
        client.send_data(sid, body, end_stream=True)
    stream = client.data_to_send()
    results = []
    for pieces in ((stream,), cut.draw(split(stream, max_pieces=12))):
        h = Harness()
        for piece in pieces:
            h.feed(piece)
        got = {}
        for sid, scope in h.scopes.items():
            h.receive(sid)
            got[scope["path"]] = h.received[sid][-1]["body"]
        results.append(got)
    assert results[0] == results[1] == {f"/{i}": body for i, body in enumerate(bodies)}


class HTTP2Connection(RuleBasedStateMachine):
    """HTTP/2 with a client and apps doing anything in any order; invariants after each step:
    at most one StreamStarted per stream, no AppReceive after http.disconnect, SendAllowed
    only for a send() that waited, flow-control windows never negative, deadlines ahead."""

    @initialize()
    def connect(self) -> None:
        self.h = Harness(Config(max_buffered_body_size=4096, keep_alive_timeout=30))
        self.peer = H2Peer(self.h)
        self.open: list[int] = []
        self.waiting: set[int] = set()
        self.finished: set[int] = set()
        self.disconnected: set[int] = set()
        self.started: dict[int, int] = {}

    def _after(self) -> None:
        if not self.h.closed:
            self.peer.flush()
        for sid in self.h.send_allowed:
            assert sid in self.waiting, f"SendAllowed for stream {sid}, which did not wait"
            self.waiting.discard(sid)
        self.h.send_allowed.clear()

    @precondition(lambda self: not self.h.closed and len(self.open) < 8)
    @rule(body=st.binary(max_size=10_000), end=st.booleans())
    def client_request(self, body: bytes, end: bool) -> None:
        sid = self.peer.request("/", "POST", body=body, end=end)
        if sid in self.h.scopes:
            self.open.append(sid)
        self._after()

    @precondition(lambda self: self.open and not self.h.closed)
    @rule(index=st.integers(0, 7))
    def client_resets(self, index: int) -> None:
        sid = self.open[index % len(self.open)]
        stream = self.peer.h2.streams.get(sid)
        if stream is not None and not stream.closed:
            self.peer.h2.reset_stream(sid)
        self._after()

    @precondition(lambda self: self.open)
    @rule(index=st.integers(0, 7))
    def app_receives(self, index: int) -> None:
        sid = self.open[index % len(self.open)]
        if sid in self.finished:
            return
        self.h.receive(sid)
        self._after()

    @precondition(lambda self: self.open)
    @rule(index=st.integers(0, 7), size=st.integers(0, 100_000), more=st.booleans())
    def app_sends(self, index: int, size: int, more: bool) -> None:
        sid = self.open[index % len(self.open)]
        if sid in self.finished or sid in self.waiting:
            return
        try:
            if sid not in self.started:
                self.h.send(sid, {"type": "http.response.start", "status": 200})
                self.started[sid] = 0
            may_return = self.h.send(sid, {"type": "http.response.body", "body": b"x" * size,
                                           "more_body": more})  # fmt: skip
            if not may_return:
                self.waiting.add(sid)
        except (ClientDisconnected, AppProtocolError):
            pass
        self._after()

    @precondition(lambda self: self.open)
    @rule(index=st.integers(0, 7), fail=st.booleans())
    def app_returns(self, index: int, fail: bool) -> None:
        sid = self.open[index % len(self.open)]
        if sid in self.finished or sid in self.waiting:
            return
        self.finished.add(sid)
        self.h.finish(sid, RuntimeError("app failed") if fail else None)
        self._after()

    @rule(seconds=st.sampled_from([0.5, 5, 40]))
    def time_passes(self, seconds: float) -> None:
        self.h.advance(seconds)
        self._after()

    @precondition(lambda self: not self.h.closed)
    @rule()
    def shutdown(self) -> None:
        self.h.shutdown()
        self.peer.pull()

    @invariant()
    def streams_start_once_and_disconnect_last(self) -> None:
        if not hasattr(self, "h"):
            return
        started = [e.stream_id for e in self.h.event_log if type(e).__name__ == "StreamStarted"]
        assert len(started) == len(set(started))
        for messages in self.h.received.values():
            kinds = [m["type"] for m in messages]
            if "http.disconnect" in kinds:
                first = kinds.index("http.disconnect")
                assert all(k == "http.disconnect" for k in kinds[first:]), kinds

    @invariant()
    def windows_are_never_negative(self) -> None:
        if not hasattr(self, "h") or self.h.closed or self.peer.goaway is not None:
            return
        assert self.peer.h2.outbound_flow_control_window >= 0
        for sid in self.open:
            stream = self.peer.h2.streams.get(sid)
            if stream is not None and not stream.closed:
                assert self.peer.h2.local_flow_control_window(sid) >= 0

    @invariant()
    def the_deadline_is_ahead(self) -> None:
        if not hasattr(self, "h"):
            return
        deadline = self.h.conn.next_deadline
        note(f"now={self.h.clock} deadline={deadline}")
        assert deadline is None or deadline > self.h.clock or self.h.closed


class HTTP11Connection(RuleBasedStateMachine):
    """HTTP/1.1 with pipelined requests, app answers, time, EOF and shutdown in any order:
    responses come in request order, each request is started once, and the output always
    parses as HTTP/1.1."""

    @initialize()
    def connect(self) -> None:
        self.h = Harness(Config(keep_alive_timeout=30), alpn="http/1.1")
        self.sent = 0

    @precondition(lambda self: not self.h.closed and self.sent < 6)
    @rule(body=st.binary(max_size=200), pieces=st.integers(1, 4))
    def client_sends_a_request(self, body: bytes, pieces: int) -> None:
        self.sent += 1
        data = b"POST /%d HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n%s" % (
            self.sent, len(body), body)  # fmt: skip
        size = max(1, len(data) // pieces)
        for start in range(0, len(data), size):
            self.h.feed(data[start : start + size])

    @rule()
    def apps_answer(self) -> None:
        for sid, scope in list(self.h.scopes.items()):
            if not self.h.received[sid] or self.h.received[sid][-1].get("more_body"):
                try:
                    self.h.receive(sid)
                except AppProtocolError:
                    continue
            if sid not in self.answered():
                with contextlib.suppress(ClientDisconnected, AppProtocolError):
                    self.h.respond(sid, scope["path"].encode())

    def answered(self) -> set[int]:
        return {e.stream_id for e in self.h.event_log if type(e).__name__ == "StreamStarted"} & {
            sid for sid in self.h.scopes if sid not in self.h.conn.protocol.streams
        }

    @rule(seconds=st.sampled_from([1, 20, 40]))
    def time_passes(self, seconds: float) -> None:
        self.h.advance(seconds)

    @precondition(lambda self: not self.h.closed)
    @rule()
    def shutdown(self) -> None:
        self.h.shutdown()

    @precondition(lambda self: not self.h.closed)
    @rule()
    def client_closes(self) -> None:
        self.h.eof()

    @invariant()
    def responses_are_in_order(self) -> None:
        if not hasattr(self, "h"):
            return
        statuses = parse_h11_responses(bytes(self.h.output))
        assert all(status in (200, 408) for status in statuses), statuses
        paths = [scope["path"] for scope in self.h.scopes.values()]
        assert paths == sorted(paths, key=lambda p: int(p[1:]))

    @invariant()
    def the_deadline_is_ahead(self) -> None:
        if not hasattr(self, "h"):
            return
        deadline = self.h.conn.next_deadline
        assert deadline is None or deadline > self.h.clock or self.h.closed


TestHTTP2Connection = HTTP2Connection.TestCase
TestHTTP11Connection = HTTP11Connection.TestCase
