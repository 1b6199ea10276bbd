"""WSGI and ASGI 2 apps for tests/server/test_wsgi.py (and the CLI's --interface)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

from flask import Flask, Response, request

flask_app = Flask("wsgi_apps")
#: Set by the /slow-upload route once it has read its first piece (backpressure test).
first_piece_read = threading.Event()
#: The /slow-upload route reads on once this is set.
go_on_reading = threading.Event()


@flask_app.get("/")
def index() -> str:
    return "hello from flask"


@flask_app.get("/stream")
def stream() -> Response:
    def parts() -> Iterator[bytes]:
        for i in range(5):
            yield f"part {i}\n".encode()

    return Response(parts(), mimetype="text/plain")


@flask_app.post("/upload")
def upload() -> str:
    """Reads the body in 64 KiB pieces from wsgi.input; answers its size and the pieces."""
    stream = request.environ["wsgi.input"]
    size = pieces = 0
    while piece := stream.read(65536):
        size += len(piece)
        pieces += 1
    return f"{size} {pieces}"


@flask_app.post("/slow-upload")
def slow_upload() -> str:
    stream = request.environ["wsgi.input"]
    size = len(stream.read(1024))
    first_piece_read.set()
    go_on_reading.wait(30)
    while piece := stream.read(65536):
        size += len(piece)
    return str(size)


@flask_app.get("/environ")
def environ() -> dict[str, str]:
    env = request.environ
    keys = ("REMOTE_ADDR", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "HTTP_X_TEST")
    return {key: env.get(key, "") for key in keys} | {"url": request.url}


@flask_app.get("/raise")
def raises() -> str:
    raise RuntimeError("the WSGI app failed on purpose")


flask_app.config["PROPAGATE_EXCEPTIONS"] = True  # the server answers 500 and logs, not Flask


def raw_wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> ClosingBody:
    """A bare WSGI callable: write() and then the iterable, with close() recorded."""
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"written, ")
    return ClosingBody([b"then ", b"yielded"])


closed: list[bool] = []


class ClosingBody:
    """A WSGI iterable whose close() the server must call."""

    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.parts)

    def close(self) -> None:
        closed.append(True)


def error_then_start(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """start_response twice, the second with exc_info, before any body (PEP 3333)."""
    import sys

    start_response("200 OK", [("Content-Type", "text/plain")])
    try:
        raise ValueError("late")
    except ValueError:
        start_response("503 Service Unavailable", [("Content-Type", "text/plain")], sys.exc_info())
    return [b"replaced"]


class ASGI2App:
    """An ASGI 2 app: the class takes the scope, its instance is awaited with receive, send."""

    def __init__(self, scope: dict[str, Any]) -> None:
        self.scope = scope

    async def __call__(self, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"asgi2 " + self.scope["path"].encode()})


async def two_arguments(scope: Any, receive: Any) -> None:
    """A coroutine function of two arguments: no interface fits it."""


def django_wsgi_app() -> Any:
    """Django's WSGI handler over the views of framework_apps.django_app (same settings)."""
    from django.core.wsgi import get_wsgi_application

    from helpers.framework_apps import django_app

    django_app()  # configures the settings once, writes the file the /file view serves
    return get_wsgi_application()
