"""The WebSocket echo application every server in benchmarks/websocket.py serves.

It is ``asgi_core.testing.apps.websocket_echo``, here as ``ws_echo:app`` for every server's
command line.
"""

from asgi_core.testing.apps import websocket_echo as app

__all__ = ["app"]
