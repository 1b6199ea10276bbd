"""Test kit: drive an ASGI app through the real core in memory, and property-test it.

- ``ASGIClient`` (async, on asyncio or trio via anyio) and ``SyncASGIClient`` (blocking):
  requests over HTTP/1.1 or HTTP/2 and WebSockets, answered as parsed responses with the wire
  bytes; ``check()`` is the ready property (answered, no 5xx, every app call returned).
- ``asgi_core.testing.strategies``: Hypothesis strategies for valid and hostile requests and
  WebSocket message sequences (needs hypothesis).
- A pytest plugin (installed with the package): the ``asgi_client`` fixture serves the app
  your ``asgi_app`` fixture returns.

Unlike the rest of ``asgi_core`` this package runs apps, so it uses anyio and the drivers'
shared code; nothing in the core imports it.
"""

from .client import (
    AppError,
    AppHung,
    ASGIClient,
    Response,
    WebSocketClosed,
    WebSocketDenied,
    WebSocketSession,
)
from .sync import SyncASGIClient, SyncWebSocketSession

__all__ = [
    "ASGIClient",
    "AppError",
    "AppHung",
    "Response",
    "SyncASGIClient",
    "SyncWebSocketSession",
    "WebSocketClosed",
    "WebSocketDenied",
    "WebSocketSession",
]
