"""TLS on the wire, on every backend, with a client that decides how bytes are cut: a handshake
in small pieces, a request in the same flight as the client's Finished, close_notify both ways,
a forged record, and a shutdown while handshakes are still open."""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
import time
from typing import Any

import pytest
from helpers import apps
from helpers.tls import Certificates, client_context, tls_options

Scope = dict[str, Any]


class WireClient:
    """A TLS client over memory BIOs on a blocking socket."""

    def __init__(self, sock: socket.socket, context: ssl.SSLContext) -> None:
        self.sock = sock
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_hostname="127.0.0.1")

    def flush(self, piece: int | None = None) -> None:
        """Send what the client's TLS wrote, ``piece`` bytes per send."""
        data = self.outgoing.read()
        step = piece or max(1, len(data))
        for start in range(0, len(data), step):
            self.sock.sendall(data[start : start + step])

    def handshake(self, piece: int | None = None, *, send_finished: bool = True) -> None:
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self.flush(piece)
                self.receive()
        if send_finished:
            self.flush(piece)

    def receive(self) -> None:
        data = self.sock.recv(65536)
        if data:
            self.incoming.write(data)
        else:
            self.incoming.write_eof()

    def request(self, data: bytes) -> None:
        self.tls.write(data)
        self.flush()

    def read_all(self) -> tuple[bytes, bool]:
        """Plaintext until the server closes, and whether it closed with close_notify."""
        received = b""
        while True:
            try:
                chunk = self.tls.read(65536)
            except ssl.SSLWantReadError:
                self.receive()
                continue
            except ssl.SSLEOFError:
                return received, False
            if not chunk:
                return received, True
            received += chunk


def connect(server: Any, certs: Certificates) -> tuple[socket.socket, WireClient]:
    sock = socket.create_connection((server.host, server.port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock, WireClient(sock, client_context(certs))


def wait_closed(sock: socket.socket, deadline: float) -> bool:
    """Whether the server closed ``sock`` before ``deadline`` (whatever it sent first)."""
    while True:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            if sock.recv(65536) == b"":
                return True
        except TimeoutError:
            return False
        except OSError:  # reset: closed all the same
            return True


def no_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_handshake_in_small_pieces_then_request_with_the_finished(
    serve: Any, certs: Certificates
) -> None:
    """RFC 8446 section 5.1: handshake messages may be cut anywhere; the request may share a
    read with the client's Finished (RFC 8446 section 2), and is answered."""
    server = serve(apps.hello, **tls_options(certs))
    sock, client = connect(server, certs)
    with sock:
        client.handshake(piece=5, send_finished=False)
        client.request(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        response, _ = client.read_all()
    assert response.startswith(b"HTTP/1.1 200 ") and response.endswith(b"Hello, world!")


def test_the_server_closes_with_close_notify(serve: Any, certs: Certificates) -> None:
    """RFC 8446 section 6.1: the server sends close_notify before closing, so the client can
    tell the end of the response from a truncation."""
    server = serve(apps.hello, **tls_options(certs))
    sock, client = connect(server, certs)
    with sock:
        client.handshake()
        client.request(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        response, clean = client.read_all()
    assert response.endswith(b"Hello, world!")
    assert clean, "the connection ended without close_notify"


def test_the_clients_close_notify_is_a_disconnect(serve: Any, certs: Certificates) -> None:
    """RFC 8446 section 6.1 with ASGI HTTP: a client's close_notify means it has gone, as an
    EOF does on plain TCP: the app waiting in receive() gets http.disconnect."""
    messages: list[dict[str, Any]] = []
    requested = threading.Event()
    disconnected = threading.Event()

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        messages.append(await receive())
        requested.set()
        messages.append(await receive())  # waits until the client goes
        disconnected.set()

    server = serve(app, **tls_options(certs))
    sock, client = connect(server, certs)
    with sock:
        client.handshake()
        client.request(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert requested.wait(10)
        with contextlib.suppress(ssl.SSLWantReadError):
            client.tls.unwrap()  # our close_notify; the TCP connection stays open
        client.flush()
        assert disconnected.wait(10), "the app never heard that the client left"
        assert wait_closed(sock, time.monotonic() + 10)
    assert [m["type"] for m in messages] == ["http.request", "http.disconnect"]


def test_a_forged_record_closes_only_that_connection_quietly(
    serve: Any, certs: Certificates, caplog: pytest.LogCaptureFixture
) -> None:
    """RFC 8446 section 5.2: a record that fails to decrypt is fatal for its connection; the
    server closes it without logging above debug and keeps serving others."""
    server = serve(apps.hello, **tls_options(certs))
    sock, client = connect(server, certs)
    with sock:
        client.handshake()
        sock.sendall(b"\x17\x03\x03\x00\x20" + b"\x00" * 32)
        assert wait_closed(sock, time.monotonic() + 10)
    sock, client = connect(server, certs)
    with sock:
        client.handshake()
        client.request(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert client.read_all()[0].endswith(b"Hello, world!")
    assert no_warnings(caplog) == []


def test_shutdown_closes_connections_still_in_their_handshake(
    serve: Any, certs: Certificates, caplog: pytest.LogCaptureFixture
) -> None:
    """A graceful shutdown has no request of a half-open TLS connection to wait for: it closes
    them (silent ones and one halfway through its ClientHello) without waiting for the
    handshake timeout."""
    server = serve(apps.hello, **tls_options(certs, tls_handshake_timeout=60))
    silent = [socket.create_connection((server.host, server.port), timeout=10) for _ in range(20)]
    half, client = connect(server, certs)
    with contextlib.suppress(ssl.SSLWantReadError):
        client.tls.do_handshake()
    hello = client.outgoing.read()
    half.sendall(hello[: len(hello) // 2])
    try:
        time.sleep(0.3)  # the server accepts them and reads the half ClientHello
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 10
        deadline = time.monotonic() + 5
        assert all(wait_closed(sock, deadline) for sock in [*silent, half])
    finally:
        for sock in [*silent, half]:
            sock.close()
    assert no_warnings(caplog) == []
