"""The test kit (asgi_core.testing) on a real framework, Starlette: requests over HTTP/1.1
and HTTP/2, WebSockets, app errors and hangs, under asyncio and trio."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from asgi_core import Config
from asgi_core.testing import (
    AppError,
    AppHung,
    ASGIClient,
    SyncASGIClient,
    WebSocketClosed,
    WebSocketDenied,
)

finished_tasks: list[str] = []


async def home(request: Request) -> Response:
    return JSONResponse(
        {
            "path": request.url.path,
            "query": dict(request.query_params),
            "http_version": request.scope["http_version"],
            "host": request.headers.get("host"),
        }
    )


async def echo(request: Request) -> Response:
    body = await request.body()
    return Response(body, media_type=request.headers.get("content-type", "text/plain"))


async def stream(request: Request) -> Response:
    async def numbers() -> Any:
        for i in range(5):
            yield f"{i}\n"

    return StreamingResponse(numbers(), media_type="text/plain")


async def later(request: Request) -> Response:
    return PlainTextResponse("queued", background=BackgroundTask(finished_tasks.append, "done"))


async def boom(request: Request) -> Response:
    raise RuntimeError("boom")


async def chat(websocket: WebSocket) -> None:
    await websocket.accept(subprotocol="chat")
    async for message in websocket.iter_text():
        if message == "bye":
            await websocket.close(code=4001, reason="bye")
            return
        await websocket.send_text(message.upper())


async def members_only(websocket: WebSocket) -> None:
    await websocket.close(code=1008)


app = Starlette(
    routes=[
        Route("/", home),
        Route("/echo", echo, methods=["POST", "PUT"]),
        Route("/stream", stream),
        Route("/later", later),
        Route("/boom", boom),
        WebSocketRoute("/chat", chat),
        WebSocketRoute("/private", members_only),
    ]
)

BACKENDS = ["asyncio", "trio"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.parametrize("http_version", ["1.1", "2"])
def test_requests_through_the_core(backend: str, http_version: str) -> None:
    async def main() -> None:
        async with ASGIClient(app, http_version=http_version) as client:
            response = await client.get("/?x=1")
            assert response.status == 200
            assert response.http_version == http_version
            assert response.json() == {
                "path": "/",
                "query": {"x": "1"},
                "http_version": http_version,
                "host": "testserver",
            }
            echoed = await client.post("/echo", body=[b"a" * 70_000, b"b"])
            assert echoed.body == b"a" * 70_000 + b"b"
            streamed = await client.get("/stream")
            assert streamed.text == "0\n1\n2\n3\n4\n"
            await client.check("GET", "/later")
            assert "done" in finished_tasks
            missing = await client.get("/nope")
            assert missing.status == 404

    anyio.run(main, backend=backend)


def test_wire_bytes_are_what_the_server_wrote(backend: str) -> None:
    async def main() -> None:
        async with ASGIClient(app) as client:
            response = await client.get("/stream")
        assert response.wire.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"transfer-encoding: chunked\r\n" in response.wire
        assert response.wire.endswith(b"0\r\n\r\n")

    anyio.run(main, backend=backend)


def test_app_errors_surface_in_the_test(backend: str) -> None:
    async def main() -> None:
        async with ASGIClient(app) as client:
            with pytest.raises(AppError) as caught:
                await client.get("/boom")
            assert isinstance(caught.value.__cause__, RuntimeError)
        async with ASGIClient(app, raise_app_exceptions=False) as client:
            assert (await client.get("/boom")).status == 500

    anyio.run(main, backend=backend)


def test_a_hanging_app_fails_the_test_instead_of_hanging_it(backend: str) -> None:
    async def hangs(scope: Any, receive: Any, send: Any) -> None:
        await anyio.sleep_forever()

    async def returns_late(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204})
        await send({"type": "http.response.body"})
        await anyio.sleep_forever()

    async def main() -> None:
        async with ASGIClient(hangs, timeout=0.2) as client:
            with pytest.raises(AppHung):
                await client.get("/")
        async with ASGIClient(returns_late, timeout=0.2) as client:
            with pytest.raises(AppHung, match="did not return"):
                await client.check("GET", "/")

    anyio.run(main, backend=backend)


def test_websocket_session(backend: str) -> None:
    async def main() -> None:
        async with ASGIClient(app) as client:
            async with client.websocket("/chat", subprotocols=["chat"]) as ws:
                assert ws.subprotocol == "chat"
                await ws.send_text("hello")
                assert await ws.receive_text() == "HELLO"
                await ws.send_text("bye")
                with pytest.raises(WebSocketClosed) as closed:
                    await ws.receive()
                assert (closed.value.code, closed.value.reason) == (4001, "bye")
            with pytest.raises(WebSocketDenied) as denied:
                async with client.websocket("/private"):
                    pass
            assert denied.value.response.status == 403

    anyio.run(main, backend=backend)


def test_the_servers_timers_fire_on_the_virtual_clock(backend: str) -> None:
    """Timeouts fire through advance(), at once and exactly, never by waiting real time."""
    config = Config(ws_ping_interval=20, ws_ping_timeout=20)

    async def main() -> None:
        with anyio.fail_after(5):  # real seconds, for 60 virtual ones
            async with ASGIClient(app, config=config) as client:
                async with client.websocket("/chat", subprotocols=["chat"]) as ws:
                    await client.advance(20)  # the server pings
                    await client.advance(19.5)
                    await ws.send_text("here")
                    assert await ws.receive_text() == "HERE"  # this read answered the ping
                    await client.advance(20.5)  # another ping at 40, unanswered at 60
                    with pytest.raises(WebSocketClosed) as closed:
                        await ws.receive()
                    assert closed.value.code == 1011
                assert client.clock == 60.0

    anyio.run(main, backend=backend)


def test_the_sync_client_advances_the_clock_too() -> None:
    with SyncASGIClient(app, config=Config(ws_ping_interval=20, ws_ping_timeout=20)) as client:
        with client.websocket("/chat", subprotocols=["chat"]) as ws:
            client.advance(40)  # a ping at 20, unanswered at 40
            with pytest.raises(WebSocketClosed) as closed:
                ws.receive()
            assert closed.value.code == 1011
        assert client.clock == 40.0


def test_hostile_bytes_get_an_http_answer(backend: str) -> None:
    async def main() -> None:
        async with ASGIClient(app) as client:
            head = b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
            answer = await client.send_raw([head, b"Content-Length: 4\r\n\r\nabc"])
        assert answer.startswith(b"HTTP/1.1 400 ")

    anyio.run(main, backend=backend)


def test_sync_client_for_plain_tests() -> None:
    with SyncASGIClient(app, http_version="2") as client:
        assert client.get("/").json()["http_version"] == "2"
        with client.websocket("/chat", subprotocols=["chat"]) as ws:
            ws.send_text("sync")
            assert ws.receive_text() == "SYNC"


@pytest.fixture
def asgi_app() -> Any:
    return app


def test_the_asgi_client_fixture(asgi_client: SyncASGIClient) -> None:
    """The pytest plugin: define ``asgi_app``, ask for ``asgi_client``."""
    assert asgi_client.get("/").status == 200
    assert asgi_client.post("/echo", body=b"fixture").body == b"fixture"
