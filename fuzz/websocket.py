"""WebSocket target: a valid HTTP/1.1 Upgrade handshake that the app accepts, then any bytes
as frames, read in any pieces. VARIANT offers permessage-deflate, VARIANT2 makes the app slow
(it sleeps before each receive, so the message queue fills and reading pauses).

Invariants: no exception escapes the core; the 101 parses, then the server's frames are well
formed and any close frame carries a code RFC 6455 lets an endpoint send; the app receives
well-formed ASGI messages (connect first, each message within ``ws_max_size``, one
disconnect last); every app returns; the connection closes by itself.
"""

from __future__ import annotations

import sys

from fuzz.common import VARIANT, VARIANT2, Driver, check_http11_connection, decode


def handshake(flags: int) -> bytes:
    """The client's opening handshake (RFC 6455 section 4.1)."""
    return b"".join(
        [
            b"GET /ws%s HTTP/1.1\r\n" % (b"?w" if flags & VARIANT2 else b""),
            b"Host: fuzz\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n",
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n",
            b"Sec-WebSocket-Protocol: chat, superchat\r\n",
            b"Sec-WebSocket-Extensions: permessage-deflate\r\n" if flags & VARIANT else b"",
            b"\r\n",
        ]
    )


def check(data: bytes) -> None:
    """Run one input; raise on any broken invariant."""
    check_http11_connection(Driver(decode(data, prefix=handshake), alpn="http/1.1").run())


if __name__ == "__main__":
    from fuzz.common import replay

    sys.exit(replay(check, sys.argv[1:]))
