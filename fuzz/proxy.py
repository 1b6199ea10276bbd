"""Proxy target: the pure parsers of ``asgi_core/proxy.py``, with no connection around them.

Input: one byte choosing the split (0: whole), then bytes. They are fed to
``ProxyProtocolParser`` in two pieces and whole; and, line by line, read as the values of
``Forwarded`` and ``X-Forwarded-*`` headers from a trusted peer.

Invariants: the PROXY parser returns a header, asks for more, or raises
``ProxyProtocolError``, never another exception; the split does not change the answer; a
header's ``rest`` is the input's tail after at most 107 bytes (v1) or 16 + 4096 (v2); the
proxy headers give None or a client, scheme and host the scope can carry, never an exception.
"""

from __future__ import annotations

import sys
from dataclasses import replace

from asgi_core.proxy import (
    V1_MAX,
    V2_MAX_LENGTH,
    ProxyHeader,
    ProxyProtocolError,
    ProxyProtocolParser,
    TrustedPeers,
    forwarded,
)

TRUSTED = TrustedPeers(["127.0.0.1", "10.0.0.0/8", "::1", "unix"])
NAMES = (b"forwarded", b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host",
         b"x-forwarded-port", b"x-forwarded-prefix")  # fmt: skip


def parse(pieces: list[bytes]) -> ProxyHeader | str | None:
    """The parser's answer to ``pieces`` fed in turn: a header, None, or the error's name."""
    parser = ProxyProtocolParser()
    try:
        for i, piece in enumerate(pieces):
            header = parser.feed(piece)
            if header is not None:  # what came after is the connection's, as a driver reads it
                return replace(header, rest=header.rest + b"".join(pieces[i + 1 :]))
    except ProxyProtocolError:
        return "error"
    return None


def check_proxy_protocol(split: int, data: bytes) -> None:
    if not data:
        return
    whole = parse([data])
    at = split % len(data) if split else 0
    pieces = parse([data[:at], data[at:]] if at else [data])
    assert whole == pieces, (whole, pieces)  # the split changes nothing
    if isinstance(whole, ProxyHeader):
        assert data.endswith(whole.rest)
        used = len(data) - len(whole.rest)
        assert used <= (V1_MAX if whole.version == 1 else 16 + V2_MAX_LENGTH)
        for address in (whole.client, whole.server):
            assert address is None or isinstance(address[0], str)


def check_headers(data: bytes) -> None:
    headers = [(NAMES[i % len(NAMES)], line) for i, line in enumerate(data.split(b"\n"))]
    said = forwarded(headers, TRUSTED)
    if said is None:
        return
    if said.client is not None:
        host, port = said.client
        assert isinstance(host, str) and 0 <= port < 65536
    assert said.scheme in (None, "http", "https")
    if said.host is not None:
        assert b"\r" not in said.host and b"\n" not in said.host and b" " not in said.host
    if said.prefix is not None:
        assert said.prefix.startswith("/")


def check(data: bytes) -> None:
    """Run one input; raise on any broken invariant."""
    if not data:
        return
    check_proxy_protocol(data[0], data[1:])
    check_headers(data[1:])


if __name__ == "__main__":
    from fuzz.common import replay

    sys.exit(replay(check, sys.argv[1:]))
