"""Gunicorn worker classes: ``gunicorn -k asgi_core.backends.gunicorn.AsyncioWorker app:app``.

Gunicorn's arbiter opens the sockets and forks; each worker serves ``self.sockets`` through
the drivers' ``listeners=``. The gunicorn settings that mean something here:

- ``bind`` (gunicorn's sockets), ``graceful_timeout``, ``keepalive`` (the keep-alive timeout),
  ``backlog``; ``certfile``, ``keyfile``, ``ca_certs``, ``cert_reqs``, ``ciphers`` (TLS).
- ``max_requests`` and ``max_requests_jitter``: gunicorn's own count (``self.max_requests``);
  at the limit the worker drains as on SIGTERM and exits, and the arbiter starts another.
- ``timeout``: the worker's heartbeat (``self.notify()``) is sent from inside its event loop,
  so a worker whose loop is blocked misses it and the arbiter kills it, as it should.
- ``limit_request_line`` and ``limit_request_field_size``: the core bounds the whole request
  head (``max_request_head_size``), not each line; it is raised so that the longest line
  gunicorn allows fits beside a header at its limit. ``limit_request_fields`` (a count of
  headers) has no equivalent: the head's byte limit bounds the count.
- ``forwarded_allow_ips``: the peers whose ``Forwarded``/``X-Forwarded-*`` headers are
  believed (``Config.proxy_headers`` on, as uvicorn's gunicorn worker does).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import Any, ClassVar

from gunicorn.arbiter import Arbiter
from gunicorn.workers.base import Worker

from asgi_core.config import Config

from .config import CertReqs, ServerConfig
from .logs import access_logger, logger
from .sockets import Listening, describe
from .worker import EXIT_BAD_INPUT, InLoop, RequestBudget, drain_now, watch_parent

_CERT_REQS: dict[int, CertReqs] = {0: "none", 1: "optional", 2: "required"}


class AsyncioWorker(Worker):  # type: ignore[misc]
    """asgi-core on asyncio's own loop, as a gunicorn worker."""

    SERVER: ClassVar[dict[str, Any]] = {"backend": "asyncio", "loop": "asyncio"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.forwarded_allow_ips: list[str] = list(self.cfg.forwarded_allow_ips)
        _share_logs(self.log)
        self.config = server_config(self.cfg, self.SERVER)

    def init_signals(self) -> None:
        """The driver handles SIGINT and SIGTERM (a graceful shutdown); gunicorn's own
        handlers would swallow them. SIGQUIT (quick exit), SIGABRT (timeout) and SIGUSR1
        (reopen logs) keep gunicorn's meaning."""
        for signum in self.SIGNALS:
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGQUIT, self.handle_quit)
        signal.signal(signal.SIGABRT, self.handle_abort)
        signal.signal(signal.SIGUSR1, self.handle_usr1)
        signal.siginterrupt(signal.SIGUSR1, False)

    def run(self) -> None:
        from .worker import serve_worker

        app: Any = self.wsgi
        if self.max_requests < sys.maxsize:
            app = RequestBudget(app, self.max_requests, self._spent)
        watch_parent(self.ppid)
        listeners = [Listening(s.sock, self.cfg.is_ssl, describe(s.sock, self.cfg.is_ssl))
                     for s in self.sockets]  # fmt: skip
        self.notify()
        code = serve_worker(app, self.config, listeners, self._beat)
        if code:  # it could not start: tell the arbiter (it halts rather than loop)
            sys.exit(
                Arbiter.WORKER_BOOT_ERROR if code != EXIT_BAD_INPUT else Arbiter.APP_LOAD_ERROR
            )

    def _spent(self) -> None:
        self.log.info("Autorestarting worker after current request.")
        self.alive = False
        drain_now()

    def _beat(self, in_loop: InLoop) -> None:
        """From the serving loop, once it serves: a heartbeat each ``timeout / 2`` seconds,
        scheduled into the loop by a thread (it never beats for a blocked loop)."""
        interval = max(0.5, self.timeout / 2)

        def beat() -> None:
            while self.alive:
                try:
                    in_loop(self.notify)
                except Exception:  # the loop has ended
                    return
                threading.Event().wait(interval)

        threading.Thread(target=beat, name="asgi-core heartbeat", daemon=True).start()


class UvloopWorker(AsyncioWorker):
    """asgi-core on uvloop, as a gunicorn worker."""

    SERVER: ClassVar[dict[str, Any]] = {"backend": "asyncio", "loop": "uvloop"}


class TrioWorker(AsyncioWorker):
    """asgi-core on trio, as a gunicorn worker."""

    SERVER: ClassVar[dict[str, Any]] = {"backend": "trio", "loop": "auto"}


def server_config(cfg: Any, server: dict[str, Any]) -> ServerConfig:
    """The ServerConfig that gunicorn's settings ``cfg`` mean (see the module's docstring)."""
    line, field = cfg.limit_request_line or 8190, cfg.limit_request_field_size or 8190
    allowed = cfg.forwarded_allow_ips
    protocol = Config(
        keep_alive_timeout=float(cfg.keepalive) or 0.1,
        max_request_head_size=max(Config().max_request_head_size, line + field + 4),
        proxy_headers=True,
        forwarded_allow_ips=(allowed,) if isinstance(allowed, str) else tuple(allowed),
    )
    tls: dict[str, Any] = {}
    if cfg.is_ssl:
        tls = {
            "ssl_certfile": cfg.certfile,
            "ssl_keyfile": cfg.keyfile,
            "ssl_ca_certs": cfg.ca_certs,
            "ssl_cert_reqs": _CERT_REQS.get(cfg.cert_reqs, "none"),
            "ssl_ciphers": cfg.ciphers,
        }
    return ServerConfig(
        **server,
        graceful_timeout=float(cfg.graceful_timeout),
        backlog=cfg.backlog,
        access_log=cfg.accesslog is not None,
        protocol=protocol,
        **tls,
    )


def _share_logs(log: Any) -> None:
    """Our loggers write through gunicorn's handlers (its error log, its access log)."""
    for ours, theirs in ((logger, log.error_log), (access_logger, log.access_log)):
        ours.handlers[:] = theirs.handlers
        ours.setLevel(theirs.level if theirs.level else logging.INFO)
        ours.propagate = False
