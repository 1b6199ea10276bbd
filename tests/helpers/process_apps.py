"""Apps for the process tests: each answers with the pid of the worker that served it."""

from __future__ import annotations

import os
from typing import Any


async def pid(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """HTTP: the worker's pid as the body. WebSocket: accept, then send the pid."""
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": str(os.getpid())})
        await send({"type": "websocket.close"})
        return
    if scope["type"] != "http":
        return
    body = str(os.getpid()).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})
