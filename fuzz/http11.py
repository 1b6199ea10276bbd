"""HTTP/1.1 target: any bytes, read in any pieces, into a connection whose ALPN chose
http/1.1, with the tiny app answering every request.

Invariants: no exception escapes the core; every response parses with h11 as the client,
is complete and has a valid status (never 500: the app is well-behaved); each step's output
and each body message stay bounded; every app returns once the transport is gone; and the
connection closes by itself (EOF or a timer) once the client stops sending.
"""

from __future__ import annotations

import sys

from fuzz.common import Driver, check_http11_connection, decode


def check(data: bytes) -> None:
    """Run one input; raise on any broken invariant."""
    check_http11_connection(Driver(decode(data), alpn="http/1.1").run())


if __name__ == "__main__":
    from fuzz.common import replay

    sys.exit(replay(check, sys.argv[1:]))
