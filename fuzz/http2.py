"""HTTP/2 target: the client preface, then any bytes, read in any pieces, into a connection
whose ALPN chose h2 (or, with the VARIANT flag, a cleartext one that sniffs the preface).

Invariants: no exception escapes the core; the output is whole HTTP/2 frames (hyperframe)
starting with SETTINGS, whose header blocks HPACK-decode to valid statuses (never 500), with
no frame on a stream after its end; a GOAWAY with an error closes the connection at once, and
a connection that closes by itself (not on the client's EOF) says GOAWAY first; each step's
output and each body message (at most the stream window) stay bounded; every app returns.
"""

from __future__ import annotations

import sys

from asgi_core.http2 import PREFACE
from fuzz.common import VARIANT, Driver, H2Checker, decode, require


def check(data: bytes) -> None:
    """Run one input; raise on any broken invariant."""
    script = decode(data, prefix=lambda flags: PREFACE)
    checker = H2Checker()
    alpn = None if script.has(VARIANT) else "h2"
    driver = Driver(script, alpn=alpn, on_output=checker.feed).run()
    if driver.closed_by_itself and not driver.peer_eof and checker.frames:
        require(checker.goaway_codes, "the server closed the connection without a GOAWAY")


if __name__ == "__main__":
    from fuzz.common import replay

    sys.exit(replay(check, sys.argv[1:]))
