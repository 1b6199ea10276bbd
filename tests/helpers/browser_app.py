"""The page a real browser loads in tests/server/test_browser.py: it echoes a message over a
WebSocket on the same origin, then posts what it saw (the protocol the page came over, and
the echo) to /result, which ``RESULTS`` collects for the test."""

from __future__ import annotations

import queue
from typing import Any

#: What pages posted to /result.
RESULTS: queue.Queue[str] = queue.Queue()

PAGE = b"""<!doctype html>
<html><head><title>asgi-core</title></head><body><pre id="result">waiting</pre>
<script>
const protocol = performance.getEntriesByType("navigation")[0].nextHopProtocol;
const ws = new WebSocket("wss://" + location.host + "/ws");
ws.onopen = () => ws.send("hello from the browser");
const report = (text) => fetch("/result", {method: "POST", body: protocol + "|" + text});
ws.onmessage = (event) => { ws.close(1000); report(event.data); };
ws.onerror = () => report("error");
</script></body></html>
"""


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        while (message := await receive())["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": "echo: " + (message.get("text") or "")})
    elif scope["type"] == "http" and scope["path"] == "/result":
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        RESULTS.put(body.decode())
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
    elif scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/html; charset=utf-8")]})  # fmt: skip
        await send({"type": "http.response.body", "body": PAGE})
