"""The supervisor: one process that opens the listening sockets and keeps N workers serving them.

It is a loop of signals and child reaping, as gunicorn's arbiter is: signals only wake it (the
wakeup fd carries their numbers), workers talk to it on a status pipe each (ready, draining),
and every decision is taken in ``_manage`` from that state, never in a signal handler.

- SIGINT/SIGTERM: SIGTERM to every worker, wait up to the graceful timeout plus a margin, then
  SIGKILL what is left; a second one is forwarded (the workers then stop at once).
- SIGHUP (and a changed file with ``reload``): replace the workers one at a time: start a new
  one, wait until it serves, then SIGTERM the old one, which drains. A new worker that fails
  leaves the old one serving.
- SIGTTIN/SIGTTOU: one worker more, one fewer (never below one).
- SIGUSR1: reopen the log files, here and in every worker (gunicorn's; for logrotate).
- A worker that dies unasked is replaced after an exponential backoff; one that spent its
  request budget says so as it starts draining and is replaced at once.

Workers are forked and import the application themselves, after the fork: the supervisor
never imports it, so a replaced worker runs the code on disk now (SIGHUP and reload depend on
it), and a broken app fails in a worker while the supervisor keeps the old ones serving.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from . import metrics
from .config import ServerConfig
from .driver import ASGIApp
from .importer import AppImportError
from .logs import logger, reopen_log_files
from .run import RESTART_SIGNAL
from .sockets import Listening, close_listeners, open_listeners
from .worker import (
    DRAINING,
    EXIT_BAD_INPUT,
    EXIT_RECYCLE,
    READY,
    RequestBudget,
    drain_now,
    serve_worker,
    watch_parent,
)

#: Seconds a stopping worker gets beyond the graceful timeout (its lifespan shutdown, exit).
STOP_MARGIN = 5.0
#: Backoff before replacing a worker that died unasked: doubles from the first to the last.
BACKOFF_FIRST, BACKOFF_MAX = 0.1, 10.0
#: A worker that lived this long resets the backoff: its death is not part of a crash loop.
STABLE_AFTER = 10.0
#: The supervisor's signals; the workers get the default handling back after the fork.
SIGNALS = (
    signal.SIGINT,
    signal.SIGTERM,
    signal.SIGHUP,
    signal.SIGTTIN,
    signal.SIGTTOU,
    signal.SIGUSR1,
    signal.SIGCHLD,
)

LoadApp = Callable[[], ASGIApp]


@dataclass(eq=False)
class Worker:
    """The supervisor's record of one worker process."""

    pid: int
    #: The read end of the worker's status pipe (READY, DRAINING).
    status: int
    born: float
    ready: bool = False
    #: SIGTERM was sent, or the worker drains by itself: it no longer counts as serving.
    stopping: bool = False
    #: It spent its request budget (it said DRAINING).
    recycling: bool = False
    #: The old worker this one replaces once it is ready (SIGHUP, reload).
    replaces: Worker | None = None
    #: The new worker that replaces this one.
    replaced_by: Worker | None = None


@dataclass
class Supervisor:
    """Runs ``config.workers`` workers on ``listeners`` until SIGINT or SIGTERM."""

    config: ServerConfig
    load_app: LoadApp
    listeners: list[Listening]
    #: Folders watched with ``config.reload`` when ``config.reload_dirs`` names none.
    default_reload_dir: str = "."
    workers: dict[int, Worker] = field(default_factory=dict)
    #: Old workers still to be replaced, in order.
    to_replace: list[Worker] = field(default_factory=list)
    target: int = 0
    #: A worker has served: from now on a failing worker is replaced, not fatal.
    started: bool = False
    stopping: bool = False
    stop_deadline: float = 0.0
    exit_status: int = 0
    failures: int = 0
    spawn_after: float = 0.0

    def __post_init__(self) -> None:
        self.target = self.config.workers
        self._wakeup_r, self._wakeup_w = _pipe()
        # The workers hold the read end, the supervisor alone the write end: EOF means it died.
        self._lifeline_r, self._lifeline_w = os.pipe()
        self._waiter: Callable[[float], None] = self._wait_for_pipes
        self._reload_paths: list[str] = []

    def run(self) -> int:
        """Supervise until stopped; the exit status (0, or a worker's boot failure)."""
        if self.config.reload:
            self._start_watching()
        old_wakeup = signal.set_wakeup_fd(self._wakeup_w, warn_on_full_buffer=False)
        for signum in SIGNALS:
            signal.signal(signum, _ignore)
        names = ", ".join(item.description for item in self.listeners)
        logger.info("Supervisor %d: %d worker(s) on %s", os.getpid(), self.target, names)
        try:
            while self.workers or not self.stopping:
                self._manage()
                self._waiter(self._timeout())
                self._read_signals()
                self._read_statuses()
                self._reap()
            logger.info("Supervisor %d: every worker has stopped", os.getpid())
        finally:
            self._kill_everything()
            for signum in SIGNALS:
                signal.signal(signum, signal.SIG_DFL)
            signal.set_wakeup_fd(old_wakeup)
            close_listeners(self.listeners)
        return self.exit_status

    # -- waiting -----------------------------------------------------------------------------

    def _timeout(self) -> float:
        now = time.monotonic()
        until = [1.0, self.spawn_after - now]
        if self.stopping:
            until.append(self.stop_deadline - now)
        return max(0.0, min(until))

    def _wait_for_pipes(self, timeout: float) -> None:
        import select

        fds = [self._wakeup_r, *(w.status for w in self.workers.values())]
        with contextlib.suppress(InterruptedError):
            select.select(fds, [], [], timeout)

    def _start_watching(self) -> None:
        from .reload import Watcher

        dirs = self.config.reload_dirs or (self.default_reload_dir,)
        watcher = Watcher(dirs, self.config.reload_includes, self.config.reload_excludes)

        def wait(timeout: float) -> None:
            changed = watcher.changes(timeout)
            if changed and not self.stopping:
                logger.warning("reload: %s changed; replacing the workers", ", ".join(changed))
                self._replace_all()

        self._waiter = wait
        logger.info("reload: watching %s", ", ".join(dirs))

    # -- what woke us ------------------------------------------------------------------------

    def _read_signals(self) -> None:
        with contextlib.suppress(BlockingIOError):
            for signum in os.read(self._wakeup_r, 512):
                self._on_signal(signum)

    def _on_signal(self, signum: int) -> None:
        if signum in (signal.SIGINT, signal.SIGTERM):
            self._shut_down(signal.Signals(signum).name)
        elif signum == signal.SIGHUP:
            logger.info("SIGHUP received: replacing the workers one by one")
            self._replace_all()
        elif signum == signal.SIGTTIN:
            self.target += 1
            logger.info("SIGTTIN received: %d worker(s)", self.target)
        elif signum == signal.SIGTTOU and self.target > 1:
            self.target -= 1
            logger.info("SIGTTOU received: %d worker(s)", self.target)
        elif signum == signal.SIGUSR1:  # gunicorn's: reopen the log files, here and in each
            logger.info("SIGUSR1 received: reopened %d log file(s)", reopen_log_files())
            for worker in self.workers.values():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGUSR1)

    def _read_statuses(self) -> None:
        for worker in list(self.workers.values()):
            with contextlib.suppress(BlockingIOError):
                for byte in os.read(worker.status, 64):
                    self._on_status(worker, bytes([byte]))

    def _on_status(self, worker: Worker, status: bytes) -> None:
        if status == READY and not worker.ready:
            worker.ready = self.started = True
            logger.info("worker %d is serving", worker.pid)
            old = worker.replaces
            if old is not None and old.pid in self.workers:
                self._stop(old, restart=True)
        elif status == DRAINING:
            worker.stopping = worker.recycling = True

    def _reap(self) -> None:
        for worker in list(self.workers.values()):
            with contextlib.suppress(ChildProcessError):
                pid, status = os.waitpid(worker.pid, os.WNOHANG)
                if pid:
                    self._on_exit(worker, status)

    def _on_exit(self, worker: Worker, status: int) -> None:
        del self.workers[worker.pid]
        os.close(worker.status)
        metrics.worker_exited(worker.pid)
        code = os.waitstatus_to_exitcode(status)
        expected = worker.stopping and code in (0, EXIT_RECYCLE, -signal.SIGTERM, -RESTART_SIGNAL)
        _log_exit(worker, code, expected)
        old = worker.replaces
        if old is not None and old.replaced_by is worker:  # it died before it served
            old.replaced_by = None
            self.to_replace.insert(0, old)
        if expected or self.stopping:
            return
        if not self.started:  # the first worker could not start: neither will the others
            self.exit_status = code if code > 0 else 1
            logger.error("the first worker did not start: stopping")
            self._shut_down(None)
            return
        now = time.monotonic()
        self.failures = 1 if now - worker.born >= STABLE_AFTER else self.failures + 1
        delay = min(BACKOFF_FIRST * 2 ** (self.failures - 1), BACKOFF_MAX)
        self.spawn_after = now + delay
        logger.info("starting its replacement in %.1fs", delay)

    # -- decisions ---------------------------------------------------------------------------

    def _manage(self) -> None:
        if self.stopping:
            if time.monotonic() >= self.stop_deadline:
                self._kill_everything()
            return
        if time.monotonic() < self.spawn_after:
            return
        self._replace_next()
        serving = self._serving()
        if not self.started:  # the first worker alone, until it serves (or fails to)
            if not serving:
                self._spawn()
            return
        for _ in range(self.target - len(serving)):
            self._spawn()
        for worker in sorted(serving, key=lambda w: w.born)[: max(0, len(serving) - self.target)]:
            self._stop(worker)

    def _serving(self) -> list[Worker]:
        """The workers that count: not stopping, and not about to be replaced."""
        return [w for w in self.workers.values() if not w.stopping and w.replaced_by is None]

    def _replace_all(self) -> None:
        self.to_replace = [w for w in self._serving() if w not in self.to_replace]
        self.failures, self.spawn_after = 0, 0.0

    def _replace_next(self) -> None:
        if any(w.replaces is not None and not w.ready for w in self.workers.values()):
            return  # one at a time
        while self.to_replace:
            old = self.to_replace.pop(0)
            if old.pid in self.workers and not old.stopping:
                old.replaced_by = self._spawn(replaces=old)
                return

    def _stop(self, worker: Worker, *, restart: bool = False) -> None:
        """Drain ``worker``; one being replaced is told so (``RESTART_SIGNAL``: its WebSockets
        close with 1012, service restart, rather than 1001)."""
        if not worker.stopping:
            worker.stopping = True
            _kill(worker.pid, RESTART_SIGNAL if restart else signal.SIGTERM)

    def _shut_down(self, signame: str | None) -> None:
        if self.stopping:
            logger.warning("%s received again: telling the workers to stop now", signame)
            for worker in self.workers.values():
                _kill(worker.pid, signal.SIGTERM)
            return
        if signame is not None:
            logger.info("%s received: stopping %d worker(s)", signame, len(self.workers))
        self.stopping = True
        self.stop_deadline = time.monotonic() + self.config.graceful_timeout + STOP_MARGIN
        for worker in self.workers.values():
            self._stop(worker)

    def _kill_everything(self) -> None:
        for worker in list(self.workers.values()):
            logger.warning("worker %d did not stop in time: SIGKILL", worker.pid)
            _kill(worker.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                _, status = os.waitpid(worker.pid, 0)
                self._on_exit(worker, status)

    # -- a new worker ------------------------------------------------------------------------

    def _spawn(self, replaces: Worker | None = None) -> Worker:
        limit = self.config.limit_max_requests
        if limit is not None:
            limit += random.randint(0, self.config.limit_max_requests_jitter)
        status_r, status_w = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the worker: it never returns from here
            code = 1
            try:
                os.close(status_r)
                self._become_worker()
                code = _worker_main(self.config, self.load_app, self.listeners, status_w, limit)
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        os.close(status_w)
        os.set_blocking(status_r, False)
        worker = Worker(pid, status_r, time.monotonic(), replaces=replaces)
        self.workers[pid] = worker
        logger.info("started worker %d%s", pid, f" to replace {replaces.pid}" if replaces else "")
        return worker

    def _become_worker(self) -> None:
        """In the forked child: drop the supervisor's signals and pipes, watch the parent."""
        parent = os.getppid()
        signal.set_wakeup_fd(-1)
        for signum in SIGNALS:
            signal.signal(signum, signal.SIG_DFL)
        # Its own process group: a terminal's Ctrl+C reaches the supervisor alone, which
        # forwards one SIGTERM (two would cut the graceful shutdown short).
        os.setpgid(0, 0)
        for fd in (self._wakeup_r, self._wakeup_w, self._lifeline_w):
            os.close(fd)
        for other in self.workers.values():
            os.close(other.status)
        watch_parent(parent, self._lifeline_r)


def _worker_main(
    config: ServerConfig,
    load_app: LoadApp,
    listeners: list[Listening],
    status: int,
    limit: int | None,
) -> int:
    """A worker's life: import the app, serve, say READY and DRAINING; its exit status."""
    if config.metrics_bind is not None:
        metrics.enable()  # in the supervisor's PROMETHEUS_MULTIPROC_DIR
    try:
        app = load_app()
    except AppImportError as exc:
        print(f"asgi-core: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    budget: RequestBudget | None = None
    if limit is not None:

        def spent() -> None:
            logger.info("worker %d served %d requests: draining to be replaced", os.getpid(), limit)
            os.write(status, DRAINING)
            drain_now()

        app = budget = RequestBudget(app, limit, spent)
    ready = lambda _: os.write(status, READY)  # noqa: E731
    code = serve_worker(app, _one_process(config), listeners, ready)
    return EXIT_RECYCLE if code == 0 and budget is not None and budget.spent else code


def _one_process(config: ServerConfig) -> ServerConfig:
    """The worker's own settings: one process, nothing to supervise."""
    return replace(
        config,
        workers=1,
        limit_max_requests=None,
        limit_max_requests_jitter=0,
        reload=False,
        reload_dirs=(),
        reload_includes=(),
        reload_excludes=(),
    )


def supervise(config: ServerConfig, load_app: LoadApp, app_dir: str = ".") -> int:
    """Open the configured sockets once and supervise the workers (the CLI's entry point)."""
    listeners = open_listeners(config)
    return Supervisor(config, load_app, listeners, default_reload_dir=app_dir).run()


def _pipe() -> tuple[int, int]:
    read, write = os.pipe()
    os.set_blocking(read, False)
    os.set_blocking(write, False)
    return read, write


def _kill(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def _ignore(signum: int, frame: Any) -> None:
    """Signals only wake the supervisor (through the wakeup fd, which carries their number)."""


def _log_exit(worker: Worker, code: int, expected: bool) -> None:
    """One line per worker that ended: its pid, and its exit status or signal's name."""
    if code < 0:
        how = f"was killed by {signal.Signals(-code).name}"
        if code == -signal.SIGKILL and not worker.stopping:
            how += " (out of memory?)"
    else:
        how = f"exited with status {code}"
    if worker.recycling and code == EXIT_RECYCLE:
        logger.info("worker %d recycled (%s)", worker.pid, how)
    elif expected:
        logger.info("worker %d stopped (%s)", worker.pid, how)
    else:
        logger.error("worker %d %s", worker.pid, how)
