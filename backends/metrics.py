"""Prometheus metrics at ``/metrics`` on their own address (``--metrics-bind HOST:PORT``).

prometheus-client is an extra (``pip install 'asgi-core[metrics]'``), imported only when
metrics are asked for. The driver calls the ``Metrics`` methods from the events it already
handles (``ResponseEnded``, ``LimitHit``, ``AppReceive``, a stream's start and end, a
connection's open and close), so no metric costs anything while ``metrics`` is None.

With ``--workers``, prometheus-client's multiprocess mode: the supervisor makes a fresh
``PROMETHEUS_MULTIPROC_DIR`` before it imports prometheus-client or forks, each worker writes
its values to files there, the supervisor serves ``/metrics`` with a ``MultiProcessCollector``
(one scrape sums every worker), marks a dead worker's gauges gone, and removes the folder at
the end.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

from .logs import logger

#: The process's metrics; None: not collected (the default).
metrics: Metrics | None = None

_ENV = "PROMETHEUS_MULTIPROC_DIR"

#: Request duration buckets, in seconds.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """Every metric the server keeps, on prometheus-client's default registry."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        self.requests = Counter(
            "asgi_core_requests", "Responses, by protocol, method and status",
            ["protocol", "method", "status"],
        )  # fmt: skip
        self.duration = Histogram(
            "asgi_core_request_duration_seconds", "From a request's start to its response's end",
            ["protocol"], buckets=BUCKETS,
        )  # fmt: skip
        self.bytes_out = Counter(
            "asgi_core_response_body_bytes", "Response body bytes sent", ["protocol"]
        )
        self.bytes_in = Counter(
            "asgi_core_request_body_bytes", "Request body bytes received (handed to the app)",
            ["protocol"],
        )  # fmt: skip
        self.connections = Gauge(
            "asgi_core_open_connections", "Open connections", multiprocess_mode="livesum"
        )
        self.streams = Gauge(
            "asgi_core_open_streams", "Application calls in flight, by protocol and type",
            ["protocol", "type"], multiprocess_mode="livesum",
        )  # fmt: skip
        self.websockets = Counter("asgi_core_websocket_sessions", "WebSockets accepted")
        self.limits = Counter(
            "asgi_core_limit_hits", "Limits hit: 408, 413, 431, 503, refused streams, "
            "ENHANCE_YOUR_CALM...", ["limit"],
        )  # fmt: skip

    def stream_started(self, scope: dict[str, Any]) -> None:
        """An application call starts."""
        self.streams.labels(_protocol(scope), scope.get("type", "-")).inc()

    def stream_finished(self, scope: dict[str, Any]) -> None:
        """An application call ended."""
        self.streams.labels(_protocol(scope), scope.get("type", "-")).dec()

    def body_received(self, scope: dict[str, Any], size: int) -> None:
        """Request body bytes the app receives (a body it never reads is not counted)."""
        self.bytes_in.labels(_protocol(scope)).inc(size)

    def response_ended(
        self, scope: dict[str, Any] | None, status: int, size: int, duration: float | None
    ) -> None:
        """One response (a WebSocket's handshake answer counts as one)."""
        protocol = _protocol(scope) if scope else "-"
        method = scope.get("method", "-") if scope else "-"
        self.requests.labels(protocol, method, str(status)).inc()
        if size:
            self.bytes_out.labels(protocol).inc(size)
        if duration is not None:
            self.duration.labels(protocol).observe(duration)
        if scope is not None and scope.get("type") == "websocket" and status in (101, 200):
            self.websockets.inc()
        if status in (408, 413, 431, 503):
            self.limits.labels(str(status)).inc()


def _protocol(scope: dict[str, Any]) -> str:
    return "HTTP/" + str(scope.get("http_version", "1.1"))


def enable() -> Metrics:
    """Collect metrics in this process (a worker, or the only process)."""
    global metrics
    if metrics is None:
        metrics = Metrics()
    return metrics


def parse_bind(bind: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:9100`` for IPv6) to its parts; a ``ValueError`` if malformed."""
    host, _, port = bind.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--metrics-bind {bind!r}: expected HOST:PORT")
    return host.strip("[]"), int(port)


def serve_single(bind: str) -> None:
    """One process: collect here and serve ``/metrics`` from a thread."""
    from prometheus_client import start_http_server

    host, port = parse_bind(bind)
    enable()
    start_http_server(port, host)
    logger.info("Metrics on http://%s/metrics", bind)


def prepare_multiprocess() -> str:
    """Before the supervisor imports prometheus-client or forks: a fresh folder for the
    workers' files (an inherited one would mix in another run's values)."""
    path = tempfile.mkdtemp(prefix="asgi-core-metrics-")
    os.environ[_ENV] = path
    return path


def serve_multiprocess(bind: str) -> None:
    """In the supervisor: serve every worker's values, summed, from a thread."""
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    host, port = parse_bind(bind)
    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    start_http_server(port, host, registry=registry)
    logger.info("Metrics on http://%s/metrics (every worker's, from %s)", bind, os.environ[_ENV])


def worker_exited(pid: int) -> None:
    """A worker is gone: its live gauges no longer count (its counters still do)."""
    if os.environ.get(_ENV):
        from prometheus_client.multiprocess import mark_process_dead

        mark_process_dead(pid)  # type: ignore[no-untyped-call]


def cleanup(path: str) -> None:
    """The supervisor is done: remove the workers' files."""
    shutil.rmtree(path, ignore_errors=True)
    os.environ.pop(_ENV, None)
