"""The application the Autobahn fuzzing client talks to: it echoes every message.

It is ``asgi_core.testing.apps.websocket_echo``, the app benchmarks/websocket.py serves too.
"""

from asgi_core.testing.apps import websocket_echo as app

__all__ = ["app"]
