"""The drivers: they own sockets, tasks, clocks and signals, and run ``ServerConnection``.

Installed as ``asgi_core.backends`` (see docs/architecture.md). Each backend module offers
``serve(app, config, on_ready=...)``, an awaitable that serves until cancelled.
"""

from .config import ServerConfig

__all__ = ["ServerConfig"]
