"""What every protocol of a connection shares, HTTP/1.1 and HTTP/2 alike.

``ServerConnection`` makes one ``ProtocolContext`` per connection and hands it to whichever
protocol serves it (and to the next one, after an h2c upgrade). ``ProtocolBase`` keeps what
both protocols keep the same way: the context's parts, the output buffer, the named deadlines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .config import Config
from .events import Event
from .headers import Headers, add_server_headers
from .httpdate import DateHeader
from .scope import ConnectionInfo
from .timers import Deadlines, Pressure, Timer
from .websocket import GOING_AWAY, SERVICE_RESTART


@dataclass(frozen=True, slots=True)
class ProtocolContext:
    """One connection's configuration, event queue, scope facts and Date header."""

    config: Config
    #: What the core tells the driver, in order (``ServerConnection.events()`` drains it).
    events: list[Event]
    info: ConnectionInfo
    #: The shared Date header; ``None`` when responses get none (``Config.date_header``).
    date: DateHeader | None
    #: The server's shared overload state (``None``: idle timeouts never shrink).
    pressure: Pressure | None = None


class ProtocolBase:
    """The state HTTP/1.1 and HTTP/2 keep alike; each starts idle, on its keep-alive timer."""

    # Slots: an idle keep-alive connection's memory is mostly these objects.
    __slots__ = ("_config", "_date", "_deadlines", "_default_headers", "_events", "_info",
                 "_now", "_out", "_server_header", "closed")  # fmt: skip
    #: Several streams answer at once (HTTP/2): a driver may gather one loop turn's writes
    #: into one send.
    multiplexed: ClassVar[bool] = False

    def __init__(self, context: ProtocolContext, now: float, output: bytes = b"") -> None:
        config = context.config
        self._config = config
        self._events = context.events
        self._info = context.info
        self._date = context.date
        self._server_header = config.server_header_bytes
        self._default_headers = config.default_headers
        self._now = now
        self._out = bytearray(output)
        self.closed = False
        self._deadlines = Deadlines(config, context.pressure)
        self._deadlines.start(Timer.KEEP_ALIVE, now)

    @staticmethod
    def _shutdown_close(restart: bool) -> tuple[int, str]:
        """The close code and reason a shutdown gives open WebSockets."""
        return (SERVICE_RESTART, "server restarting") if restart else (
            GOING_AWAY, "server shutting down")  # fmt: skip

    @property
    def deadline(self) -> float | None:
        """When ``handle_timeout`` is due next (none once closed)."""
        return None if self.closed else self._deadlines.next

    def _add_server_headers(self, headers: Headers, present: int = 0) -> None:
        """``Server`` and ``Date``, unless ``present`` (HAS_* flags) says the app sent them."""
        add_server_headers(headers, present, self._server_header, self._date, self._default_headers)
