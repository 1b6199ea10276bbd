"""Fair under abuse (Envoy's overload manager): ``--max-connections`` closes connections past
the limit at accept, with a rate-limited warning, on every backend."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from helpers.apps import hello

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
    warnings = [r.getMessage() for r in caplog.records if r.name == "asgi_core"]
    assert warnings[0] == "Refused 1 connection past --max-connections 2"


def test_without_max_connections_nothing_is_refused(serve: Any) -> None:
    server = serve(hello)
    with ExitStack() as stack:
        for _ in range(5):
            held(stack, server.url)
        assert httpx.get(server.url, timeout=10).status_code == 200


class _Counter:
    def __init__(self) -> None:
        self.hits: dict[str, int] = {}

    def labels(self, limit: str) -> Any:
        counter = self

        class _Child:
            def inc(self) -> None:
                counter.hits[limit] = counter.hits.get(limit, 0) + 1

        return _Child()


@pytest.fixture
def limit_hits(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Counter]:
    counter = _Counter()
    collected = type("Collected", (), {"limits": counter})()
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


def test_max_connections_is_validated_in_one_line() -> None:
    from asgi_core.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^max_connections must be an int >= 1 \(or off\)"):
        ServerConfig(max_connections=0)
