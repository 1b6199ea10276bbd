"""Slow clients over real sockets, on every backend, cleartext and TLS: a request body
trickled a byte at a time (R.U.D.Y.) is cut by ``--min-request-body-rate`` with 408, while
another client is served."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from typing import Any

import httpx
import pytest
from helpers import apps
from helpers.tls import Certificates

HEAD = b"POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n"


def trickle(sock: socket.socket, stop: threading.Event) -> bytes:
    """A byte every 0.2 s until the server answers or closes; what it answered."""
    sock.sendall(HEAD)
    sock.settimeout(0.2)
    answer = b""
    deadline = time.monotonic() + 20
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            sock.sendall(b"x")
        except OSError:
            break
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except OSError:
            break
        if not chunk:
            break
        answer += chunk
    return answer


@pytest.mark.parametrize("tls", [False, True], ids=["cleartext", "tls"])
def test_a_trickled_request_body_gets_408_while_others_are_served(
    serve: Any, certs: Certificates, tls: bool
) -> None:
    """RFC 9110 section 15.5.9 (408); the rate is Kestrel's MinRequestBodyDataRate."""
    options: dict[str, Any] = {"min_request_body_rate": 100, "min_request_body_rate_grace": 1}
    if tls:
        options.update(ssl_certfile=certs.certfile, ssl_keyfile=certs.keyfile)
    server = serve(apps.read_then_echo, **options)
    scheme = "https" if tls else "http"
    context = ssl.create_default_context(cafile=certs.ca_file)
    raw = socket.create_connection((server.host, server.port), timeout=10)
    if tls:
        raw = context.wrap_socket(raw, server_hostname="127.0.0.1")
    stop = threading.Event()
    result: list[bytes] = []
    abuser = threading.Thread(target=lambda: result.append(trickle(raw, stop)))
    started = time.monotonic()
    abuser.start()
    try:
        time.sleep(0.3)
        with httpx.Client(verify=context, timeout=10) as client:
            response = client.post(f"{scheme}://127.0.0.1:{server.port}/", content=b"fine")
        assert response.status_code == 200 and response.content == b"fine"
        abuser.join(timeout=20)
    finally:
        stop.set()
        abuser.join(timeout=5)
        with contextlib.suppress(OSError):
            raw.close()
    assert result and result[0].startswith(b"HTTP/1.1 408 "), result
    assert time.monotonic() - started < 10  # cut after the grace, not the 30 s body timeout
