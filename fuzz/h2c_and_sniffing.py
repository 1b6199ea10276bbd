"""Protocol choice target: any bytes on a cleartext connection with HTTP/2 on, where the first
bytes decide between HTTP/1.1, the HTTP/2 preface (prior knowledge) and ``Upgrade: h2c``.

Invariants: no exception escapes the core; the output is what the first bytes chose: HTTP/2
frames after a preface, otherwise HTTP/1.1 responses (checked as in the http11 target) and,
after a 101, HTTP/2 frames (h2c) or WebSocket frames; the client's EOF closes the connection
at once; every app returns; an HTTP/1.1 connection closes by itself.
"""

from __future__ import annotations

import sys

from asgi_core.http2 import PREFACE
from fuzz.common import (
    Driver,
    H2Checker,
    check_http11_driver,
    check_websocket_after_101,
    decode,
    require_closed_by_itself,
)


def check(data: bytes) -> None:
    """Run one input; raise on any broken invariant."""
    driver = Driver(decode(data), alpn=None).run()
    output = bytes(driver.output)
    if bytes(driver.fed[: len(PREFACE)]) == PREFACE:
        H2Checker().feed(output, True)
        return
    result = check_http11_driver(driver)
    if result.switched is None:
        require_closed_by_itself(driver)
    elif (b"upgrade", b"h2c") in result.switched:
        H2Checker().feed(result.rest, True)
    else:
        check_websocket_after_101(result)


if __name__ == "__main__":
    from fuzz.common import replay

    sys.exit(replay(check, sys.argv[1:]))
