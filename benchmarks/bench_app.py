"""The app benchmarks/http11.py, abuse.py and soak.py serve: one app for every scenario.

- ``GET /`` (any other path or method but POST): the 13-byte hello of
  ``asgi_core.testing.apps.hello``.
- ``GET /64k``: 65,536 bytes with a Content-Length.
- ``POST`` (any path): the request body read whole and sent back with a Content-Length.
- a WebSocket (any path): ``asgi_core.testing.apps.websocket_echo``.

Served as ``bench_app:app`` from benchmarks/ by every server's command line.
"""

from __future__ import annotations

from asgi_core.testing.apps import Message, Receive, Scope, Send, hello, websocket_echo

BIG_BODY = b"x" * 65536
_BIG_START: Message = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"application/octet-stream"), (b"content-length", b"65536")],
}
_BIG_RESPONSE: Message = {"type": "http.response.body", "body": BIG_BODY}


async def echo(receive: Receive, send: Send) -> None:
    """Read the request body whole and send it back."""
    chunks = []
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(chunks)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/octet-stream"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        if scope["method"] == "POST":
            await echo(receive, send)
        elif scope["path"] == "/64k":
            await send(_BIG_START)
            await send(_BIG_RESPONSE)
        else:
            await hello(scope, receive, send)
    elif scope["type"] == "websocket":
        await websocket_echo(scope, receive, send)
    else:
        await hello(scope, receive, send)  # lifespan
