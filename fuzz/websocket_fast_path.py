"""WebSocket fast path target: the ``websocket`` target's input, read by the core's fast path
(``asgi_core/websocket_frames.py``) and by wsproto alone.

Invariant: both give the client the same bytes and the app the same messages, hit the same
limits and close at the same step. The seed corpus is the ``websocket`` target's.
"""

from __future__ import annotations

import sys
from typing import Any

from asgi_core import websocket_frames
from fuzz.common import Driver, Script, decode, require
from fuzz.websocket import handshake


def _observed(script: Script, fast: bool) -> tuple[Any, ...]:
    websocket_frames.FAST_PATH = fast
    try:
        driver = Driver(script, alpn="http/1.1").run()
    finally:
        websocket_frames.FAST_PATH = True
    return bytes(driver.output), dict(driver.received), driver.limits, driver.closed_by_itself


def check(data: bytes) -> None:
    """Run one input both ways; raise if they differ."""
    script = decode(data, prefix=handshake)
    fast, alone = _observed(script, True), _observed(script, False)
    require(fast == alone, f"the fast path gives {fast!r}, wsproto alone {alone!r}")


if __name__ == "__main__":
    from fuzz.common import replay

    sys.exit(replay(check, sys.argv[1:]))
