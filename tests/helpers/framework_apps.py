"""The same small service written in each framework users bring (FastAPI, Starlette, Litestar,
Quart, Django): a streamed response, an upload, a file response, a WebSocket echo and a value
set at lifespan startup. tests/server/test_frameworks.py drives each through every backend it
runs on.

No ``from __future__ import annotations`` here: FastAPI and Litestar read the handlers'
annotations at run time, and the names they use are imported inside each factory."""

import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

#: The file every framework serves as a file response.
FILE = os.path.join(tempfile.gettempdir(), "asgi-core-framework-file.txt")
FILE_BODY = b"file contents\n" * 1000


def _write_file() -> None:
    with open(FILE, "wb") as out:
        out.write(FILE_BODY)


def starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import FileResponse, PlainTextResponse, StreamingResponse
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[dict[str, str]]:
        _write_file()
        yield {"started": "yes"}

    async def state(request: Request) -> PlainTextResponse:
        return PlainTextResponse(request.state.started)

    async def stream(request: Request) -> StreamingResponse:
        async def parts() -> AsyncIterator[bytes]:
            for i in range(5):
                yield b"part %d\n" % i

        return StreamingResponse(parts())

    async def upload(request: Request) -> PlainTextResponse:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
        return PlainTextResponse(str(size))

    async def file(request: Request) -> FileResponse:
        return FileResponse(FILE)

    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        text = await websocket.receive_text()
        await websocket.send_text("echo: " + text)
        await websocket.close()

    return Starlette(
        routes=[Route("/state", state), Route("/stream", stream),
                Route("/upload", upload, methods=["POST"]), Route("/file", file),
                WebSocketRoute("/ws", echo)],
        lifespan=lifespan,
    )  # fmt: skip


def fastapi_app() -> Any:
    from fastapi import FastAPI, Request, WebSocket
    from fastapi.responses import FileResponse, PlainTextResponse, StreamingResponse

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[dict[str, str]]:
        _write_file()
        yield {"started": "yes"}

    app = FastAPI(lifespan=lifespan)

    @app.get("/state", response_class=PlainTextResponse)
    async def state(request: Request) -> str:
        return str(request.state.started)

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def parts() -> AsyncIterator[bytes]:
            for i in range(5):
                yield b"part %d\n" % i

        return StreamingResponse(parts())

    @app.post("/upload", response_class=PlainTextResponse)
    async def upload(request: Request) -> str:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
        return str(size)

    @app.get("/file")
    async def file() -> FileResponse:
        return FileResponse(FILE)

    @app.websocket("/ws")
    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        text = await websocket.receive_text()
        await websocket.send_text("echo: " + text)
        await websocket.close()

    return app


def litestar_app() -> Any:
    from litestar import Litestar, Request, WebSocket, get, post, websocket
    from litestar.response import File, Stream

    started: dict[str, str] = {}

    async def on_startup() -> None:
        _write_file()
        started["started"] = "yes"

    @get("/state")
    async def state() -> str:
        return started["started"]

    @get("/stream")
    async def stream() -> Stream:
        async def parts() -> AsyncIterator[bytes]:
            for i in range(5):
                yield b"part %d\n" % i

        return Stream(parts())

    @post("/upload", status_code=200)
    async def upload(request: Request[Any, Any, Any]) -> str:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
        return str(size)

    @get("/file")
    async def file() -> File:
        return File(path=FILE)

    @websocket("/ws")
    async def echo(socket: WebSocket[Any, Any, Any]) -> None:
        await socket.accept()
        text = await socket.receive_text()
        await socket.send_text("echo: " + text)
        await socket.close()

    return Litestar([state, stream, upload, file, echo], on_startup=[on_startup])


def quart_app() -> Any:
    from quart import Quart, request, send_file, websocket

    app = Quart(__name__)
    started: dict[str, str] = {}

    @app.before_serving
    async def startup() -> None:
        _write_file()
        started["started"] = "yes"

    @app.get("/state")
    async def state() -> str:
        return started["started"]

    @app.get("/stream")
    async def stream() -> Any:
        async def parts() -> AsyncIterator[bytes]:
            for i in range(5):
                yield b"part %d\n" % i

        return parts(), 200

    @app.post("/upload")
    async def upload() -> str:
        size = 0
        async for chunk in request.body:
            size += len(chunk)
        return str(size)

    @app.get("/file")
    async def file() -> Any:
        return await send_file(FILE)

    @app.websocket("/ws")
    async def echo() -> None:
        text = await websocket.receive()
        await websocket.send("echo: " + str(text))

    return app


def django_app() -> Any:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            DEBUG=False, SECRET_KEY="test", ROOT_URLCONF=__name__, ALLOWED_HOSTS=["*"],
            MIDDLEWARE=[], INSTALLED_APPS=[],
        )  # fmt: skip
        django.setup()
    from django.core.asgi import get_asgi_application

    _write_file()
    return get_asgi_application()


def _django_views() -> list[Any]:
    from django.http import FileResponse, HttpResponse, StreamingHttpResponse
    from django.urls import path

    def state(request: Any) -> HttpResponse:
        return HttpResponse("yes", content_type="text/plain")  # Django has no lifespan

    def stream(request: Any) -> StreamingHttpResponse:
        return StreamingHttpResponse(b"part %d\n" % i for i in range(5))

    def upload(request: Any) -> HttpResponse:
        return HttpResponse(str(len(request.body)), content_type="text/plain")

    def file(request: Any) -> FileResponse:
        return FileResponse(open(FILE, "rb"))

    return [path("state", state), path("stream", stream), path("upload", upload),
            path("file", file)]  # fmt: skip


def __getattr__(name: str) -> Any:
    if name == "urlpatterns":  # Django's ROOT_URLCONF, built once Django is configured
        return _django_views()
    raise AttributeError(name)
