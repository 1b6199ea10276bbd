"""The tests' synchronous layer on the memory driver (``asgi_core.backends.memory``): no
sockets, no event loop, a virtual clock; the test plays the app."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from asgi_core import Config, DateHeader
from asgi_core.backends.memory import MemoryDriver

from .wire import Response, parse_responses

FIXED_DATE = 784111777.0  # Sun, 06 Nov 1994 08:49:37 GMT
CLIENT = ("203.0.113.7", 50123)
SERVER = ("192.0.2.1", 8000)


class Harness(MemoryDriver):
    """Drives one connection the way a driver would, recording everything the core says;
    ``conn`` is the ``ServerConnection``, ``clock`` the virtual time."""

    def __init__(self, config: Config | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("client", CLIENT)
        kwargs.setdefault("server", SERVER)
        kwargs.setdefault("date", DateHeader(FIXED_DATE))
        super().__init__(config or Config(), **kwargs)
        self.conn = self.core

    # -- inputs, chained: ``Harness().feed(GET).respond(1)`` ----------------------------------

    def feed(self, data: bytes) -> Harness:
        self.receive_data(data)
        return self

    def eof(self) -> Harness:
        return self.feed(b"")

    def receive(self, stream_id: int) -> Harness:
        self.app_receive(stream_id)
        return self

    def send(self, stream_id: int, message: Any) -> bool:
        return self.app_send(stream_id, message)

    def respond(
        self,
        stream_id: int,
        body: bytes = b"ok",
        status: int = 200,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> Harness:
        """A whole response in two messages, then the app returns."""
        self.send(
            stream_id, {"type": "http.response.start", "status": status, "headers": headers or []}
        )
        self.send(stream_id, {"type": "http.response.body", "body": body})
        return self.finish(stream_id)

    def finish(self, stream_id: int, exc: BaseException | None = None) -> Harness:
        self.app_finished(stream_id, exc)
        return self

    # -- what came out ------------------------------------------------------------------------

    @property
    def stream_ids(self) -> list[int]:
        return list(self.scopes)

    def responses(self, head_requests: int = 0) -> list[Response]:
        parsed, rest = parse_responses(bytes(self.output), head_requests=head_requests)
        assert rest == b"", f"unparsed output: {rest!r}"
        return parsed

    def final_responses(self, head_requests: int = 0) -> list[Response]:
        return [r for r in self.responses(head_requests) if r.status >= 200]


def echo(h: Harness, pieces: list[bytes]) -> dict[int, bytes]:
    """Feed ``pieces`` one by one, playing an echo app that reads each request's whole body
    and answers with it as soon as it can; each stream's body as the app read it."""
    asked: dict[int, int] = {}
    done: dict[int, bytes] = {}
    for piece in pieces:
        h.feed(piece)
        progress = True
        while progress:
            progress = False
            for stream_id in h.stream_ids:
                if stream_id in done:
                    continue
                messages = h.received[stream_id]
                last = messages[-1] if messages else None
                if last is not None and (
                    last["type"] == "http.disconnect" or not last.get("more_body", False)
                ):
                    body = b"".join(m.get("body", b"") for m in messages)
                    done[stream_id] = body
                    if last["type"] == "http.request":
                        h.respond(stream_id, body)
                    else:
                        h.finish(stream_id)
                    progress = True
                elif asked.get(stream_id, 0) == len(messages):
                    asked[stream_id] = len(messages) + 1
                    h.receive(stream_id)
                    progress = True
    return done


class WebSocketPeer:
    """A wsproto client on the other end of a ``Harness``: handshake, frames, events."""

    def __init__(self, harness: Harness, path: str = "/ws", **request: Any) -> None:
        from wsproto import ConnectionType, WSConnection
        from wsproto.events import Request

        self.h = harness
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.h.feed(self.ws.send(Request(host="example", target=path, **request)))
        self.seen = 0

    def events(self) -> list[Any]:
        """Everything the server wrote since the last call, as wsproto client events."""
        new = bytes(self.h.output[self.seen :])
        self.seen = len(self.h.output)
        self.ws.receive_data(new)
        return list(self.ws.events())

    def send(self, event: Any) -> None:
        self.h.feed(self.ws.send(event))


class H2Peer:
    """An h2 client on the other end of a ``Harness``: requests, frames, and what came back.

    Every call exchanges bytes both ways until neither side has more to say, so SETTINGS and
    PING acks and WINDOW_UPDATEs flow as they would on a socket.
    """

    def __init__(self, harness: Harness, *, settings: dict[int, int] | None = None,
                 preface: bool = True) -> None:  # fmt: skip
        import h2.config
        import h2.connection

        from asgi_core.http2.h2_internals import keep_open_after_goaway

        self.h = harness
        self.h2 = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding=None)
        )
        # Like a real client, keep reading (and resetting) after the server's GOAWAY: h2 alone
        # would refuse every frame once it has seen one.
        keep_open_after_goaway(self.h2)
        self.seen = 0
        self.log: list[Any] = []
        self.headers: dict[int, list[list[tuple[bytes, bytes]]]] = defaultdict(list)
        self.data: dict[int, bytearray] = defaultdict(bytearray)
        self.ended: set[int] = set()
        self.resets: dict[int, int] = {}
        self.pushes: dict[int, list[tuple[bytes, bytes]]] = {}
        self.goaway: Any = None
        self.read = True  # False: the client stops returning windows for what it receives
        self.unsent: dict[int, tuple[bytearray, bool]] = {}  # body waiting for window
        if preface:
            self.h2.initiate_connection()
            if settings:
                self.h2.update_settings(settings)
            self.flush()

    def flush(self) -> H2Peer:
        """Send what the client has queued, then take in what the server answered."""
        for _ in range(1000):
            self._send_unsent()
            out = self.h2.data_to_send()
            if out:
                self.h.feed(out)
            if not self.pull() and not self.h2.data_to_send():
                break
        return self

    def pull(self) -> bool:
        """Parse what the server wrote since the last call; True if anything was new."""
        import h2.events

        new = bytes(self.h.output[self.seen :])
        self.seen = len(self.h.output)
        if not new:
            return False
        for event in self.h2.receive_data(new):
            self.log.append(event)
            if isinstance(event, (h2.events.ResponseReceived, h2.events.TrailersReceived,
                                  h2.events.InformationalResponseReceived)):  # fmt: skip
                self.headers[event.stream_id].append(list(event.headers))
            elif isinstance(event, h2.events.DataReceived):
                self.data[event.stream_id] += event.data
                if self.read:
                    self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                self.ended.add(event.stream_id)
            elif isinstance(event, h2.events.StreamReset):
                self.resets[event.stream_id] = int(event.error_code)
            elif isinstance(event, h2.events.PushedStreamReceived):
                assert event.pushed_stream_id is not None and event.headers is not None
                self.pushes[event.pushed_stream_id] = list(event.headers)
            elif isinstance(event, h2.events.ConnectionTerminated):
                self.goaway = event
        return True

    def request(
        self,
        path: str = "/",
        method: str = "GET",
        headers: list[tuple[bytes, bytes]] | None = None,
        body: bytes = b"",
        end: bool = True,
        authority: bytes = b"example.com",
    ) -> int:
        stream_id: int = self.h2.get_next_available_stream_id()
        fields = [(b":method", method.encode()), (b":scheme", b"http"),
                  (b":authority", authority), (b":path", path.encode())]  # fmt: skip
        self.h2.send_headers(stream_id, fields + list(headers or []), end_stream=end and not body)
        if body:
            self.send_body(stream_id, body, end)
        self.flush()
        return stream_id

    def send_body(self, stream_id: int, body: bytes, end: bool = True) -> None:
        """Queue request body; it goes out as the server's windows allow."""
        self.unsent[stream_id] = (bytearray(body), end)
        self.flush()

    def _send_unsent(self) -> None:
        for stream_id, (body, end) in list(self.unsent.items()):
            if stream_id in self.resets:
                del self.unsent[stream_id]
                continue
            window = self.h2.local_flow_control_window(stream_id)
            size = min(window, self.h2.max_outbound_frame_size, len(body))
            if size <= 0 and body:
                continue
            piece = bytes(body[:size])
            del body[:size]
            last = not body
            self.h2.send_data(stream_id, piece, end_stream=last and end)
            if last:
                del self.unsent[stream_id]

    def status(self, stream_id: int) -> int:
        """The final status of a stream's response."""
        for block in self.headers[stream_id]:
            status = dict(block).get(b":status")
            if status is not None and not status.startswith(b"1"):
                return int(status)
        raise AssertionError(f"no final response on stream {stream_id}")

    def response_headers(self, stream_id: int) -> dict[bytes, bytes]:
        for block in self.headers[stream_id]:
            if not dict(block).get(b":status", b"1").startswith(b"1"):
                return dict(block)
        raise AssertionError(f"no final response on stream {stream_id}")
