"""Fair under abuse (Envoy's overload manager): ``--max-connections`` closes connections past
the limit at accept, with a rate-limited warning; from 80 % of it, idle keep-alive and TLS
handshake waits that start are shortened (reduce_timeouts). Every backend, real sockets."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from helpers.apps import hello
from helpers.tls import Certificates

from asgi_core.backends import ServerConfig, metrics
from asgi_core.backends.lifecycle import ConnectionLimit


def held(stack: ExitStack, url: str) -> httpx.Client:
    """A client whose one keep-alive connection the server has admitted and still holds."""
    client = stack.enter_context(httpx.Client(timeout=10))
    assert client.get(url).status_code == 200
    return client


def served_after_retries(url: str, attempts: int = 50) -> httpx.Response:
    """A new connection's response, once the server has seen a held one close (it notices
    a moment after the client does)."""
    for _ in range(attempts - 1):
        try:
            return httpx.get(url, timeout=10)
        except httpx.TransportError:
            continue
    return httpx.get(url, timeout=10)


def test_past_max_connections_a_new_connection_is_closed_at_accept(
    serve: Any, caplog: pytest.LogCaptureFixture
) -> None:
    server = serve(hello, max_connections=2)
    with caplog.at_level(logging.WARNING, logger="asgi_core"), ExitStack() as stack:
        first = held(stack, server.url)
        held(stack, server.url)
        with pytest.raises(httpx.TransportError):
            httpx.get(server.url, timeout=10)
        assert first.get(server.url).status_code == 200  # the held ones are still served
        first.close()
        assert served_after_retries(server.url).text == "Hello, world!"
    # (An earlier test's logging config may leave asgi_core's level at INFO: read warnings.)
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.name == "asgi_core" and r.levelno >= logging.WARNING
    ]
    assert warnings[0] == "Refused 1 connection past --max-connections 2"


def test_without_max_connections_nothing_is_refused(serve: Any) -> None:
    server = serve(hello)
    with ExitStack() as stack:
        for _ in range(5):
            held(stack, server.url)
        assert httpx.get(server.url, timeout=10).status_code == 200


def test_a_burst_larger_than_one_turns_accepts_is_served_whole(serve: Any) -> None:
    """asyncio accepts at most 64 per loop turn (ACCEPTS_PER_TURN); the rest wait their
    turn in the kernel's queue, which keeps its configured length."""
    server = serve(hello, backlog=512)
    with ExitStack() as stack:
        burst = [
            stack.enter_context(socket.create_connection((server.host, server.port), timeout=10))
            for _ in range(200)
        ]
        for sock in burst:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        for sock in burst:
            response = b""
            while chunk := sock.recv(4096):
                response += chunk
            assert response.startswith(b"HTTP/1.1 200") and response.endswith(b"Hello, world!")


def closed_by_server(sock: socket.socket) -> bool:
    """Wait (less than the full timeouts below) for the server to close ``sock``."""
    sock.settimeout(8)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_under_pressure_a_new_idle_connection_gets_a_reduced_keep_alive(serve: Any) -> None:
    """max 2: with the second open connection the server is at 80 % of it, so that one's idle
    wait is 1 s, not 10 s. (Which waits began before is exact in tests/core/test_pressure.py:
    here the first one's re-arming after its response races the second connect.)"""
    server = serve(hello, max_connections=2, keep_alive_timeout=10.0)
    address = (server.host, server.port)
    with socket.create_connection(address, timeout=10) as first:
        first.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        assert first.recv(4096).startswith(b"HTTP/1.1 200")
        with socket.create_connection(address, timeout=10) as second:
            assert closed_by_server(second)


def test_under_pressure_a_new_tls_handshake_gets_a_reduced_timeout(
    serve: Any, certs: Certificates
) -> None:
    server = serve(
        hello, max_connections=2, tls_handshake_timeout=10.0, ssl_certfile=certs.certfile,
        ssl_keyfile=certs.keyfile,
    )  # fmt: skip
    address = (server.host, server.port)
    with (
        socket.create_connection(address, timeout=10),  # no ClientHello
        socket.create_connection(address, timeout=10) as second,
    ):
        assert closed_by_server(second)


class _Gauge:
    def __init__(self) -> None:
        self.value = 0

    def inc(self) -> None:
        self.value += 1

    def dec(self) -> None:
        self.value -= 1


class _Counter:
    def __init__(self) -> None:
        self.hits: dict[str, int] = {}
        #: The open-connections gauge beside it.
        self.open_gauge = _Gauge()

    def labels(self, limit: str) -> Any:
        counter = self

        class _Child:
            def inc(self) -> None:
                counter.hits[limit] = counter.hits.get(limit, 0) + 1

        return _Child()


@pytest.fixture
def limit_hits(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Counter]:
    counter = _Counter()
    collected = type("Collected", (), {"limits": counter, "connections": counter.open_gauge})()
    monkeypatch.setattr(metrics, "metrics", collected)
    yield counter


def test_refusals_are_logged_at_most_once_a_second_with_their_count(
    caplog: pytest.LogCaptureFixture, limit_hits: _Counter
) -> None:
    limit = ConnectionLimit(ServerConfig(max_connections=1))
    with caplog.at_level(logging.WARNING, logger="asgi_core"):
        assert limit.admit(0.0)
        refused = [limit.admit(now) for now in (10.0, 10.2, 10.5, 10.9, 11.0, 11.5)]
        limit.release()
        assert limit.admit(12.0)
    assert refused == [False] * 6
    assert [r.getMessage() for r in caplog.records] == [
        "Refused 1 connection past --max-connections 1",
        "Refused 4 connections past --max-connections 1 in the last 1.0 s",
    ]
    assert limit_hits.hits == {"max_connections": 6}
    assert limit.open == 1
    assert limit_hits.open_gauge.value == 1  # the refused ones were never open


def test_max_connections_is_validated_in_one_line() -> None:
    from asgi_core.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^max_connections must be an int >= 1 \(or off\)"):
        ServerConfig(max_connections=0)


def test_pressure_is_on_from_80_percent_of_max_connections_open() -> None:
    limit = ConnectionLimit(ServerConfig(max_connections=5))
    flags = []
    for _ in range(5):
        limit.admit(0.0)
        flags.append(limit.pressure.reduce_timeouts)
    assert flags == [False, False, False, True, True]
    assert limit.timeout(10.0) == 1.0
    limit.release()
    limit.release()
    assert not limit.pressure.reduce_timeouts
    assert limit.timeout(10.0) == 10.0


def test_without_max_connections_there_is_never_pressure() -> None:
    limit = ConnectionLimit(ServerConfig())
    assert all(limit.admit(0.0) for _ in range(1000))
    assert not limit.pressure.reduce_timeouts
