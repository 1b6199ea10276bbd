"""The application every server in the benchmark serves: a fixed 13-byte answer.

It is ``asgi_core.testing.apps.hello``, here as ``hello:app`` for every server's command line.
"""

from asgi_core.testing.apps import hello as app

__all__ = ["app"]
