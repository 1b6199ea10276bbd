"""Every timer of a connection as a named deadline (as aioquic keeps its timers).

A connection keeps one ``Deadlines``: each entry is a ``Timer`` and the stream it is for (0 for
the connection itself), with the time it is due. ``next`` is their minimum, which is what the
driver sleeps until; ``handle_timeout`` asks which are due and fires each one. How long each
timer runs is the ``Config`` field the timer is named after, so this is where the keep-alive,
head, body and WebSocket deadlines are set.

Under ``Pressure`` (Envoy's reduce_timeouts: the driver says the server is near its connection
limit) an idle keep-alive wait that starts runs for ``reduced(keep_alive_timeout)`` instead.
"""

from __future__ import annotations

from enum import Enum

from .config import Config

#: The stream id under which a connection keeps its own timers.
CONNECTION = 0


class Timer(Enum):
    """What a deadline is for; the value is the ``Config`` field that says how long it runs."""

    # Members are singletons compared by identity: hash them so too, in C (Enum's own
    # __hash__ is Python code, and these are dict keys on every request).
    __hash__ = object.__hash__

    #: An idle keep-alive connection waits for its next request (then it is closed).
    KEEP_ALIVE = "keep_alive_timeout"
    #: A request head has begun and must end in time (slowloris guard; 408).
    REQUEST_HEAD = "request_head_timeout"
    #: The application waits for request body, or the rest of a body is being drained (408).
    REQUEST_BODY = "request_body_timeout"
    #: An open WebSocket's next keepalive ping.
    WS_PING = "ws_ping_interval"
    #: A keepalive ping's answer (the WebSocket closes with 1011 without one).
    WS_PONG = "ws_ping_timeout"
    #: The peer's answer to our close frame (the socket is dropped without one).
    WS_CLOSE = "ws_close_timeout"


def reduced(timeout: float) -> float:
    """An idle timeout under pressure: a tenth of it, but at least 1 s (and never longer)."""
    return min(timeout, max(1.0, timeout / 10))


class Pressure:
    """Whether the server is near its connection limit: one object the driver sets and every
    connection shares (as ``DateHeader``), read when an idle wait starts."""

    __slots__ = ("reduce_timeouts",)

    def __init__(self) -> None:
        self.reduce_timeouts = False


class MinimumRate:
    """Kestrel's MinRequestBodyDataRate for one request: after ``grace`` seconds of waiting
    for its body, the body must have come at ``rate`` bytes per second waited (or 408).

    Only time the server waits counts: the protocol calls ``waiting`` when the body timer
    starts and ``not_waiting`` when it stops (the body came, the app stopped reading), so a
    slow application never counts against its client. A body trickled a byte at a time, which
    restarts the body timeout with every byte (R.U.D.Y.), is cut after about ``grace``.
    """

    __slots__ = ("_grace", "_rate", "_since", "_waited")

    def __init__(self, rate: float, grace: float) -> None:
        self._rate = rate
        self._grace = grace
        self._waited = 0.0
        self._since: float | None = None

    def waiting(self, now: float) -> None:
        if self._since is None:
            self._since = now

    def not_waiting(self, now: float) -> None:
        since = self._since
        if since is not None:
            self._waited += now - since
            self._since = None

    def allowed(self, now: float, timeout: float, received: int) -> float:
        """How long the body timer may run from ``now``, with ``received`` bytes of body so
        far: ``timeout``, or less when the body would fall below the rate first (0: it has)."""
        since = self._since
        waited = self._waited + (now - since if since is not None else 0.0)
        return max(0.0, min(timeout, self._grace + received / self._rate - waited))


def body_wait(
    rate: MinimumRate | None, config: Config, now: float, received: int
) -> tuple[MinimumRate | None, float | None]:
    """A request body wait starts at ``now``, ``received`` bytes in: the request's rate (made
    at its first wait, when ``min_request_body_rate`` is on) and how long the body timer runs
    (None: ``request_body_timeout``)."""
    if rate is None:
        if config.min_request_body_rate is None:
            return None, None
        rate = MinimumRate(config.min_request_body_rate, config.min_request_body_rate_grace)
    rate.waiting(now)
    return rate, rate.allowed(now, config.request_body_timeout, received)


#: Each config's timer durations, as they are and under pressure, shared by its connections
#: (read-only): (config, durations, reduced) by ``id(config)``.
_DURATIONS: dict[int, tuple[Config, dict[Timer, float], dict[Timer, float]]] = {}


def _durations(config: Config) -> tuple[dict[Timer, float], dict[Timer, float]]:
    entry = _DURATIONS.get(id(config))
    if entry is None or entry[0] is not config:
        if len(_DURATIONS) >= 32:  # many configs (tests): forget the old ones
            _DURATIONS.clear()
        durations = {timer: float(getattr(config, timer.value) or 0.0) for timer in Timer}
        under_pressure = {**durations, Timer.KEEP_ALIVE: reduced(config.keep_alive_timeout)}
        entry = _DURATIONS[id(config)] = (config, durations, under_pressure)
    return entry[1], entry[2]


class Deadlines:
    """The named deadlines of one connection; no clock: every change takes ``now``."""

    __slots__ = ("_due", "_durations", "_pressure", "_reduced")

    def __init__(self, config: Config, pressure: Pressure | None = None) -> None:
        self._durations, self._reduced = _durations(config)
        self._pressure = pressure
        self._due: dict[tuple[Timer, int], float] = {}

    def _duration(self, timer: Timer) -> float:
        pressure = self._pressure
        if pressure is not None and pressure.reduce_timeouts:
            return self._reduced[timer]
        return self._durations[timer]

    def start(
        self, timer: Timer, now: float, stream_id: int = CONNECTION, duration: float | None = None
    ) -> None:
        """Run ``timer`` from ``now`` for its configured duration (or ``duration``),
        restarting it if it runs."""
        self._due[timer, stream_id] = now + (
            self._duration(timer) if duration is None else duration
        )

    def keep(
        self, timer: Timer, now: float, stream_id: int = CONNECTION, duration: float | None = None
    ) -> None:
        """Start ``timer`` unless it already runs (then it keeps its deadline)."""
        key = (timer, stream_id)
        if key not in self._due:
            self._due[key] = now + (self._duration(timer) if duration is None else duration)

    def cancel(self, timer: Timer, stream_id: int = CONNECTION) -> bool:
        """Stop ``timer``; whether it was running."""
        return self._due.pop((timer, stream_id), None) is not None

    def cancel_stream(self, stream_id: int) -> None:
        """Every timer of a stream that is over."""
        for key in [key for key in self._due if key[1] == stream_id]:
            del self._due[key]

    def clear(self) -> None:
        self._due.clear()

    def running(self, timer: Timer, stream_id: int = CONNECTION) -> bool:
        return (timer, stream_id) in self._due

    def is_due(self, timer: Timer, now: float, stream_id: int = CONNECTION) -> bool:
        due = self._due.get((timer, stream_id))
        return due is not None and now >= due

    def due(self, now: float) -> list[tuple[Timer, int]]:
        """The timers due at ``now``, earliest first (they stay set until fired or cancelled)."""
        return sorted(
            (key for key, at in self._due.items() if now >= at), key=self._due.__getitem__
        )

    @property
    def next(self) -> float | None:
        """The earliest deadline, or ``None`` when no timer runs."""
        return min(self._due.values()) if self._due else None
