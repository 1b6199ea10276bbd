"""An in-memory driver for ``ServerConnection``: no sockets, no event loop, a virtual clock."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from asgi_core import (
    AppReceive,
    CloseConnection,
    Config,
    DateHeader,
    SendAllowed,
    ServerConnection,
    StreamStarted,
)

from .wire import Response, parse_responses

FIXED_DATE = 784111777.0  # Sun, 06 Nov 1994 08:49:37 GMT
CLIENT = ("203.0.113.7", 50123)
SERVER = ("192.0.2.1", 8000)


class Harness:
    """Drives one connection the way a driver would, recording everything the core says."""

    def __init__(self, config: Config | None = None, **kwargs: Any) -> None:
        self.now = 0.0
        kwargs.setdefault("client", CLIENT)
        kwargs.setdefault("server", SERVER)
        kwargs.setdefault("date", DateHeader(FIXED_DATE))
        self.conn = ServerConnection(config or Config(), now=self.now, **kwargs)
        self.scopes: dict[int, dict[str, Any]] = {}
        self.received: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self.send_allowed: list[int] = []
        self.closed = False
        self.output = bytearray()
        self.event_log: list[object] = []

    # -- inputs -------------------------------------------------------------------------------

    def feed(self, data: bytes) -> Harness:
        self.conn.receive_data(data, self.now)
        return self._drain()

    def eof(self) -> Harness:
        return self.feed(b"")

    def receive(self, stream_id: int) -> Harness:
        self.conn.app_receive(stream_id, self.now)
        return self._drain()

    def send(self, stream_id: int, message: Any) -> bool:
        try:
            return self.conn.app_send(stream_id, message, self.now)
        finally:
            self._drain()

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
        self.conn.app_finished(stream_id, exc, self.now)
        return self._drain()

    def advance(self, seconds: float) -> Harness:
        """Move the virtual clock and fire what is due, as a driver's timer would."""
        self.now += seconds
        self.conn.handle_timeout(self.now)
        return self._drain()

    def shutdown(self) -> Harness:
        self.conn.start_shutdown(self.now)
        return self._drain()

    # -- what came out ------------------------------------------------------------------------

    def _drain(self) -> Harness:
        for event in self.conn.events():
            self.event_log.append(event)
            if isinstance(event, StreamStarted):
                assert event.stream_id not in self.scopes
                self.scopes[event.stream_id] = event.scope
            elif isinstance(event, AppReceive):
                self.received[event.stream_id].append(event.message)
            elif isinstance(event, SendAllowed):
                self.send_allowed.append(event.stream_id)
            elif isinstance(event, CloseConnection):
                assert not self.closed, "CloseConnection emitted twice"
                self.closed = True
        self.output += self.conn.data_to_send()
        return self

    @property
    def stream_ids(self) -> list[int]:
        return list(self.scopes)

    def responses(self, head_requests: int = 0) -> list[Response]:
        parsed, rest = parse_responses(bytes(self.output), head_requests=head_requests)
        assert rest == b"", f"unparsed output: {rest!r}"
        return parsed

    def final_responses(self, head_requests: int = 0) -> list[Response]:
        return [r for r in self.responses(head_requests) if r.status >= 200]


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
