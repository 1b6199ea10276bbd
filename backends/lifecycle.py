"""One server's life: its running application calls, what it takes on, and its shutdown.

- Every application call is tracked (``AppCalls``), so a graceful shutdown waits for work
  after the response too (FastAPI's BackgroundTasks), says what it waits for, and says what it
  cut when ``graceful_timeout`` passed.
- ``--limit-concurrency``: past that many calls in flight, a request gets 503 with
  ``Retry-After`` (as uvicorn answers) and a WebSocket handshake a 503 denial.
- ``--max-connections``: past that many open connections (per worker), a new one is closed
  at accept, before anything is made for it (Envoy's overload manager); a warning says so,
  at most once a second, with how many were refused since the last one.
- ``--health-path``: answered by the server itself, 200 while serving and 503 while draining
  (``--shutdown-delay``: the seconds a load balancer gets to see the 503 before the server
  stops accepting).
(``--limit-max-requests`` is counted by the worker process itself: ``worker.py``.)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from asgi_core.timers import Pressure, reduced

from . import metrics
from .logs import logger

if TYPE_CHECKING:
    from .config import ServerConfig
    from .driver import AppStream, ASGIApp

#: ``Retry-After`` of a 503 for a server over its ``limit_concurrency`` (RFC 9110 10.2.3).
RETRY_AFTER = b"1"
#: The share of ``max_connections`` open from which idle keep-alive and TLS handshake waits
#: that start are shortened (Envoy's reduce_timeouts).
PRESSURE_SHARE = 0.8
#: Seconds between two warnings about connections refused past ``max_connections``.
REFUSED_LOG_INTERVAL = 1.0


class ConnectionLimit:
    """One server's open connections, counted from accept to close (for the open-connections
    gauge and ``max_connections``); ``admit`` says whether one more may be served, and
    ``pressure`` is set from ``PRESSURE_SHARE`` of the limit on (idle waits then shrink:
    ``timers.reduced``)."""

    def __init__(self, config: ServerConfig) -> None:
        self.limit = limit = config.max_connections
        self.open = 0
        #: Shared by the server's connections (the core reads it as an idle wait starts).
        self.pressure = Pressure()
        self._pressure_from = math.inf if limit is None else math.ceil(limit * PRESSURE_SHARE)
        #: Refused since the last warning, and when that warning was written.
        self._refused = 0
        self._logged_at: float | None = None
        self._keep_alive = config.protocol.keep_alive_timeout

    def timeout(self, timeout: float) -> float:
        """How long a wait that starts now runs: ``timeout``, reduced under pressure."""
        return reduced(timeout) if self.pressure.reduce_timeouts else timeout

    def first_bytes_timeout(self) -> float:
        """How long a connection accepted now may wait before it sends anything: the core's
        keep-alive wait, which the drivers keep themselves until they make its core."""
        return self.timeout(self._keep_alive)

    def admit(self, now: float) -> bool:
        """A connection was accepted: True if it is served (``release`` it once closed),
        False if it must be closed at once (counted, and logged at most once a second)."""
        limit = self.limit
        if limit is None or self.open < limit:
            self.open += 1
            self.pressure.reduce_timeouts = self.open >= self._pressure_from
            if metrics.metrics is not None:
                metrics.metrics.connections.inc()
            return True
        self._refused += 1
        collected = metrics.metrics
        if collected is not None:
            collected.limits.labels("max_connections").inc()
        logged_at = self._logged_at
        if logged_at is None or now - logged_at >= REFUSED_LOG_INTERVAL:
            since = "" if logged_at is None else f" in the last {now - logged_at:.1f} s"
            refused = _count(self._refused, "connection")
            logger.warning("Refused %s past --max-connections %d%s", refused, limit, since)
            self._refused = 0
            self._logged_at = now
        return False

    def release(self) -> None:
        """An admitted connection is closed."""
        self.open -= 1
        self.pressure.reduce_timeouts = self.open >= self._pressure_from
        if metrics.metrics is not None:
            metrics.metrics.connections.dec()


class AppCalls:
    """The application calls of one server that are still running."""

    def __init__(self, config: ServerConfig) -> None:
        self._config = config
        self.running: set[AppStream] = set()
        #: Called once no call runs (the graceful shutdown waits for it).
        self.on_idle: Callable[[], object] = lambda: None
        #: ``shutdown_delay`` is running: the health path answers 503.
        self.draining = False

    def app_for(self, scope: dict[str, Any], app: ASGIApp) -> ASGIApp:
        """The application that answers this scope: the server's own health answer, a 503
        past ``limit_concurrency``, or ``app``."""
        config = self._config
        if scope["type"] == "http" and scope["path"] == config.health_path:
            return self._health
        limit = config.limit_concurrency
        if limit is not None and len(self.running) >= limit:
            return _over_capacity
        return app

    def started(self, stream: AppStream) -> None:
        self.running.add(stream)

    def finished(self, stream: AppStream) -> None:
        self.running.discard(stream)
        if not self.running:
            self.on_idle()

    def describe(self) -> str:
        """What is still running: "2 requests, 1 WebSocket and 1 background task"."""
        requests = websockets = background = 0
        for stream in self.running:
            if stream.responded:
                background += 1
            elif stream.scope["type"] == "websocket":
                websockets += 1
            else:
                requests += 1
        parts = [
            _count(n, word)
            for n, word in ((requests, "request"), (websockets, "WebSocket"),
                            (background, "background task"))
            if n
        ]  # fmt: skip
        if len(parts) > 1:
            return ", ".join(parts[:-1]) + " and " + parts[-1]
        return parts[0] if parts else "nothing"

    async def _health(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """``--health-path``: 200 while serving, 503 once the server drains."""
        status, body = (503, b"draining\n") if self.draining else (200, b"ok\n")
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8")]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})


async def _over_capacity(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Past ``limit_concurrency``: 503 and Retry-After, or a 503 WebSocket denial."""
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"retry-after", RETRY_AFTER)]
    body = b"Service Unavailable\n"
    if scope["type"] == "websocket":
        await send({"type": "websocket.http.response.start", "status": 503, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
    elif scope["type"] == "http":
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": body})


_restart = False


def announce_restart() -> None:
    """This process is being replaced (``RESTART_SIGNAL``), not stopped: its shutdown closes
    WebSockets with 1012 (service restart) rather than 1001 (going away)."""
    global _restart
    _restart = True


def restarting() -> bool:
    return _restart


def _count(number: int, word: str) -> str:
    return f"{number} {word}" if number == 1 else f"{number} {word}s"


def log_draining(config: ServerConfig) -> None:
    """The drain before a shutdown (``shutdown_delay``) begins."""
    health = f"; {config.health_path} answers 503" if config.health_path else ""
    logger.info("Draining for %g s before the shutdown%s", config.shutdown_delay, health)


def log_waiting(calls: AppCalls, connections: int, timeout: float) -> None:
    """The graceful shutdown's first line: what it waits for, and for how long at most."""
    if not calls.running and not connections:
        return
    what = calls.describe() if calls.running else _count(connections, "connection")
    logger.info("Waiting for %s to finish (at most %g s)", what, timeout)


def log_cut(calls: AppCalls, connections: int, timeout: float) -> None:
    """The graceful timeout passed: say what is cut."""
    what = calls.describe() if calls.running else _count(connections, "connection")
    logger.warning("Graceful timeout (%g s) passed: cutting %s", timeout, what)
