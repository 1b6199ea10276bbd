"""A token bucket on the core's clock (``now`` comes in as an argument): the budgets that
bound floods of HTTP/2 control frames and resets, and of WebSocket control frames."""

from __future__ import annotations

#: Budgets refill over this many seconds.
BUDGET_PERIOD = 10.0


class Budget:
    """A token bucket: ``size`` tokens, refilled evenly over ``BUDGET_PERIOD`` seconds."""

    __slots__ = ("_last", "_rate", "_size", "_tokens")

    def __init__(self, size: int, now: float) -> None:
        self._size = float(size)
        self._tokens = float(size)
        self._rate = size / BUDGET_PERIOD
        self._last = now

    def spend(self, now: float) -> bool:
        """Take one token; ``False`` once the budget is exhausted."""
        self._tokens = min(self._size, self._tokens + (now - self._last) * self._rate) - 1
        self._last = now
        return self._tokens >= 0
