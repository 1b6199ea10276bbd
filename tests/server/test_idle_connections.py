"""10,000 idle keep-alive connections are held without starving new clients, and the
keep-alive timeout closes them. The server runs as a subprocess: each side needs 10k files."""

from __future__ import annotations

import resource
import socket
import time

import httpx
import pytest
from helpers.server import ServerProcess

IDLE = 10_000


def _open_files_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def is_open(sock: socket.socket) -> bool:
    """Peek without waiting: a socket with a timeout would wait out that timeout first."""
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_DONTWAIT | socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def test_ten_thousand_idle_connections(cli_backend: list[str]) -> None:
    if _open_files_limit() < IDLE + 200:
        pytest.skip(f"needs {IDLE + 200} open files; this machine allows fewer")
    keep_alive = 8.0
    with ServerProcess(
        *cli_backend,
        "helpers.apps:hello",
        "--port",
        "0",
        "--no-access-log",
        "--keep-alive-timeout",
        str(keep_alive),
        "--lifespan",
        "off",
    ) as server:
        idle: list[socket.socket] = []
        try:
            opened_at = time.monotonic()
            for _ in range(IDLE):
                idle.append(socket.create_connection((server.host, server.port), timeout=10))
            opened_in = time.monotonic() - opened_at
            assert opened_in < keep_alive, "opening took longer than the idle timeout"
            # A new client is served at once while 10k connections sit idle.
            started = time.monotonic()
            response = httpx.get(f"http://{server.host}:{server.port}", timeout=10)
            assert response.status_code == 200
            assert time.monotonic() - started < 2
            assert all(is_open(sock) for sock in idle[-100:])
            # After the keep-alive timeout the server has closed every idle connection.
            time.sleep(max(0.0, opened_at + opened_in + keep_alive + 2 - time.monotonic()))
            still_open = sum(is_open(sock) for sock in idle)
            assert still_open == 0, f"{still_open} idle connections were not closed"
        finally:
            for sock in idle:
                sock.close()
