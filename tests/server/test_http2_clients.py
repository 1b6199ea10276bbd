"""HTTP/2 end to end with real clients (httpx, curl, h2load) on real sockets, every backend.

Cleartext: prior knowledge (RFC 9113 section 3.3) and the h2c upgrade (RFC 7540 section 3.2);
and over TLS, where ALPN chooses h2 (RFC 9113 section 3.2).
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
import subprocess
import threading
from typing import Any

import anyio
import h2.config
import h2.connection
import httpx
import pytest
from helpers import apps
from helpers.tls import Certificates, client_context, tls_options
from hyperframe.frame import DataFrame, Frame, GoAwayFrame

needs_curl = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
needs_h2load = pytest.mark.skipif(
    shutil.which("h2load") is None, reason="h2load (nghttp2-client) is not installed"
)


async def scope_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers with the scope's protocol facts as JSON, after reading the whole body."""
    if scope["type"] != "http":
        return
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    facts = {
        "http_version": scope["http_version"],
        "method": scope["method"],
        "path": scope["path"],
        "headers": [[k.decode(), v.decode()] for k, v in scope["headers"]],
        "extensions": sorted(scope["extensions"]),
        "body_size": size,
    }
    body = json.dumps(facts).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


async def big_response(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A 10 MiB body in 64 KiB pieces: every byte and the END_STREAM must arrive."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200})
    piece = b"0123456789abcdef" * 4096
    for _ in range(160):
        await send({"type": "http.response.body", "body": piece, "more_body": True})
    await send({"type": "http.response.body", "body": b"end"})


async def trailers_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "trailers": True})
    await send({"type": "http.response.body", "body": b"with trailers"})
    await send({"type": "http.response.trailers", "headers": [(b"x-checksum", b"42")]})


def curl(url: str, *options: str) -> tuple[bytes, bytes]:
    """``curl -sS`` with ``options`` on ``url``: the body, and the HTTP version it spoke."""
    result = subprocess.run(
        ["curl", "-sS", *options, "-w", "\\n%{http_version}", url],
        capture_output=True, timeout=30, check=True,
    )  # fmt: skip
    body, version = result.stdout.rsplit(b"\n", 1)
    return body, version


def h2_client() -> httpx.Client:
    return httpx.Client(http1=False, http2=True, timeout=30)


def test_httpx_prior_knowledge_gets_an_http_2_scope(serve: Any) -> None:
    """RFC 9113 section 3.3: the preface on a cleartext port; ASGI scope http_version "2"."""
    server = serve(scope_app)
    with h2_client() as client:
        response = client.post(server.url + "/a%20b?x=1", content=b"q" * 100_000)
    assert response.http_version == "HTTP/2"
    facts = response.json()
    assert facts["http_version"] == "2"
    assert facts["method"] == "POST"
    assert facts["path"] == "/a b"
    assert facts["body_size"] == 100_000
    assert facts["headers"][0] == ["host", f"127.0.0.1:{server.port}"]
    assert "http.response.trailers" in facts["extensions"]
    assert response.headers["server"] == "asgi-core"


def test_many_concurrent_streams_on_one_connection(serve: Any) -> None:
    """Streams run concurrently: 60 uploads echoed at once over one connection (more than
    the 100 KiB a stream window and the connection window hold at a time)."""
    server = serve(apps.echo)

    async def run() -> set[tuple[int, int, str]]:
        async with httpx.AsyncClient(http1=False, http2=True, timeout=30) as client:
            responses = await asyncio.gather(
                *[client.post(f"{server.url}/{i}", content=bytes([i]) * 100_000) for i in range(60)]
            )
            for i, response in enumerate(responses):
                assert response.content == bytes([i]) * 100_000
            return {(r.status_code, len(r.content), r.http_version) for r in responses}

    assert asyncio.run(run()) == {(200, 100_000, "HTTP/2")}


def test_large_response_arrives_whole_with_its_end(serve: Any) -> None:
    """10 MiB through flow control: every byte, then END_STREAM (the body is complete)."""
    server = serve(big_response)
    with h2_client() as client:
        response = client.get(server.url)
    assert len(response.content) == 160 * 65536 + 3
    assert response.content.endswith(b"end")


def test_one_failing_stream_leaves_the_others_alone(serve: Any) -> None:
    """A stream whose app raises gets 500; the connection and its other streams go on."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == "/boom":
            raise RuntimeError("boom")
        await apps.hello(scope, receive, send)

    server = serve(app)
    with h2_client() as client:
        assert client.get(server.url + "/boom").status_code == 500
        response = client.get(server.url + "/fine")
        assert response.status_code == 200
        assert response.text == "Hello, world!"


@needs_curl
@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "streamed"])
def test_a_413_for_an_oversized_upload_reaches_httpx_and_curl(
    serve: Any, tmp_path: Any, declared: bool
) -> None:
    """RFC 9113 section 8.1: a server may answer before the request is complete. The 413
    ends its stream and the rest of the body is read and dropped, so clients still sending
    read the answer (with a reset at once, curl exited 92 and httpx raised)."""
    server = serve(apps.read_then_echo, max_request_body_size=100_000)
    upload = b"u" * 150_000
    with h2_client() as client:
        content = (
            upload if declared else iter([upload[i : i + 16384] for i in range(0, 150_000, 16384)])
        )
        response = client.post(server.url + "/", content=content)
        assert response.status_code == 413
        assert client.get(server.url + "/").status_code == 200  # the connection goes on
    body_file = tmp_path / "upload.bin"
    body_file.write_bytes(upload)
    options = ["--http2-prior-knowledge", "--data-binary", f"@{body_file}", "-o", "/dev/null"]
    if not declared:
        options += ["-H", "Transfer-Encoding: chunked"]  # curl then streams it without a length
    result = subprocess.run(
        ["curl", "-sS", "-w", "%{http_code}", *options, server.url + "/"],
        capture_output=True, timeout=30,
    )  # fmt: skip
    assert (result.returncode, result.stdout) == (0, b"413"), result.stderr


def test_curl_prior_knowledge_and_trailers(serve: Any) -> None:
    server = serve(trailers_app)
    body, version = curl(server.url, "--http2-prior-knowledge")
    assert version == b"2"
    assert body == b"with trailers"


@needs_curl
def test_curl_h2c_upgrade_with_a_body(serve: Any) -> None:
    """RFC 7540 section 3.2: curl --http2 on http:// asks for Upgrade: h2c."""
    server = serve(scope_app)
    body, version = curl(server.url + "/up", "--http2", "-d", "hello")
    assert version == b"2"
    facts = json.loads(body)
    assert facts["http_version"] == "2"
    assert facts["body_size"] == 5
    assert facts["method"] == "POST"


@needs_h2load
def test_h2load_many_streams_without_errors(serve: Any) -> None:
    """h2load: 4 connections x 50 concurrent streams, 4000 requests, none failed."""
    server = serve(apps.hello)
    result = subprocess.run(
        ["h2load", "-n", "4000", "-c", "4", "-m", "50", server.url + "/"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    summary = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                        r"(\d+) failed, (\d+) errored", result.stdout)  # fmt: skip
    assert summary is not None, result.stdout
    total, _, done, succeeded, failed, errored = map(int, summary.groups())
    assert (total, done, succeeded, failed, errored) == (4000, 4000, 4000, 0, 0)
    assert "status codes: 4000 2xx" in result.stdout


async def endless_body(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Streams small pieces until the client is gone (send() raises OSError)."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200})
    while True:
        await send({"type": "http.response.body", "body": b"x" * 100, "more_body": True})
        await anyio.sleep(0.001)


def test_a_reset_connection_with_many_streams_writes_nothing_more(
    serve: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A client resets its connection while 50 streams are answering: the server stops
    writing to it. asyncio logs "socket.send() raised exception." from the fifth write to a
    transport that is gone; every write after the reset must be skipped, not attempted."""
    server = serve(endless_body)
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    client.initiate_connection()
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        for stream_id in range(1, 101, 2):
            client.send_headers(stream_id, [(":method", "GET"), (":path", "/"),
                                            (":scheme", "http"), (":authority", "h")],
                                end_stream=True)  # fmt: skip
        sock.sendall(client.data_to_send())
        received = 0
        while received < 64 * 1024:  # every stream is answering
            received += len(sock.recv(65536))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    with socket.create_connection((server.host, server.port), timeout=10) as probe:
        probe.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")  # served after it
        assert probe.recv(100).startswith(b"HTTP/1.1 200")
    threading.Event().wait(0.5)
    assert not [r for r in caplog.records if "raised exception" in r.getMessage()]


def test_graceful_shutdown_sends_goaway_and_finishes_in_flight_streams(serve: Any) -> None:
    """RFC 9113 section 6.8: stopping the server sends GOAWAY; a stream in flight still gets
    its whole response, then the connection closes."""
    started = threading.Event()

    async def slow(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        started.set()
        await send({"type": "http.response.start", "status": 200})
        for _ in range(5):
            await anyio.sleep(0.05)
            await send({"type": "http.response.body", "body": b"tick", "more_body": True})
        await send({"type": "http.response.body", "body": b"done"})

    server = serve(slow, graceful_timeout=10)
    client = h2.connection.H2Connection(h2.config.H2Configuration(header_encoding=None))
    client.initiate_connection()
    client.send_headers(1, [(b":method", b"GET"), (b":scheme", b"http"),
                            (b":authority", b"t"), (b":path", b"/")], end_stream=True)  # fmt: skip
    frames: list[Frame] = []
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(client.data_to_send())
        assert started.wait(10)
        stopper = threading.Thread(target=server.stop)
        stopper.start()
        received = b""
        while chunk := sock.recv(65536):  # until the server closes
            received += chunk
        stopper.join(30)
    while len(received) >= 9:  # the frames as written (an h2 client stops reading at GOAWAY)
        frame, length = Frame.parse_frame_header(memoryview(received[:9]))
        frame.parse_body(memoryview(received[9 : 9 + length]))
        frames.append(frame)
        received = received[9 + length :]
    [goaway] = [f for f in frames if isinstance(f, GoAwayFrame)]
    assert goaway.error_code == 0 and goaway.last_stream_id == 1
    data = [f for f in frames if isinstance(f, DataFrame) and f.stream_id == 1]
    assert b"".join(f.data for f in data) == b"tick" * 5 + b"done"
    assert "END_STREAM" in data[-1].flags


# -- over TLS, chosen by ALPN (RFC 9113 section 3.2) ------------------------------------------


@needs_curl
def test_curl_http2_over_tls(serve: Any, certs: Certificates) -> None:
    """curl --http2 on https:// negotiates h2 by ALPN; the scope says http_version 2."""
    server = serve(scope_app, **tls_options(certs))
    body, version = curl(server.url + "/secure", "--http2", "--cacert", certs.ca_file, "-d", "tls")
    assert version == b"2"
    facts = json.loads(body)
    assert facts["http_version"] == "2"
    assert facts["body_size"] == 3
    assert "tls" in facts["extensions"]


def test_httpx_many_streams_over_tls(serve: Any, certs: Certificates) -> None:
    """Concurrent streams through TLS (the driver's encryption under flow control)."""
    server = serve(apps.echo, **tls_options(certs))

    async def run() -> set[tuple[int, str]]:
        context = client_context(certs)
        async with httpx.AsyncClient(http2=True, verify=context, timeout=30) as client:
            responses = await asyncio.gather(
                *[client.post(f"{server.url}/{i}", content=bytes([i]) * 50_000) for i in range(30)]
            )
        for i, response in enumerate(responses):
            assert response.content == bytes([i]) * 50_000
        return {(r.status_code, r.http_version) for r in responses}

    assert asyncio.run(run()) == {(200, "HTTP/2")}


@needs_h2load
def test_h2load_over_tls_without_errors(serve: Any, certs: Certificates) -> None:
    """h2load negotiates h2 by ALPN: 2 connections x 20 streams, 1000 requests, none failed."""
    server = serve(apps.hello, **tls_options(certs))
    result = subprocess.run(
        ["h2load", "-n", "1000", "-c", "2", "-m", "20", server.url + "/"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert "Application protocol: h2" in result.stdout
    assert "1000 succeeded, 0 failed, 0 errored" in result.stdout, result.stdout


def test_websocket_over_http2_on_a_real_socket(serve: Any) -> None:
    """RFC 8441: extended CONNECT on a real connection; a 1 MiB message each way goes through
    both flow-control windows, and the close handshake ends the stream."""
    import h2.events
    import wsproto.connection as wsconn
    import wsproto.events as wsevents

    server = serve(apps.ws_echo)
    client = h2.connection.H2Connection(h2.config.H2Configuration(header_encoding=None))
    client.initiate_connection()
    ws = wsconn.Connection(wsconn.ConnectionType.CLIENT)
    outgoing = bytearray(ws.send(wsevents.BytesMessage(b"m" * 1_048_576)))
    echoed: list[Any] = []
    status = b""
    ended = False
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(client.data_to_send())
        for _ in range(10_000):
            data = sock.recv(65536)
            assert data, "the server closed the connection"
            for event in client.receive_data(data):
                if isinstance(event, h2.events.RemoteSettingsChanged) and not status:
                    assert client.remote_settings.enable_connect_protocol == 1
                    client.send_headers(1, [(b":method", b"CONNECT"), (b":protocol", b"websocket"),
                                            (b":scheme", b"http"), (b":path", b"/chat"),
                                            (b":authority", b"t"),
                                            (b"sec-websocket-version", b"13")])  # fmt: skip
                    status = b"sent"
                elif isinstance(event, h2.events.ResponseReceived):
                    status = dict(event.headers)[b":status"]
                elif isinstance(event, h2.events.DataReceived):
                    client.acknowledge_received_data(event.flow_controlled_length, 1)
                    if event.data:  # the empty DATA that carries END_STREAM has no frames
                        ws.receive_data(event.data)
                    for ws_event in ws.events():
                        if isinstance(ws_event, wsevents.CloseConnection):
                            assert ws_event.code == 1000  # the answer to our close
                            client.end_stream(1)
                        else:
                            echoed.append(ws_event)
                    if sum(len(e.data) for e in echoed) == 1_048_576 and ws.state.name == "OPEN":
                        client.send_data(1, ws.send(wsevents.CloseConnection(code=1000)))
                elif isinstance(event, h2.events.StreamEnded):
                    ended = True
            while status == b"200" and outgoing:  # as much as the windows allow
                size = min(client.local_flow_control_window(1), client.max_outbound_frame_size)
                if size <= 0:
                    break
                client.send_data(1, bytes(outgoing[:size]))
                del outgoing[:size]
            sock.sendall(client.data_to_send())
            if ended:
                break
    assert status == b"200"
    assert b"".join(e.data for e in echoed) == b"m" * 1_048_576
    assert ended
