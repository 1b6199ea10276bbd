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


def _streaming_app(cut: list[str]) -> Any:
    """``/big`` streams without end; a WebSocket is sent to without end; else a small answer.
    Records ``cut`` when a send raises ClientDisconnected (an OSError)."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
            try:
                while True:
                    await send({"type": "websocket.send", "bytes": b"x" * 65536})
            except OSError:
                cut.append("websocket")
            return
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        if scope["path"] != "/big":
            await send({"type": "http.response.body", "body": b"small"})
            return
        try:
            while True:
                await send({"type": "http.response.body", "body": b"x" * 65536, "more_body": True})
        except OSError:
            cut.append("http")

    return app


WEBSOCKET_HANDSHAKE = (
    b"GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


@pytest.mark.parametrize("tls", [False, True], ids=["cleartext", "tls"])
@pytest.mark.parametrize(
    ("request_bytes", "kind"),
    [(b"GET /big HTTP/1.1\r\nHost: h\r\n\r\n", "http"), (WEBSOCKET_HANDSHAKE, "websocket")],
    ids=["response", "websocket"],
)
def test_a_client_that_does_not_read_is_cut_and_its_app_told(
    serve: Any, certs: Certificates, tls: bool, request_bytes: bytes, kind: str
) -> None:
    """Kestrel's MinResponseDataRate: the app's send() raises ClientDisconnected once the
    peer has taken less than the rate while writes were blocked; others are served."""
    cut: list[str] = []
    options: dict[str, Any] = {"min_response_rate": 10_000, "min_response_rate_grace": 1}
    if tls:
        options.update(ssl_certfile=certs.certfile, ssl_keyfile=certs.keyfile)
    server = serve(_streaming_app(cut), **options)
    context = ssl.create_default_context(cafile=certs.ca_file)
    raw = socket.create_connection((server.host, server.port), timeout=10)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock = context.wrap_socket(raw, server_hostname="127.0.0.1") if tls else raw
    try:
        sock.sendall(request_bytes)  # and never read
        scheme = "https" if tls else "http"
        with httpx.Client(verify=context, timeout=10) as client:
            assert client.get(f"{scheme}://127.0.0.1:{server.port}/").content == b"small"
        deadline = time.monotonic() + 20
        while not cut and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        with contextlib.suppress(OSError):
            sock.close()
    assert cut == [kind]
