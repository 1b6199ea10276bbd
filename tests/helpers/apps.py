"""Small ASGI applications the integration tests serve (importable as ``helpers.apps``)."""

from __future__ import annotations

from typing import Any

import anyio

Scope = dict[str, Any]


async def hello(scope: Scope, receive: Any, send: Any) -> None:
    """Answers every request with a fixed body (no lifespan support: it raises on it)."""
    assert scope["type"] == "http", f"unsupported scope type {scope['type']!r}"
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain")],
        }
    )
    await send({"type": "http.response.body", "body": b"Hello, world!"})


async def echo(scope: Scope, receive: Any, send: Any) -> None:
    """Streams the request body back as it arrives (chunked), plus the scope's basics."""
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"x-method", scope["method"].encode()),
                (b"x-path", scope["path"].encode("utf-8")),
            ],
        }
    )
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        await send(
            {"type": "http.response.body", "body": message.get("body", b""), "more_body": True}
        )
        if not message.get("more_body"):
            break
    await send({"type": "http.response.body", "body": b""})


async def lifespan_state(scope: Scope, receive: Any, send: Any) -> None:
    """Sets lifespan state at startup and shows it per request."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                scope["state"]["greeting"] = "from lifespan"
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                print("lifespan shutdown complete", flush=True)
                return
    body = scope["state"]["greeting"].encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def startup_fails(scope: Scope, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "database is unreachable"})


async def slow(scope: Scope, receive: Any, send: Any) -> None:
    """Answers after ?seconds (default 1): an in-flight request for shutdown tests."""
    if scope["type"] != "http":
        return
    seconds = float(scope["query_string"].decode().partition("=")[2] or 1)
    await anyio.sleep(seconds)  # apps run on every backend: asyncio and trio alike
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"finally"})


async def read_then_echo(scope: Scope, receive: Any, send: Any) -> None:
    """Reads the whole body, then answers with it (Content-Length known)."""
    if scope["type"] != "http":
        return
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"".join(chunks)})


async def ws_echo(scope: Scope, receive: Any, send: Any) -> None:
    """Accepts (with the first offered subprotocol) and echoes every message until closed."""
    if scope["type"] != "websocket":
        return
    message = await receive()
    assert message["type"] == "websocket.connect"
    subprotocols = scope["subprotocols"]
    await send(
        {"type": "websocket.accept", "subprotocol": subprotocols[0] if subprotocols else None}
    )
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") == "close-please":
            await send({"type": "websocket.close", "code": 4000, "reason": "asked to"})
            continue
        await send(
            {
                "type": "websocket.send",
                **{k: message[k] for k in ("text", "bytes") if message.get(k) is not None},
            }
        )


async def peers(scope: Scope, receive: Any, send: Any) -> None:
    """Answers with the scope's ``client``, ``server`` and ``scheme`` as JSON, and its
    ``tls`` extension when it has one."""
    import json

    if scope["type"] != "http":
        return
    seen = {k: scope[k] for k in ("client", "server", "scheme")}
    if "tls" in scope.get("extensions", {}):
        seen["tls"] = scope["extensions"]["tls"]
    body = json.dumps(seen).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})
