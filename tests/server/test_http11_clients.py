"""HTTP/1.1 end to end with real clients (httpx) on real sockets, on every backend."""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

import httpx
import pytest
from helpers import apps
from helpers.wire import parse_responses


def raw_exchange(server: Any, data: bytes, *, expect: int = 1, head: int = 0) -> list:
    """Send raw bytes, read until ``expect`` final responses arrived (or the server closed)."""
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(data)
        received = b""
        while True:
            responses, _ = parse_responses(received, head_requests=head)
            if len([r for r in responses if r.status >= 200]) >= expect:
                return responses
            chunk = sock.recv(65536)
            if not chunk:
                return parse_responses(received, head_requests=head)[0]
            received += chunk


def test_get_with_httpx(serve: Any) -> None:
    server = serve(apps.hello)
    response = httpx.get(server.url + "/")
    assert response.status_code == 200
    assert response.text == "Hello, world!"
    assert response.headers["content-length"] == "13"
    assert response.headers["server"] == "asgi-core"
    assert "date" in response.headers


def test_keep_alive_reuses_one_connection(serve: Any) -> None:
    server = serve(apps.hello)
    ports = set()
    with httpx.Client() as client:
        for _ in range(5):
            response = client.get(server.url, extensions={})
            assert response.status_code == 200
            stream = response.extensions["network_stream"]
            ports.add(stream.get_extra_info("client_addr")[1])
    assert len(ports) == 1


def test_streamed_upload_is_echoed_chunked(serve: Any) -> None:
    server = serve(apps.echo)
    parts = [b"x" * 100_000, b"y" * 100_000, b"z"]

    def body() -> Any:
        yield from parts

    response = httpx.post(server.url + "/up%20load", content=body())
    assert response.status_code == 200
    assert response.headers["transfer-encoding"] == "chunked"
    assert response.headers["x-path"] == "/up load"
    assert response.content == b"".join(parts)


def test_large_body_both_ways_is_intact(serve: Any) -> None:
    server = serve(apps.read_then_echo)
    payload = bytes(range(256)) * 40_000  # 10 MiB
    response = httpx.post(server.url, content=payload, timeout=30)
    assert response.content == payload


def test_head_request_gets_headers_only(serve: Any) -> None:
    server = serve(apps.hello)
    response = httpx.head(server.url)
    assert response.status_code == 200
    assert response.headers["content-length"] == "13"
    assert response.content == b""


def test_pipelined_requests_are_answered_in_order(serve: Any) -> None:
    server = serve(apps.echo)
    requests = b"".join(
        b"POST /%d HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\n%d" % (i, i) for i in range(10)
    )
    responses = raw_exchange(server, requests, expect=10)
    assert [r.body for r in responses] == [b"%d" % i for i in range(10)]
    assert [r.header(b"x-path") for r in responses] == [b"/%d" % i for i in range(10)]


def test_expect_100_continue_over_a_real_socket(serve: Any) -> None:
    server = serve(apps.echo)
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
        )
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n")
        sock.sendall(b"hello")
        data = b""
        while b"0\r\n\r\n" not in data:
            data += sock.recv(65536)
    (response,) = parse_responses(data)[0]
    assert response.body == b"hello"


def test_trailers_reach_a_client_that_asked_for_them(serve: Any) -> None:
    async def app(scope: dict, receive: Any, send: Any) -> None:
        assert "http.response.trailers" in scope["extensions"]
        await send({"type": "http.response.start", "status": 200, "headers": [], "trailers": True})
        await send({"type": "http.response.body", "body": b"payload"})
        await send({"type": "http.response.trailers", "headers": [(b"grpc-status", b"0")]})

    server = serve(app)
    (response,) = raw_exchange(server, b"GET / HTTP/1.1\r\nHost: h\r\nTE: trailers\r\n\r\n")
    assert response.body == b"payload"
    assert response.trailers == [(b"grpc-status", b"0")]


def test_http10_client_is_served_and_closed(serve: Any) -> None:
    server = serve(apps.hello)
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")
    assert data.endswith(b"Hello, world!")


def test_root_path_and_lifespan_state_reach_the_scope(serve: Any) -> None:
    server = serve(apps.lifespan_state, root_path="/mounted", lifespan="on")
    response = httpx.get(server.url + "/x")
    assert response.text == "from lifespan"

    seen: list[dict] = []

    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            seen.append(scope)
        await apps.hello(scope, receive, send)

    server = serve(app, root_path="/mounted")
    httpx.get(server.url + "/x")
    assert seen[0]["path"] == "/mounted/x" and seen[0]["root_path"] == "/mounted"
    assert seen[0]["client"][0] == "127.0.0.1"
    assert seen[0]["server"] == (server.host, server.port)


def test_concurrent_clients_are_served_concurrently(serve: Any) -> None:
    server = serve(apps.slow)

    async def main() -> list[int]:
        async with httpx.AsyncClient(timeout=10) as client:
            results = await asyncio.gather(
                *(client.get(server.url + "/?seconds=0.5") for _ in range(20))
            )
        return [r.status_code for r in results]

    loop = asyncio.new_event_loop()
    try:
        started = loop.time()
        assert loop.run_until_complete(main()) == [200] * 20
        assert loop.time() - started < 5  # 20 x 0.5 s would be 10 s if served one by one
    finally:
        loop.close()


def test_pathsend_streams_a_file_as_the_body(serve: Any, tmp_path: Any) -> None:
    # ASGI extensions, "Path Send": the server sends the file's content as the body.
    payload = bytes(range(256)) * 4096  # 1 MiB, more than one read
    path = tmp_path / "payload.bin"
    path.write_bytes(payload)

    async def app(scope: dict, receive: Any, send: Any) -> None:
        assert "http.response.pathsend" in scope["extensions"]
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", b"%d" % len(payload))],
            }
        )
        await send({"type": "http.response.pathsend", "path": str(path)})

    server = serve(app)
    response = httpx.get(server.url)
    assert response.status_code == 200
    assert response.content == payload


def test_pathsend_of_a_missing_file_gives_500(serve: Any, tmp_path: Any) -> None:
    async def app(scope: dict, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.pathsend", "path": str(tmp_path / "missing")})

    server = serve(app)
    assert httpx.get(server.url).status_code == 500


def test_access_log_has_one_line_per_response(serve: Any, caplog: pytest.LogCaptureFixture) -> None:
    server = serve(apps.hello, access_log=True)
    with caplog.at_level(logging.INFO, logger="asgi_core.access"):
        httpx.get(server.url + "/path?q=1")
    lines = [r.getMessage() for r in caplog.records if r.name == "asgi_core.access"]
    assert len(lines) == 1
    assert '"GET /path?q=1 HTTP/1.1" 200' in lines[0]
    assert lines[0].startswith("127.0.0.1:")
