"""What the core tells its driver to do, in the order it must be done.

Every protocol speaks of *streams*: one ASGI scope each. HTTP/1.1 numbers its requests 1, 3, 5...;
HTTP/2 uses its own stream ids. A driver therefore handles every protocol with the same code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class StreamStarted:
    """Start one application task: ``app(scope, receive, send)`` for this stream."""

    stream_id: int
    scope: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AppReceive:
    """Hand ``message`` to the stream's pending ``receive()`` call (one per ``app_receive``)."""

    stream_id: int
    message: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SendAllowed:
    """A ``send()`` that ``app_send`` told to wait on flow control may now return."""

    stream_id: int


@dataclass(frozen=True, slots=True)
class CloseConnection:
    """Write what ``data_to_send()`` still holds, then close the socket."""


Event = StreamStarted | AppReceive | SendAllowed | CloseConnection
