"""One record per HTTP/2 stream whose application runs: finishing it is one deletion."""

from __future__ import annotations

from ..http_stream import HTTPStream
from ..timers import MinimumRate
from ..websocket import WebSocketStream


class H2Stream:
    """What the connection keeps for one stream; its deadlines are in the connection's
    ``Deadlines`` under its id, and what it still has to send in ``Sender``."""

    __slots__ = ("authority", "body_size", "declared_length", "early_data", "http", "rate",
                 "unacked", "websocket")  # fmt: skip

    def __init__(
        self,
        http: HTTPStream | None = None,
        websocket: WebSocketStream | None = None,
        *,
        authority: bytes = b"",
        declared_length: int | None = None,
    ) -> None:
        #: The request's ASGI side (None for a WebSocket).
        self.http = http
        #: The WebSocket's ASGI side (RFC 8441; None for a request).
        self.websocket = websocket
        #: The request's :authority, for the pushes it makes.
        self.authority = authority
        #: The request's content-length, checked when its body ends (RFC 9113 section 8.1.1).
        self.declared_length = declared_length
        #: Request body bytes received so far.
        self.body_size = 0
        #: The request body's minimum rate, made when the app first waits for body.
        self.rate: MinimumRate | None = None
        #: WebSocket frames received before the app accepted.
        self.early_data: list[bytes] = []
        #: WebSocket bytes not yet returned to the flow-control window.
        self.unacked = 0
