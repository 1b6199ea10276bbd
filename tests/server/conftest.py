"""Integration fixtures: every behaviour test runs once per backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from helpers.server import BACKENDS, CLI_BACKENDS, ServerThread
from helpers.tls import Certificates, make_certificates


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def serve(backend: str) -> Iterator[Callable[..., ServerThread]]:
    """``serve(app, **options)`` starts ``app`` on 127.0.0.1 with this test's backend.

    Lifespan is off unless a test asks for it: most test apps speak only HTTP.
    """
    servers: list[ServerThread] = []

    def start(app: Any, **options: Any) -> ServerThread:
        options.setdefault("lifespan", "off")
        server = ServerThread(app, backend, **options).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(params=list(CLI_BACKENDS))
def cli_backend(request: pytest.FixtureRequest) -> list[str]:
    """The command-line flags that pick one backend (for tests of the asgi-core command)."""
    return CLI_BACKENDS[request.param]


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """A trustme CA with a server certificate for 127.0.0.1 and a client certificate."""
    return make_certificates(tmp_path_factory.mktemp("tls"))
