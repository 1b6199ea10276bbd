"""A graceful shutdown waits for every app call and says so; the drain before it; the
server's own health answer; --limit-concurrency. Real processes and signals, every backend."""

from __future__ import annotations

import signal
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
from helpers.server import ServerProcess
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

APP = "helpers.lifecycle_apps:"


def test_work_after_the_response_finishes_during_a_graceful_shutdown(
    cli_backend: list[str], tmp_path: Path
) -> None:
    """As uvicorn: background work gets the rest of --graceful-timeout; the log says what the
    shutdown waits for and when it is complete."""
    marker = tmp_path / "done"
    env = {"MARKER": str(marker)}
    with ServerProcess(*cli_backend, APP + "background_work", "--port", "0", env=env) as server:
        response = httpx.get(f"http://127.0.0.1:{server.port}/?1", timeout=10)
        assert response.text == "accepted"
        server.signal(signal.SIGTERM)
        assert server.wait() == 0
        assert marker.read_text() == "done"
        output = server.output()
        assert "Waiting for 1 background task to finish (at most 30 s)" in output
        assert "cutting" not in output
        assert "Shutdown complete" in output


def test_the_graceful_timeout_still_cuts_background_work(
    cli_backend: list[str], tmp_path: Path
) -> None:
    marker = tmp_path / "done"
    args = [APP + "background_work", "--port", "0", "--graceful-timeout", "0.5"]
    with ServerProcess(*cli_backend, *args, env={"MARKER": str(marker)}) as server:
        httpx.get(f"http://127.0.0.1:{server.port}/?60", timeout=10)
        started = time.monotonic()
        server.signal(signal.SIGTERM)
        assert server.wait() == 0
        assert time.monotonic() - started < 10
        assert not marker.exists()
        output = server.output()
        assert "Graceful timeout (0.5 s) passed: cutting 1 background task" in output
        assert "Shutdown complete" in output


def test_a_request_in_flight_is_named_and_finishes(cli_backend: list[str]) -> None:
    with ServerProcess(*cli_backend, APP + "slow", "--port", "0") as server:
        result: list[httpx.Response] = []
        url = f"http://127.0.0.1:{server.port}/?1"
        client = threading.Thread(target=lambda: result.append(httpx.get(url, timeout=10)))
        client.start()
        time.sleep(0.3)
        server.signal(signal.SIGTERM)
        client.join(10)
        assert server.wait() == 0
        assert result[0].text == "done"
        assert "Waiting for 1 request to finish" in server.output()


def test_a_connection_accepted_before_the_shutdown_is_served_after_it(
    cli_backend: list[str],
) -> None:
    """It had sent nothing when SIGTERM came (a worker accepts, then is told to stop): the
    request it sends then is answered with Connection: close, not cut (RFC 9112 section 9.6:
    the server signals the close it is about to make)."""
    with ServerProcess(*cli_backend, "helpers.apps:hello", "--port", "0") as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            time.sleep(0.3)  # accepted, and nothing sent
            server.signal(signal.SIGTERM)
            time.sleep(0.5)  # the shutdown has begun
            sock.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
            data = b""
            while chunk := sock.recv(4096):
                data += chunk
        assert server.wait() == 0
    assert data.startswith(b"HTTP/1.1 200 OK"), data
    assert b"\r\nconnection: close\r\n" in data.lower()


def test_shutdown_delay_keeps_serving_while_the_health_path_says_503(
    cli_backend: list[str],
) -> None:
    """The drain for rolling deploys: the load balancer sees 503 on the health path for
    --shutdown-delay seconds while requests are still served; then the server stops."""
    args = [APP + "slow", "--port", "0", "--shutdown-delay", "1.5", "--health-path", "/healthz"]
    with ServerProcess(*cli_backend, *args) as server:
        base = f"http://127.0.0.1:{server.port}"
        health = httpx.get(base + "/healthz", timeout=10)
        assert (health.status_code, health.text) == (200, "ok\n")
        started = time.monotonic()
        server.signal(signal.SIGTERM)
        time.sleep(0.3)
        assert httpx.get(base + "/healthz", timeout=10).status_code == 503
        assert httpx.get(base + "/", timeout=10).text == "done"  # a new connection, still served
        assert server.wait() == 0
        assert time.monotonic() - started >= 1.5
        with pytest.raises(httpx.ConnectError):
            httpx.get(base + "/", timeout=2)
        assert "Draining for 1.5 s before the shutdown; /healthz answers 503" in server.output()


def test_a_second_signal_ends_the_drain_at_once(cli_backend: list[str]) -> None:
    with ServerProcess(*cli_backend, APP + "slow", "--port", "0", "--shutdown-delay", "60") as s:
        s.signal(signal.SIGTERM)
        time.sleep(0.5)
        started = time.monotonic()
        s.signal(signal.SIGTERM)
        assert s.wait() == 0
        assert time.monotonic() - started < 5


def test_past_limit_concurrency_requests_get_503_with_retry_after(
    cli_backend: list[str],
) -> None:
    with ServerProcess(*cli_backend, APP + "slow", "--port", "0", "--limit-concurrency", "1") as s:
        base = f"http://127.0.0.1:{s.port}"
        busy = threading.Thread(target=lambda: httpx.get(base + "/?1.5", timeout=10))
        busy.start()
        time.sleep(0.4)
        refused = httpx.get(base + "/", timeout=10)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        with pytest.raises(InvalidStatus) as denied:
            connect(f"ws://127.0.0.1:{s.port}/", open_timeout=10)
        assert denied.value.response.status_code == 503
        busy.join(10)
        assert httpx.get(base + "/", timeout=10).status_code == 200  # room again


def test_bad_lifecycle_options_are_one_line_and_exit_2() -> None:
    for args in (["--health-path", "healthz"], ["--shutdown-delay", "-1"]):
        server = ServerProcess(APP + "slow", *args).start(wait_ready=False)
        assert server.wait() == 2
        assert server.output().count("\n") == 1, server.output()


def test_requests_go_on_through_the_drain(cli_backend: list[str]) -> None:
    """A client loop on fresh connections sees no failed request while the server drains."""
    args = [APP + "slow", "--port", "0", "--shutdown-delay", "2", "--health-path", "/healthz"]
    failures: list[BaseException] = []
    served = 0
    done = threading.Event()
    with ServerProcess(*cli_backend, *args) as server:
        base = f"http://127.0.0.1:{server.port}"

        def loop() -> None:
            nonlocal served
            while not done.is_set():
                try:
                    assert httpx.get(base + "/", timeout=10).text == "done"
                    served += 1
                except BaseException as exc:  # every failure is the test's finding
                    failures.append(exc)

        client = threading.Thread(target=loop)
        client.start()
        time.sleep(0.2)
        server.signal(signal.SIGTERM)
        deadline = time.monotonic() + 5
        while httpx.get(base + "/healthz", timeout=10).status_code != 503:
            assert time.monotonic() < deadline
        time.sleep(0.5)  # well inside the 2 s drain
        done.set()
        client.join(10)
        assert server.wait() == 0
    assert failures == [] and served > 0
