"""Apps for the shutdown tests (importable as ``helpers.lifecycle_apps`` by the CLI)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import anyio

Scope = dict[str, Any]


async def background_work(scope: Scope, receive: Any, send: Any) -> None:
    """Answers at once, then works for ``?seconds`` (as FastAPI's BackgroundTasks do) and
    writes the file named by ``$MARKER`` when that work is done."""
    if scope["type"] != "http":
        return
    seconds = float(scope["query_string"].decode() or "1")
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"accepted"})
    await anyio.sleep(seconds)
    Path(os.environ["MARKER"]).write_text("done")


async def slow(scope: Scope, receive: Any, send: Any) -> None:
    """HTTP: answers after ``?seconds``; WebSocket: accepts and echoes."""
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        while (message := await receive())["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": message.get("text") or ""})
        return
    if scope["type"] != "http":
        return
    await anyio.sleep(float(scope["query_string"].decode() or "0"))
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"done"})
