"""Properties of a real app (Starlette) served through the core, with the test kit's
strategies: what asgi_core.testing offers users, used on ourselves."""

from __future__ import annotations

import json
from typing import Any

import anyio
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from asgi_core.testing import ASGIClient
from asgi_core.testing import strategies as asgi_st
from asgi_core.testing.strategies import Request


async def describe(request: StarletteRequest) -> Response:
    body = await request.body()
    return JSONResponse(
        {
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "headers": [[k, v] for k, v in request.headers.items() if k != "host"],
            "size": len(body),
        }
    )


async def echo_ws(websocket: WebSocket) -> None:
    await websocket.accept()
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") is not None:
            await websocket.send_text(message["text"])
        else:
            await websocket.send_bytes(message.get("bytes") or b"")


app = Starlette(
    routes=[
        Route("/{path:path}", describe, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        WebSocketRoute("/ws", echo_ws),
    ]
)


FRAMING = ("content-length", "transfer-encoding")


def run(main: Any) -> Any:
    return anyio.run(main)


@given(request=asgi_st.requests(), http_version=st.sampled_from(["1.1", "2"]))
def test_any_valid_request_is_answered_without_5xx_and_without_leaks(
    request: Request, http_version: str
) -> None:
    """The kit's ready property on a Starlette app: answered, no 5xx, every call returned."""

    async def main() -> None:
        async with ASGIClient(app, http_version=http_version) as client:
            await client.check(request.method, request.path, headers=request.headers,
                               body=request.body)  # fmt: skip

    run(main)


@given(raw=asgi_st.hostile_requests())
def test_hostile_bytes_get_a_4xx_or_a_close_never_a_5xx(raw: tuple[bytes, ...]) -> None:
    """Whatever arrives, the server answers as HTTP (a 4xx or 505 for what it refuses) or
    closes; it never answers 500 and never raises."""

    async def main() -> bytes:
        async with ASGIClient(app) as client:
            return await client.send_raw(raw)

    answer = run(main)
    statuses = [int(line.split(b" ")[1]) for line in answer.split(b"\r\n") if
                line.startswith(b"HTTP/1.1 ")]  # fmt: skip
    assert all(status < 500 or status == 505 for status in statuses), answer[:200]


@given(request=asgi_st.requests())
def test_http11_and_http2_give_the_app_the_same_request(request: Request) -> None:
    """Differential: the same request over HTTP/1.1 and HTTP/2 reaches the app alike (method,
    path, query, headers, body) and its response decodes to the same status and body."""

    async def over(http_version: str) -> tuple[int, Any]:
        async with ASGIClient(app, http_version=http_version) as client:
            response = await client.request(request.method, request.path,
                                            headers=request.headers, body=request.body)  # fmt: skip
        return response.status, response.body

    (status1, body1), (status2, body2) = run(lambda: over("1.1")), run(lambda: over("2"))
    assert status1 == status2
    if status1 != 200 or request.method == "HEAD":
        assert body1 == body2
        return
    seen1, seen2 = json.loads(body1), json.loads(body2)
    for seen in (seen1, seen2):  # how the body was framed differs by design
        seen["headers"] = [h for h in seen["headers"] if h[0] not in FRAMING]
    assert seen1 == seen2


@given(messages=asgi_st.websocket_messages())
def test_websocket_messages_come_back_in_order_and_intact(messages: list[str | bytes]) -> None:
    async def main() -> list[str | bytes]:
        echoed = []
        async with ASGIClient(app) as client, client.websocket("/ws") as ws:
            for message in messages:
                if isinstance(message, str):
                    await ws.send_text(message)
                else:
                    await ws.send_bytes(message)
                echoed.append(await ws.receive())
        return echoed

    assert run(main) == messages
