"""The page a real browser loads in tests/server/test_browser.py: it reports the protocol it
came over and echoes a message over a WebSocket on the same origin."""

from __future__ import annotations

from typing import Any

PAGE = b"""<!doctype html>
<html><head><title>asgi-core</title></head><body><pre id="result">waiting</pre>
<script>
const protocol = performance.getEntriesByType("navigation")[0].nextHopProtocol;
const ws = new WebSocket("wss://" + location.host + "/ws");
ws.onopen = () => ws.send("hello from the browser");
ws.onmessage = (event) => {
  document.getElementById("result").textContent = protocol + "|" + event.data;
  ws.close(1000);
};
ws.onerror = () => { document.getElementById("result").textContent = protocol + "|error"; };
</script></body></html>
"""


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        while (message := await receive())["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": "echo: " + (message.get("text") or "")})
    elif scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/html; charset=utf-8")]})  # fmt: skip
        await send({"type": "http.response.body", "body": PAGE})
