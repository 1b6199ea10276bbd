"""ServerConfig: the driver's settings (where to listen, which loop, lifespan, logging).

Protocol limits and timeouts live in the core's ``Config``, carried here as ``protocol``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from asgi_core.config import Config
from asgi_core.errors import ConfigError

Backend = Literal["asyncio", "trio", "anyio"]
Loop = Literal["auto", "asyncio", "uvloop", "trio"]
LifespanMode = Literal["auto", "on", "off"]
CertReqs = Literal["none", "optional", "required"]

BACKENDS: tuple[str, ...] = ("asyncio", "trio", "anyio")
#: Event loops: asyncio's own, uvloop ("auto" takes it when installed), or trio (anyio only).
LOOPS: tuple[str, ...] = ("auto", "asyncio", "uvloop", "trio")
LIFESPAN_MODES: tuple[str, ...] = ("auto", "on", "off")
#: Client certificates: not asked for, verified when sent, or required and verified.
CERT_REQS: tuple[str, ...] = ("none", "optional", "required")


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Everything a driver needs besides the application."""

    host: str = "127.0.0.1"
    port: int = 8000
    #: Where to listen instead of host:port: HOST:PORT, [IPV6]:PORT, unix:PATH or fd://N
    #: (TLS when a certificate is set).
    bind: tuple[str, ...] = ()
    #: Like ``bind``, but always plain HTTP (hypercorn's --insecure-bind).
    insecure_bind: tuple[str, ...] = ()
    #: A Unix domain socket to listen on (a stale socket file is replaced).
    uds: str | None = None
    #: Permissions of Unix socket files made by ``uds`` or ``bind`` (e.g. 0o660).
    uds_mode: int | None = None
    #: An inherited file descriptor of a listening socket.
    fd: int | None = None
    backend: Backend = "asyncio"
    loop: Loop = "auto"
    lifespan: LifespanMode = "auto"
    #: Seconds in-flight requests get to finish after a shutdown signal.
    graceful_timeout: float = 30.0
    #: Seconds to keep serving after SIGTERM, with ``health_path`` answering 503, before the
    #: server stops accepting (a rolling deploy's drain behind a load balancer).
    shutdown_delay: float = 0.0
    #: A path the server answers itself: 200 while serving, 503 while draining (None: none).
    health_path: str | None = None
    #: Application calls in flight past which requests get 503 (None: no limit).
    limit_concurrency: int | None = None
    #: Open connections per worker past which a new one is closed at accept; from 80 % of it,
    #: idle keep-alive and TLS handshake waits that start are shortened (None: no limit).
    max_connections: int | None = None
    #: Kestrel's MinResponseDataRate: once writes to a peer have been blocked for
    #: ``min_response_rate_grace`` seconds, it must take our bytes at this many per second of
    #: being blocked, or the connection is cut and its apps' ``send()`` raise
    #: ClientDisconnected (a response or WebSocket peer that does not read). None: off.
    min_response_rate: float | None = 240.0
    min_response_rate_grace: float = 5.0
    backlog: int = 2048
    access_log: bool = True
    #: ``HOST:PORT`` to serve Prometheus metrics at ``/metrics`` on (None: no metrics).
    metrics_bind: str | None = None
    protocol: Config = field(default_factory=Config)
    #: PEM certificate chain (the server's certificate first); serving TLS when set.
    ssl_certfile: str | None = None
    #: PEM private key, when it is not in ``ssl_certfile``.
    ssl_keyfile: str | None = None
    ssl_keyfile_password: str | None = None
    #: PEM CA certificates that client certificates are verified against.
    ssl_ca_certs: str | None = None
    ssl_cert_reqs: CertReqs = "none"
    #: OpenSSL cipher string for TLS 1.2; None: ECDHE with AEAD only (RFC 9113 section 9.2.2).
    ssl_ciphers: str | None = None
    #: Seconds a new connection has to finish its TLS handshake before it is closed.
    tls_handshake_timeout: float = 10.0
    #: Seconds between checks of the certificate files; a change reloads them (None: only
    #: SIGHUP reloads them).
    ssl_reload_interval: float | None = None
    #: Worker processes; more than 1 runs a supervisor (backends/supervisor.py) that forks them.
    workers: int = 1
    #: A worker that has served this many requests drains and is replaced (None: never).
    limit_max_requests: int | None = None
    #: Up to this many more requests (random per worker), so workers do not recycle together.
    limit_max_requests_jitter: int = 0
    #: Restart the workers when a watched file changes (development; needs watchfiles).
    reload: bool = False
    #: Folders watched with ``reload`` (none: the app's folder).
    reload_dirs: tuple[str, ...] = ()
    #: Glob patterns of files that trigger a reload, besides ``*.py``.
    reload_includes: tuple[str, ...] = ()
    #: Glob patterns (or folders) that never trigger a reload.
    reload_excludes: tuple[str, ...] = ()
    #: Every connection starts with a PROXY protocol v1 or v2 header (HAProxy's send-proxy),
    #: accepted from ``protocol.forwarded_allow_ips`` peers only; it sets the client address.
    proxy_protocol: bool = False
    #: Seconds a connection has to send its whole PROXY header before it is closed.
    proxy_protocol_timeout: float = 5.0

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ConfigError(f"backend must be one of {BACKENDS}, not {self.backend!r}")
        if self.loop not in LOOPS:
            raise ConfigError(f"loop must be one of {LOOPS}, not {self.loop!r}")
        if self.loop == "trio" and self.backend != "anyio":
            raise ConfigError("loop 'trio' is for the anyio backend; use backend 'trio' instead")
        if self.backend == "trio" and self.loop in ("asyncio", "uvloop"):
            raise ConfigError(f"the trio backend runs on trio, not on {self.loop!r}")
        if self.lifespan not in LIFESPAN_MODES:
            raise ConfigError(f"lifespan must be one of {LIFESPAN_MODES}, not {self.lifespan!r}")
        if type(self.port) is not int or not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be an int from 0 to 65535, not {self.port!r}")
        if not math.isfinite(self.graceful_timeout) or self.graceful_timeout < 0:
            raise ConfigError(f"graceful_timeout must be >= 0, not {self.graceful_timeout!r}")
        if type(self.backlog) is not int or self.backlog < 1:
            raise ConfigError(f"backlog must be a positive int, not {self.backlog!r}")
        self._check_places()
        self._check_lifecycle()
        self._check_tls()
        self._check_processes()
        timeout = self.proxy_protocol_timeout
        if not isinstance(timeout, (int, float)) or not math.isfinite(timeout) or timeout <= 0:
            raise ConfigError(f"proxy_protocol_timeout must be seconds > 0, not {timeout!r}")

    @property
    def supervised(self) -> bool:
        """A supervisor process runs the workers: several, recycled, or reloaded on changes."""
        return self.workers > 1 or self.reload or self.limit_max_requests is not None

    def _check_lifecycle(self) -> None:
        delay = self.shutdown_delay
        if not isinstance(delay, (int, float)) or not math.isfinite(delay) or delay < 0:
            raise ConfigError(f"shutdown_delay must be seconds >= 0, not {delay!r}")
        path = self.health_path
        if path is not None and (not isinstance(path, str) or not path.startswith("/")):
            raise ConfigError(f"health_path must be a path starting with '/', not {path!r}")
        limit = self.limit_concurrency
        if limit is not None and (type(limit) is not int or limit < 1):
            raise ConfigError(f"limit_concurrency must be an int >= 1 (or off), not {limit!r}")
        rate, grace = self.min_response_rate, self.min_response_rate_grace
        if rate is not None and (not _seconds(rate) or rate <= 0):
            raise ConfigError(f"min_response_rate must be bytes/s > 0 (or off), not {rate!r}")
        if not _seconds(grace) or grace < 0:
            raise ConfigError(f"min_response_rate_grace must be seconds >= 0, not {grace!r}")
        limit = self.max_connections
        if limit is not None and (type(limit) is not int or limit < 1):
            raise ConfigError(f"max_connections must be an int >= 1 (or off), not {limit!r}")

    def _check_places(self) -> None:
        from .sockets import parse_bind  # (sockets imports this module for its types)

        for option, binds in (("--bind", self.bind), ("--insecure-bind", self.insecure_bind)):
            if isinstance(binds, str):
                raise ConfigError(f"{option} must be a tuple of strings, not one string")
            for text in binds:
                parse_bind(text, option)
        if self.fd is not None and (type(self.fd) is not int or self.fd < 0):
            raise ConfigError(f"--fd must be a file descriptor number, not {self.fd!r}")
        mode = self.uds_mode
        if mode is not None and (type(mode) is not int or not 0 <= mode <= 0o777):
            raise ConfigError(f"--uds-mode must be octal permissions such as 660, not {mode!r}")
        if self.uds is not None and not self.uds:
            raise ConfigError("--uds needs a path")

    @property
    def tls(self) -> bool:
        """Connections are served over TLS (``ssl_certfile`` is set)."""
        return self.ssl_certfile is not None

    def _check_tls(self) -> None:
        if self.ssl_cert_reqs not in CERT_REQS:
            raise ConfigError(
                f"ssl_cert_reqs must be one of {CERT_REQS}, not {self.ssl_cert_reqs!r}"
            )
        timeout = self.tls_handshake_timeout
        if not math.isfinite(timeout) or timeout <= 0:
            raise ConfigError(f"tls_handshake_timeout must be > 0, not {timeout!r}")
        interval = self.ssl_reload_interval
        if interval is not None and (
            not isinstance(interval, (int, float)) or not math.isfinite(interval) or interval <= 0
        ):
            raise ConfigError(f"ssl_reload_interval must be seconds > 0, not {interval!r}")
        if self.ssl_ciphers is not None and not self.ssl_ciphers.strip():
            raise ConfigError("ssl_ciphers must not be empty")
        if self.ssl_certfile is None:
            needs_cert = ("ssl_keyfile", "ssl_keyfile_password", "ssl_ca_certs", "ssl_ciphers",
                          "ssl_reload_interval")  # fmt: skip
            for name in needs_cert:
                if getattr(self, name) is not None:
                    raise ConfigError(f"{name} needs ssl_certfile (the server's certificate)")
            if self.ssl_cert_reqs != "none":
                raise ConfigError("ssl_cert_reqs needs ssl_certfile (the server's certificate)")
        elif self.ssl_cert_reqs != "none" and self.ssl_ca_certs is None:
            raise ConfigError(
                f"ssl_cert_reqs {self.ssl_cert_reqs!r} needs ssl_ca_certs to verify client "
                "certificates against"
            )

    def _check_processes(self) -> None:
        if type(self.workers) is not int or self.workers < 1:
            raise ConfigError(f"workers must be an int >= 1, not {self.workers!r}")
        limit = self.limit_max_requests
        if limit is not None and (type(limit) is not int or limit < 1):
            raise ConfigError(f"limit_max_requests must be an int >= 1 (or off), not {limit!r}")
        jitter = self.limit_max_requests_jitter
        if type(jitter) is not int or jitter < 0:
            raise ConfigError(f"limit_max_requests_jitter must be an int >= 0, not {jitter!r}")
        if jitter and limit is None:
            raise ConfigError("limit_max_requests_jitter needs limit_max_requests")
        if not self.reload:
            for name in ("reload_dirs", "reload_includes", "reload_excludes"):
                if getattr(self, name):
                    raise ConfigError(f"{name} needs reload")


def _seconds(value: object) -> bool:
    """A finite number (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
