"""WebSocket floods over real sockets, on every backend, cleartext and TLS: a PING flood and a
message in one-byte fragments are closed with 1008 (RFC 6455 section 7.4.1, policy
violation: ``--ws-control-frame-budget``, ``--ws-max-fragments``) while another client is
served."""

from __future__ import annotations

import base64
import contextlib
import os
import socket
import ssl
import threading
from typing import Any

import httpx
import pytest
from helpers import apps
from helpers.tls import Certificates

HANDSHAKE = (
    b"GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: "
)
#: A masked, empty PING; a masked text frame "x" that is not final, then continuations of it.
PING = b"\x89\x80\x00\x00\x00\x00"
FIRST_FRAGMENT = b"\x01\x81\x00\x00\x00\x00x"
FRAGMENT = b"\x00\x81\x00\x00\x00\x00x"


async def _echo_or_hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await (apps.ws_echo if scope["type"] == "websocket" else apps.hello)(scope, receive, send)


def _flood(sock: socket.socket, first: bytes, frame: bytes) -> bytes:
    """The handshake, then frames until the server closes; everything it sent. One thread
    sends and reads in turn (an SSL socket takes no reads and writes at once)."""
    sock.sendall(HANDSHAKE + base64.b64encode(os.urandom(16)) + b"\r\n\r\n")
    sock.settimeout(0.05)
    received = b""
    with contextlib.suppress(OSError):  # the server closes while we still send
        sock.sendall(first)
        for _ in range(400):
            sock.sendall(frame * 200)
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                break
            received += chunk
    sock.settimeout(5)
    with contextlib.suppress(OSError):
        while chunk := sock.recv(65536):
            received += chunk
    return received


@pytest.mark.parametrize("tls", [False, True], ids=["cleartext", "tls"])
@pytest.mark.parametrize(
    ("first", "frame"), [(PING, PING), (FIRST_FRAGMENT, FRAGMENT)], ids=["pings", "fragments"]
)
def test_a_websocket_flood_is_closed_with_1008_while_others_are_served(
    serve: Any, certs: Certificates, tls: bool, first: bytes, frame: bytes
) -> None:
    options: dict[str, Any] = {}
    if tls:
        options.update(ssl_certfile=certs.certfile, ssl_keyfile=certs.keyfile)
    server = serve(_echo_or_hello, **options)
    context = ssl.create_default_context(cafile=certs.ca_file)
    raw = socket.create_connection((server.host, server.port), timeout=20)
    sock = context.wrap_socket(raw, server_hostname="127.0.0.1") if tls else raw
    outcome: list[bytes] = []
    abuser = threading.Thread(target=lambda: outcome.append(_flood(sock, first, frame)))
    abuser.start()
    try:
        scheme = "https" if tls else "http"
        with httpx.Client(verify=context, timeout=10) as client:
            assert client.get(f"{scheme}://127.0.0.1:{server.port}/").status_code == 200
        abuser.join(timeout=30)
    finally:
        with contextlib.suppress(OSError):
            sock.close()
    received = outcome[0] if outcome else b""
    # The close frame: opcode 8, its payload starting with the code 1008 (0x03f0).
    assert b"\x88" in received and b"\x03\xf0" in received[received.rindex(b"\x88") :]
