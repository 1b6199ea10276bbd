"""The ``Date`` response header, formatted once per second and shared by every connection.

The core never reads a clock: the driver calls ``update(wall_time)`` from its own timer.
"""

from __future__ import annotations

from email.utils import formatdate


class DateHeader:
    """Holds the current IMF-fixdate (RFC 9110 section 5.6.7) as header bytes."""

    __slots__ = ("_second", "value")

    def __init__(self, wall_time: float) -> None:
        self._second = -1
        self.value = b""
        self.update(wall_time)

    def update(self, wall_time: float) -> None:
        """Re-format the header if ``wall_time`` (seconds since the epoch) is in a new second."""
        second = int(wall_time)
        if second != self._second:
            self._second = second
            self.value = formatdate(second, usegmt=True).encode("ascii")
