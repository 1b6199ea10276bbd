"""The frameworks users bring, through real sockets on every backend each runs on (those built
on anyio on trio too): lifespan state, a streamed response, an upload, a file response and a
WebSocket echo, over HTTP/1.1 and HTTP/2."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from helpers import framework_apps
from helpers.server import BACKENDS, ServerThread
from websockets.sync.client import connect

ON_ASYNCIO = [b for b in BACKENDS if "trio" not in b]
#: Each framework, the backends it runs on, and whether it has lifespan and WebSockets here.
FRAMEWORKS = {
    "starlette": (BACKENDS, True),
    "fastapi": (BACKENDS, True),
    "litestar": (BACKENDS, True),
    "quart": (ON_ASYNCIO, True),
    "django": (ON_ASYNCIO, False),  # Django's ASGI handler speaks neither lifespan nor WebSocket
}
CASES = [
    pytest.param((name, backend), id=f"{name}-{backend}")
    for name, (backends, _) in FRAMEWORKS.items()
    for backend in backends
]


@pytest.fixture
def framework_server(request: pytest.FixtureRequest) -> Any:
    name, backend = request.param
    pytest.importorskip(name)
    full = FRAMEWORKS[name][1]
    app = getattr(framework_apps, f"{name}_app")()
    with ServerThread(app, backend, lifespan="on" if full else "off") as server:
        yield server, full


@pytest.mark.parametrize("framework_server", CASES, indirect=True)
def test_a_framework_app_serves_everything_it_does(framework_server: Any) -> None:
    server, full = framework_server
    base = server.url
    with httpx.Client(timeout=30) as client:
        assert client.get(base + "/state").text == "yes"  # set at lifespan startup
        assert client.get(base + "/stream").text == "".join(f"part {i}\n" for i in range(5))
        upload = client.post(base + "/upload", content=b"u" * 1_000_000)
        assert upload.text == "1000000"
        assert client.get(base + "/file").content == framework_apps.FILE_BODY
    with httpx.Client(http1=False, http2=True, timeout=30) as h2_client:
        response = h2_client.get(base + "/stream")
        assert response.http_version == "HTTP/2"
        assert response.text.startswith("part 0")
        assert h2_client.post(base + "/upload", content=b"u" * 300_000).text == "300000"
    if full:
        with connect(f"ws://{server.host}:{server.port}/ws", open_timeout=10) as ws:
            ws.send("hi")
            assert ws.recv(timeout=10) == "echo: hi"
