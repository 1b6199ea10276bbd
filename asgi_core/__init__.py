"""asgi-core: a sans-io ASGI protocol core; drivers live in ``asgi_core.backends``."""

from .config import Config
from .connection import ServerConnection
from .errors import AppProtocolError, ClientDisconnected, ConfigError
from .events import AppReceive, CloseConnection, Event, SendAllowed, StreamStarted
from .httpdate import DateHeader
from .lifespan import LifespanMachine

__all__ = [
    "AppProtocolError",
    "AppReceive",
    "ClientDisconnected",
    "CloseConnection",
    "Config",
    "ConfigError",
    "DateHeader",
    "Event",
    "LifespanMachine",
    "SendAllowed",
    "ServerConnection",
    "StreamStarted",
]

__version__ = "0.1.0"
