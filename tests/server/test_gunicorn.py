"""The gunicorn worker classes under a real ``gunicorn`` process."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from helpers.processes import client_loop, get_pid, pids_answering, until
from helpers.server import TESTS_DIR

pytest.importorskip("gunicorn")

WORKERS = ["AsyncioWorker", "UvloopWorker", "TrioWorker"]


class Gunicorn:
    """``gunicorn -k asgi_core.backends.gunicorn.<worker>`` on a free port of 127.0.0.1."""

    def __init__(
        self, worker: str, tmp_path: Path, *flags: str, app: str = "helpers.process_apps:pid"
    ) -> None:
        worker_class = f"asgi_core.backends.gunicorn.{worker}"
        args = [sys.executable, "-m", "gunicorn", "-k", worker_class, "-b", "127.0.0.1:0",
                "--chdir", str(TESTS_DIR), *flags, app]  # fmt: skip
        env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, env=env)  # fmt: skip
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        until(lambda: self.output().count("Serving on") >= 1, within=20)
        self.port = int(re.findall(r"Listening at: http://127.0.0.1:(\d+)", self.output())[0])

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def output(self) -> str:
        return "".join(self.lines)

    def __enter__(self) -> Gunicorn:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.mark.parametrize("worker", WORKERS)
def test_gunicorn_serves_http_and_websocket_and_stops_on_sigterm(
    worker: str, tmp_path: Path
) -> None:
    from websockets.sync.client import connect

    with Gunicorn(worker, tmp_path, "-w", "2") as server:
        assert len(pids_answering(server.port, 2)) == 2
        with connect(f"ws://127.0.0.1:{server.port}/") as ws:
            assert int(ws.recv()) > 0
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(30) == 0
        assert "SIGTERM received: shutting down gracefully" in server.output()


@pytest.mark.parametrize("worker", WORKERS)
def test_gunicorn_max_requests_recycles_without_a_failed_request(
    worker: str, tmp_path: Path
) -> None:
    flags = ("-w", "2", "--max-requests", "20", "--max-requests-jitter", "5")
    with Gunicorn(worker, tmp_path, *flags) as server:
        with client_loop(server.port) as seen:
            until(lambda: server.output().count("Autorestarting worker") >= 2, within=20)
        assert seen["failures"] == []
        assert len(set(seen["pids"])) >= 3


def test_gunicorn_heartbeat_keeps_an_idle_worker_alive(tmp_path: Path) -> None:
    with Gunicorn("AsyncioWorker", tmp_path, "--timeout", "2") as server:
        first = get_pid(server.port)
        time.sleep(4)
        assert get_pid(server.port) == first
        assert "WORKER TIMEOUT" not in server.output()


@pytest.mark.parametrize("worker", WORKERS)
def test_gunicorn_forwarded_allow_ips_trusts_the_proxy_headers(worker: str, tmp_path: Path) -> None:
    """gunicorn's forwarded_allow_ips (default 127.0.0.1): X-Forwarded-For from that peer
    gives the scope's client, as uvicorn's gunicorn worker does; from others it is ignored."""
    for allowed, client in (("127.0.0.1", "203.0.113.9"), ("10.0.0.1", "127.0.0.1")):
        flags = ("--forwarded-allow-ips", allowed)
        with Gunicorn(worker, tmp_path, *flags, app="helpers.apps:peers") as server:
            url = f"http://127.0.0.1:{server.port}/"
            facts = httpx.get(url, headers={"x-forwarded-for": "203.0.113.9"}, timeout=10).json()
            assert facts["client"][0] == client
