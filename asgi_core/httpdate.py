"""The ``Date`` response header, formatted once per second and shared by every connection.

The core never reads a clock: the driver calls ``update(wall_time)`` from its own timer.
"""

from __future__ import annotations

_DAYS = (b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed")  # 1970-01-01 was a Thursday
_MONTHS = (b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun",
           b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec")  # fmt: skip


def format_http_date(wall_time: float) -> bytes:
    """IMF-fixdate (RFC 9110 section 5.6.7) for seconds since the epoch, e.g.
    ``Sun, 06 Nov 1994 08:49:37 GMT``; pure arithmetic, no clock or locale involved."""
    seconds = int(wall_time)
    days, rest = divmod(seconds, 86400)
    hour, rest = divmod(rest, 3600)
    minute, second = divmod(rest, 60)
    # Civil date from a day count (H. Hinnant's days_from_civil, inverted).
    shifted = days + 719468
    era = shifted // 146097
    day_of_era = shifted - era * 146097
    year_of_era = (
        day_of_era - day_of_era // 1460 + day_of_era // 36524 - day_of_era // 146096
    ) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    month_index = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * month_index + 2) // 5 + 1
    month = month_index + 3 if month_index < 10 else month_index - 9
    year = year_of_era + era * 400 + (month <= 2)
    return b"%s, %02d %s %04d %02d:%02d:%02d GMT" % (
        _DAYS[days % 7],
        day,
        _MONTHS[month - 1],
        year,
        hour,
        minute,
        second,
    )


class DateHeader:
    """Holds the current ``Date`` header value as bytes, shared by every connection."""

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
            self.value = format_http_date(second)
