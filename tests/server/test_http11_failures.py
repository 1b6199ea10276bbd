"""Bad clients and bad apps on real sockets: a clear answer for them, service for everyone else."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import anyio
import httpx
import pytest
from helpers import apps
from helpers.backpressure import (
    UPLOAD_LIMIT,
    chunks_sent_while_unread,
    reads_once_released,
    sends_without_end,
    upload_until_stalled,
)
from helpers.wire import parse_responses


def read_all(sock: socket.socket) -> bytes:
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def send_raw(server: Any, data: bytes) -> bytes:
    """Send bytes, then read until the server closes."""
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(data)
        return read_all(sock)


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"NOT HTTP\r\n\r\n", 400),
        (
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked"
            b"\r\n\r\n0\r\n\r\n",
            400,
        ),
        (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999\r\n\r\n", 413),
        (b"GET / HTTP/1.1\r\nHost: h\r\nX: " + b"a" * 70_000 + b"\r\n\r\n", 431),
    ],
    ids=["garbage", "smuggling", "huge-length", "huge-head"],
)
def test_bad_requests_get_a_status_and_a_close_while_others_are_served(
    serve: Any, request_bytes: bytes, status: int
) -> None:
    server = serve(apps.hello)
    with httpx.Client() as good_client:
        assert good_client.get(server.url).status_code == 200
        data = send_raw(server, request_bytes)
        (response,) = parse_responses(data)[0]
        assert response.status == status
        assert response.header(b"connection") == b"close"
        # The same keep-alive client is still served.
        assert good_client.get(server.url).status_code == 200


def test_app_exception_before_response_gives_500_and_is_logged(
    serve: Any, caplog: pytest.LogCaptureFixture
) -> None:
    async def app(scope: dict, receive: Any, send: Any) -> None:
        raise RuntimeError("kaboom")

    server = serve(app)
    response = httpx.get(server.url)
    assert response.status_code == 500
    assert response.text == "Internal Server Error"
    assert any("kaboom" in str(r.exc_info) for r in caplog.records if r.exc_info)


def test_app_exception_mid_response_cuts_the_connection(serve: Any) -> None:
    async def app(scope: dict, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        raise RuntimeError("kaboom")

    server = serve(app)
    # The client sees a cut chunked body, not a fake complete response.
    with pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked read"):
        httpx.get(server.url)


def test_invalid_message_raises_in_the_app_and_the_client_gets_500(serve: Any) -> None:
    errors: list[BaseException] = []

    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"x-bad", b"a\r\nInjected: yes")],
                }
            )
        except Exception as exc:
            errors.append(exc)

    server = serve(app)
    response = httpx.get(server.url)
    assert response.status_code == 500
    assert "injected" not in response.headers
    deadline = time.monotonic() + 5
    while not errors and time.monotonic() < deadline:  # the 500 may beat the app's except
        time.sleep(0.01)
    assert "control character" in str(errors[0])


def test_disconnect_reaches_a_long_polling_app_and_send_then_raises_oserror(serve: Any) -> None:
    events: list[Any] = []
    done = threading.Event()

    async def app(scope: dict, receive: Any, send: Any) -> None:
        await receive()  # the (empty) body
        events.append(await receive())  # waits until the client leaves
        try:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"late"})
        except OSError as exc:
            events.append(exc)
        done.set()

    server = serve(app)
    sock = socket.create_connection((server.host, server.port))
    sock.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    time.sleep(0.2)
    sock.close()
    assert done.wait(10)
    assert events[0] == {"type": "http.disconnect"}
    assert isinstance(events[1], OSError)


def test_client_dropping_mid_upload_disconnects_the_app(serve: Any) -> None:
    received: list[dict] = []
    done = threading.Event()

    async def app(scope: dict, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            received.append(message)
            if message["type"] == "http.disconnect":
                break
        done.set()

    server = serve(app)
    sock = socket.create_connection((server.host, server.port))
    sock.sendall(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n" + b"a" * 10)
    time.sleep(0.2)
    sock.close()
    assert done.wait(10)
    assert received[-1] == {"type": "http.disconnect"}
    assert b"".join(m.get("body", b"") for m in received) == b"a" * 10


def test_slow_client_is_cut_off_with_408(serve: Any) -> None:
    server = serve(apps.hello, request_head_timeout=0.5)
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n")
        started = time.monotonic()
        for _ in range(3):
            time.sleep(0.1)
            sock.sendall(b"X-Slow: 1\r\n")
        data = read_all(sock)
    assert data.startswith(b"HTTP/1.1 408 ")
    assert time.monotonic() - started < 5


def test_idle_keep_alive_connection_is_closed_by_the_server(serve: Any) -> None:
    server = serve(apps.hello, keep_alive_timeout=0.3)
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        started = time.monotonic()
        data = read_all(sock)  # the response, then EOF once the idle timer fires
    assert data.startswith(b"HTTP/1.1 200 OK")
    assert 0.2 < time.monotonic() - started < 5


def test_a_connection_that_never_sends_is_closed_at_the_keep_alive_timeout(
    serve: Any,
) -> None:
    """Nothing is made for it until its first bytes, but the keep-alive wait still bounds it;
    one that sends late within it is served."""
    server = serve(apps.hello, keep_alive_timeout=0.5)
    address = (server.host, server.port)
    with socket.create_connection(address, timeout=10) as silent:
        started = time.monotonic()
        assert read_all(silent) == b""  # EOF, no bytes: it never asked for anything
        assert 0.4 < time.monotonic() - started < 5
    with socket.create_connection(address, timeout=10) as late:
        time.sleep(0.2)
        late.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        assert late.recv(4096).startswith(b"HTTP/1.1 200 OK")


def test_app_that_does_not_read_the_upload_stops_the_server_reading(serve: Any) -> None:
    """Read backpressure: the kernel buffers fill and the client's send would block."""
    release = threading.Event()
    server = serve(reads_once_released(release), max_buffered_body_size=64 * 1024)
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sent = upload_until_stalled(sock, total=64 * 1024 * 1024)
        assert sent < UPLOAD_LIMIT, f"the server kept reading: {sent} bytes accepted"
        release.set()


def test_app_blocked_on_a_client_that_does_not_read(serve: Any) -> None:
    """Write backpressure: send() waits while the transport is full; memory stays bounded."""
    sent_chunks: list[int] = []
    server = serve(sends_without_end(sent_chunks))
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        stalled_at, later = chunks_sent_while_unread(sock, sent_chunks)
        assert later == stalled_at, "send() kept returning for an unread response"
        assert stalled_at * 65536 < 64 * 1024 * 1024


def test_client_dropping_mid_response_stops_the_streaming_app(serve: Any) -> None:
    outcome: list[BaseException] = []
    done = threading.Event()

    async def app(scope: dict, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        try:
            for _ in range(100_000):
                await send({"type": "http.response.body", "body": b"x" * 1024, "more_body": True})
                await anyio.sleep(0.001)
        except OSError as exc:
            outcome.append(exc)
        finally:
            done.set()

    server = serve(app)
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK")
    assert done.wait(10), "the app kept streaming to a client that left"
    assert outcome and isinstance(outcome[0], OSError)
