"""The built-in demo application, served when ``asgi-core`` is run without an app."""

from __future__ import annotations

import json
from typing import Any

_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>asgi-core</title></head>
<body><h1>asgi-core is serving</h1>
<p>This is the built-in demo app. Run <code>asgi-core module:app</code> to serve your own.</p>
<p>Try <a href="/scope">/scope</a> (this request's ASGI scope as JSON) or
<code>curl -d hello localhost:PORT/echo</code>.</p></body></html>
"""


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Serve a page, the request's scope as JSON, and an echo of the request body."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    body = b""
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        body += message.get("body", b"")
        more = message.get("more_body", False)
    if scope["path"] == "/scope":
        visible = {k: v for k, v in scope.items() if k not in ("state", "extensions")}
        content = json.dumps(visible, default=_jsonable, indent=2).encode() + b"\n"
        content_type = b"application/json"
    elif scope["path"] == "/echo":
        content, content_type = body, b"application/octet-stream"
    else:
        content, content_type = _PAGE.encode(), b"text/html; charset=utf-8"
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", content_type)]}
    )
    await send({"type": "http.response.body", "body": content})


def _jsonable(value: object) -> object:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return repr(value)
