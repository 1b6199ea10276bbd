"""``--workers``: a supervisor and its worker processes, with real signals on 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from helpers.processes import client_loop, get_pid, pids_answering, until, worker_pids
from helpers.server import CLI_BACKENDS, ServerProcess

APP = "helpers.process_apps:pid"


def supervisor(*flags: str) -> ServerProcess:
    return ServerProcess(APP, "--port", "0", "--no-access-log", *flags)


def test_workers_share_the_port_and_each_answers(cli_backend: list[str]) -> None:
    with supervisor(*cli_backend, "--workers", "2") as server:
        pids = pids_answering(server.port, 2)
        assert len(pids) == 2 and server.proc is not None and server.proc.pid not in pids
        server.signal(signal.SIGTERM)
        assert server.wait() == 0
        assert "stopped (exited with status 0)" in server.output()


def test_a_killed_worker_is_replaced_and_the_port_keeps_answering() -> None:
    with supervisor("--workers", "2") as server:
        victim = pids_answering(server.port, 2).pop()
        os.kill(victim, signal.SIGKILL)
        until(lambda: f"worker {victim} was killed by SIGKILL" in server.output())
        get_pid(server.port)
        until(lambda: len(worker_pids(server)) == 2)
        assert victim not in pids_answering(server.port, 2)


def test_sighup_replaces_every_worker_without_a_failed_request(cli_backend: list[str]) -> None:
    with supervisor(*cli_backend, "--workers", "2") as server:
        before = pids_answering(server.port, 2)
        with client_loop(server.port) as seen:
            server.signal(signal.SIGHUP)
            until(lambda: sum(f"worker {pid} stopped" in server.output() for pid in before) == 2)
            time.sleep(0.2)
        assert seen["failures"] == []
        after = pids_answering(server.port, 2)
        assert not after & before and len(seen["pids"]) > 10


def test_sigttin_and_sigttou_add_and_remove_a_worker() -> None:
    with supervisor("--workers", "2") as server:
        server.signal(signal.SIGTTIN)
        until(lambda: len(worker_pids(server)) == 3)
        assert len(pids_answering(server.port, 3)) == 3
        for _ in range(3):  # never below one
            server.signal(signal.SIGTTOU)
            time.sleep(0.2)
        until(lambda: len(worker_pids(server)) == 1)
        time.sleep(0.3)
        assert len(worker_pids(server)) == 1 and get_pid(server.port)


def test_sigterm_stops_every_worker_and_exits_0() -> None:
    with supervisor("--workers", "3") as server:
        pids = pids_answering(server.port, 3)
        server.signal(signal.SIGTERM)
        assert server.wait() == 0
        for pid in pids:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
        assert "every worker has stopped" in server.output()


def test_a_worker_whose_supervisor_dies_exits() -> None:
    with supervisor("--workers", "2") as server:
        worker = get_pid(server.port)
        assert server.proc is not None
        server.proc.kill()
        server.proc.wait(10)
        # The worker was our grandchild: it is not ours to reap, so watch its pid vanish.
        until(lambda: not os.path.exists(f"/proc/{worker}") or _zombie(worker), within=10)


def _zombie(pid: int) -> bool:
    with contextlib.suppress(OSError):
        return open(f"/proc/{pid}/stat").read().split(") ")[1].startswith("Z")
    return True


RECYCLING = ["asyncio", "asyncio+uvloop", "trio", "anyio+trio"]


@pytest.mark.parametrize("backend", RECYCLING)
def test_limit_max_requests_recycles_workers_without_a_failed_request(backend: str) -> None:
    flags = ["--workers", "2", "--limit-max-requests", "20", "--limit-max-requests-jitter", "5"]
    with supervisor(*CLI_BACKENDS[backend], *flags) as server:
        with client_loop(server.port) as seen:
            until(lambda: server.output().count("recycled (exited with status 75)") >= 3)
        assert seen["failures"] == []
        assert len(set(seen["pids"])) >= 4


def test_workers_zero_is_one_line_and_exit_2() -> None:
    server = supervisor("--workers", "0").start(wait_ready=False)
    assert server.wait() == 2
    time.sleep(0.1)
    assert server.output().strip() == (
        "asgi-core: error: --workers 0: workers must be an int >= 1, not 0"
    )


def test_an_app_that_does_not_import_stops_the_supervisor_with_2() -> None:
    server = ServerProcess("no_such_module:app", "--port", "0", "--workers", "2")
    assert server.start(wait_ready=False).wait() == 2
    time.sleep(0.1)
    assert "could not import module 'no_such_module'" in server.output()
    assert server.output().count("started worker") == 1


def test_reload_replaces_the_worker_when_a_file_changes(tmp_path: Path) -> None:
    pytest.importorskip("watchfiles")
    module = tmp_path / "reloaded_app.py"
    source = (
        "async def app(scope, receive, send):\n"
        "    if scope['type'] != 'http':\n"
        "        return\n"
        "    await send({'type': 'http.response.start', 'status': 200})\n"
        "    await send({'type': 'http.response.body', 'body': b'%s'})\n"
    )
    module.write_text(source % "before")
    server = ServerProcess("reloaded_app:app", "--port", "0", "--reload", "--lifespan", "off")
    server.args[server.args.index("--app-dir") + 1] = str(tmp_path)
    with server:
        assert httpx.get(f"http://127.0.0.1:{server.port}/").text == "before"
        time.sleep(0.3)  # the watch has started
        module.write_text(source % "after")
        until(lambda: httpx.get(f"http://127.0.0.1:{server.port}/").text == "after", within=15)
        assert "reload: reloaded_app.py changed" in server.output() or (
            f"reload: {module} changed" in server.output()
        )
