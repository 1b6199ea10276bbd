"""Small example ASGI apps that the benchmarks and the conformance tests serve alike.

- ``hello``: answers every HTTP request with the fixed 13 bytes ``Hello, world!``.
- ``websocket_echo``: accepts every WebSocket and sends each message back as it came (text as
  text, bytes as bytes) until the client goes; any HTTP request gets an empty 404.

Both complete the lifespan protocol, so a server may run them with lifespan on, off or auto.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

HELLO_BODY = b"Hello, world!"
_HELLO_START: Message = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"text/plain"), (b"content-length", b"13")],
}
_HELLO_RESPONSE: Message = {"type": "http.response.body", "body": HELLO_BODY}


async def lifespan(receive: Receive, send: Send) -> None:
    """Complete startup and shutdown at once, returning after shutdown."""
    while True:
        message = await receive()
        await send({"type": message["type"] + ".complete"})
        if message["type"] == "lifespan.shutdown":
            return


async def hello(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer every HTTP request with ``Hello, world!`` (a fixed Content-Length of 13)."""
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
        return
    await send(_HELLO_START)
    await send(_HELLO_RESPONSE)


async def websocket_echo(scope: Scope, receive: Receive, send: Send) -> None:
    """Accept the WebSocket and echo every message until the client disconnects."""
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
        return
    if scope["type"] != "websocket":
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    await receive()
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") is not None:
            await send({"type": "websocket.send", "text": message["text"]})
        else:
            await send({"type": "websocket.send", "bytes": message["bytes"]})
