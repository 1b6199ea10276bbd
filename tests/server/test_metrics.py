"""``--metrics-bind``: Prometheus metrics scraped over HTTP, on one process and under
``--workers 2`` (prometheus-client's multiprocess mode: one scrape sees every worker)."""

from __future__ import annotations

import re
import signal
import socket
import time
from pathlib import Path

import httpx
import pytest
from helpers.server import ServerProcess

pytest.importorskip("prometheus_client")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scrape(port: int) -> str:
    deadline = time.monotonic() + 10
    while True:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def value(text: str, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    total = 0.0
    for line in text.splitlines():
        match = re.match(rf"{name}(\{{(.*)\}})? (\S+)$", line)
        if match and all(f'{k}="{v}"' in (match.group(2) or "") for k, v in labels.items()):
            total += float(match.group(3))
    return total


def test_counters_move_on_one_process(cli_backend: list[str]) -> None:
    port = free_port()
    with ServerProcess("helpers.apps:hello", "--port", "0", "--metrics-bind",
                       f"127.0.0.1:{port}", "--max-request-body-size", "10",
                       *cli_backend) as server:  # fmt: skip
        before = scrape(port)
        assert value(before, "asgi_core_requests_total") == 0
        for _ in range(3):
            assert httpx.get(f"http://127.0.0.1:{server.port}/").status_code == 200
        big = httpx.post(f"http://127.0.0.1:{server.port}/", content=b"x" * 100)
        assert big.status_code == 413
        after = scrape(port)
        server.signal(signal.SIGTERM)  # not killed: the supervisor's folder is removed
        server.wait()
    assert value(after, "asgi_core_requests_total", protocol="HTTP/1.1", method="GET",
                 status="200") == 3  # fmt: skip
    assert value(after, "asgi_core_request_duration_seconds_count") == 3
    assert value(after, "asgi_core_response_body_bytes_total") >= 3 * 13
    assert value(after, "asgi_core_limit_hits_total", limit="413") == 1


def test_request_body_bytes_are_counted_by_protocol(cli_backend: list[str]) -> None:
    port = free_port()
    with ServerProcess("helpers.apps:echo", "--port", "0", "--metrics-bind",
                       f"127.0.0.1:{port}", *cli_backend) as server:  # fmt: skip
        url = f"http://127.0.0.1:{server.port}/"
        assert httpx.post(url, content=b"x" * 1000).content == b"x" * 1000
        with httpx.Client(http1=False, http2=True) as h2c:  # prior knowledge (RFC 9113 3.3)
            assert h2c.post(url, content=b"y" * 300).http_version == "HTTP/2"
        after = scrape(port)
        server.signal(signal.SIGTERM)
        server.wait()
    assert value(after, "asgi_core_request_body_bytes_total", protocol="HTTP/1.1") == 1000
    assert value(after, "asgi_core_request_body_bytes_total", protocol="HTTP/2") == 300


def test_open_connections_count_from_accept_to_close(cli_backend: list[str]) -> None:
    """A connection that has sent nothing yet is open (the drivers make no core for it until
    its first bytes, and the gauge must not miss it); once closed it is not."""
    port = free_port()
    with ServerProcess("helpers.apps:hello", "--port", "0", "--metrics-bind",
                       f"127.0.0.1:{port}", *cli_backend) as server:  # fmt: skip
        silent = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(3)]
        deadline = time.monotonic() + 10
        while value(scrape(port), "asgi_core_open_connections") != 3:
            assert time.monotonic() < deadline, scrape(port)
            time.sleep(0.05)
        for sock in silent:
            sock.close()
        while value(scrape(port), "asgi_core_open_connections") != 0:
            assert time.monotonic() < deadline, scrape(port)
            time.sleep(0.05)
        server.signal(signal.SIGTERM)
        server.wait()


def test_one_scrape_sees_every_worker(cli_backend: list[str]) -> None:
    port = free_port()
    with ServerProcess("helpers.process_apps:pid", "--port", "0", "--workers", "2",
                       "--metrics-bind", f"127.0.0.1:{port}", *cli_backend) as server:  # fmt: skip
        served: dict[str, int] = {}
        deadline = time.monotonic() + 20
        while (len(served) < 2 or sum(served.values()) < 20) and time.monotonic() < deadline:
            with httpx.Client() as client:  # a new connection each time: either worker takes it
                pid = client.get(f"http://127.0.0.1:{server.port}/").text
            served[pid] = served.get(pid, 0) + 1
        text = scrape(port)
        server.signal(signal.SIGTERM)
        server.wait()
    assert len(served) == 2, served
    # Each worker counts only its own requests: the scrape's total is both workers' sum.
    assert value(text, "asgi_core_requests_total", status="200") == sum(served.values())
    assert value(text, "asgi_core_open_connections") >= 0


def test_the_supervisor_removes_its_folder(cli_backend: list[str]) -> None:
    port = free_port()
    server = ServerProcess("helpers.apps:hello", "--port", "0", "--workers", "2",
                           "--metrics-bind", f"127.0.0.1:{port}", *cli_backend).start()  # fmt: skip
    try:
        scrape(port)
        folder = re.search(r"every worker's, from (\S+)\)", server.output())
        assert folder is not None and Path(folder.group(1)).is_dir()
        server.signal(signal.SIGTERM)
        assert server.wait() == 0
        assert not Path(folder.group(1)).exists()
    finally:
        server.__exit__()


def test_without_the_package_or_with_a_bad_bind_is_one_line() -> None:
    server = ServerProcess("helpers.apps:hello", "--metrics-bind", "nope").start(wait_ready=False)
    assert server.wait() == 2
    assert "asgi-core: error: --metrics-bind 'nope': expected HOST:PORT" in server.output()
