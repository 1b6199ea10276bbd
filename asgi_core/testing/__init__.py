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

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

#: Where each name lives: imported on first use, so that ``asgi_core.testing.apps`` (the
#: example apps benchmarks serve) loads no client, anyio or driver.
_HOMES = {
    "AppError": "client",
    "AppHung": "client",
    "ASGIClient": "client",
    "Response": "client",
    "WebSocketClosed": "client",
    "WebSocketDenied": "client",
    "WebSocketSession": "client",
    "SyncASGIClient": "sync",
    "SyncWebSocketSession": "sync",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{home}"), name)


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
