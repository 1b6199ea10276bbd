"""WSGI apps (Flask, a bare callable) and ASGI 2 apps, served as ASGI 3 by backends/wsgi.py on
every backend, trio included: streamed bodies with backpressure both ways, the PEP 3333
environ, errors answered 500 once, and --interface detection on the command line."""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

import httpx
import pytest
from helpers import wsgi_apps
from helpers.server import ServerProcess

from asgi_core.backends.wsgi import ASGI2Middleware, WSGIMiddleware, detect_interface


def test_a_flask_app_answers_a_get_and_streams_a_generator(serve: Any) -> None:
    server = serve(WSGIMiddleware(wsgi_apps.flask_app))
    with httpx.Client(timeout=30) as client:
        assert client.get(server.url + "/").text == "hello from flask"
        streamed = client.get(server.url + "/stream")
        assert streamed.text == "".join(f"part {i}\n" for i in range(5))
        assert streamed.headers.get("transfer-encoding") == "chunked"
    with httpx.Client(http1=False, http2=True, timeout=30) as h2_client:
        response = h2_client.get(server.url + "/stream")
        assert (response.http_version, response.text[:6]) == ("HTTP/2", "part 0")


def test_djangos_wsgi_handler_streams_uploads_and_sends_a_file(serve: Any) -> None:
    pytest.importorskip("django")
    from helpers import framework_apps

    server = serve(WSGIMiddleware(wsgi_apps.django_wsgi_app()))
    with httpx.Client(timeout=30) as client:
        assert client.get(server.url + "/stream").text == "".join(f"part {i}\n" for i in range(5))
        assert client.post(server.url + "/upload", content=b"u" * 1_000_000).text == "1000000"
        assert client.get(server.url + "/file").content == framework_apps.FILE_BODY


def test_a_large_upload_is_read_in_pieces_through_wsgi_input(serve: Any) -> None:
    server = serve(WSGIMiddleware(wsgi_apps.flask_app))
    with httpx.Client(timeout=30) as client:
        size, pieces = client.post(server.url + "/upload", content=b"u" * 3_000_000).text.split()
    assert int(size) == 3_000_000
    assert int(pieces) >= 3_000_000 // 65536


def test_a_slow_wsgi_reader_stops_the_server_reading_the_upload(serve: Any) -> None:
    """Backpressure on the request: while the app sleeps after 1 KiB, the client cannot send
    the 48 MB body (the core stops reading once its buffer is full; loopback's socket buffers
    hold a few MB)."""
    wsgi_apps.first_piece_read.clear()
    wsgi_apps.go_on_reading.clear()
    server = serve(WSGIMiddleware(wsgi_apps.flask_app))
    body = 48_000_000
    with socket.create_connection((server.host, server.port), timeout=30) as sock:
        sock.sendall(b"POST /slow-upload HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Length: %d\r\n\r\n" % body)  # fmt: skip
        sock.setblocking(False)
        sent = 0
        deadline = time.monotonic() + 1.5
        chunk = b"u" * 65536
        while time.monotonic() < deadline:
            try:
                sent += sock.send(chunk)
            except BlockingIOError:
                time.sleep(0.01)
        wsgi_apps.go_on_reading.set()
        assert wsgi_apps.first_piece_read.is_set()
        assert sent < body // 3, sent  # held back by the server, not swallowed
        sock.setblocking(True)
        while sent < body:
            sent += sock.send(chunk[: min(len(chunk), body - sent)])
        answer = b""
        while not answer.endswith(b"48000000"):
            data = sock.recv(65536)
            assert data
            answer += data
    assert answer.startswith(b"HTTP/1.1 200")


def test_the_environ_has_remote_addr_after_the_proxy_and_script_name_from_root_path(
    serve: Any,
) -> None:
    server = serve(WSGIMiddleware(wsgi_apps.flask_app), root_path="/mount",
                   forwarded_allow_ips=("127.0.0.1",), proxy_headers=True)  # fmt: skip
    headers = {"X-Forwarded-For": "203.0.113.9", "X-Test": "yes"}
    with httpx.Client(timeout=30) as client:
        seen = client.get(server.url + "/environ?q=1", headers=headers).json()
    assert seen["REMOTE_ADDR"] == "203.0.113.9"
    assert seen["SCRIPT_NAME"] == "/mount"
    assert seen["PATH_INFO"] == "/environ"
    assert seen["QUERY_STRING"] == "q=1"
    assert seen["HTTP_X_TEST"] == "yes"
    assert seen["url"].endswith("/mount/environ?q=1")


def test_write_the_iterable_and_close_are_served_as_pep_3333_says(serve: Any) -> None:
    wsgi_apps.closed.clear()
    server = serve(WSGIMiddleware(wsgi_apps.raw_wsgi))
    with httpx.Client(timeout=30) as client:
        assert client.get(server.url).text == "written, then yielded"
    assert wsgi_apps.closed == [True]


def test_start_response_with_exc_info_replaces_the_head_not_yet_sent(serve: Any) -> None:
    server = serve(WSGIMiddleware(wsgi_apps.error_then_start))
    with httpx.Client(timeout=30) as client:
        response = client.get(server.url)
    assert (response.status_code, response.text) == (503, "replaced")


def test_a_wsgi_app_that_raises_is_answered_500_and_logged_once(
    serve: Any, caplog: pytest.LogCaptureFixture
) -> None:
    server = serve(WSGIMiddleware(wsgi_apps.flask_app))
    with caplog.at_level(logging.ERROR), httpx.Client(timeout=30) as client:
        assert client.get(server.url + "/raise").status_code == 500
        assert client.get(server.url + "/").status_code == 200  # the connection lives on
    failures = [r for r in caplog.records if "failed on purpose" in r.getMessage()
                or (r.exc_info and "failed on purpose" in str(r.exc_info[1]))]  # fmt: skip
    assert len(failures) == 1


def test_an_asgi2_app_is_served_as_asgi3(serve: Any) -> None:
    server = serve(ASGI2Middleware(wsgi_apps.ASGI2App))
    with httpx.Client(timeout=30) as client:
        assert client.get(server.url + "/two").text == "asgi2 /two"


def test_auto_tells_the_interface_by_the_signature() -> None:
    async def asgi3(scope: Any, receive: Any, send: Any) -> None: ...

    assert detect_interface(asgi3) == "asgi3"
    assert detect_interface(wsgi_apps.flask_app) == "wsgi"
    assert detect_interface(wsgi_apps.raw_wsgi) == "wsgi"
    assert detect_interface(wsgi_apps.ASGI2App) == "asgi2"
    assert detect_interface(lambda scope: None) == "asgi2"
    assert detect_interface(wsgi_apps.two_arguments) is None
    django = pytest.importorskip("django.core.handlers.wsgi")
    assert detect_interface(django.WSGIHandler.__call__.__get__(object())) == "wsgi"


@pytest.mark.parametrize("spec", ["helpers.wsgi_apps:flask_app", "helpers.wsgi_apps:ASGI2App"])
def test_the_command_serves_flask_and_asgi2_apps_detected(
    cli_backend: list[str], spec: str
) -> None:
    args = [spec, "--port", "0", "--wsgi-threads", "2", "--root-path", "/mount"]
    with ServerProcess(*cli_backend, *args) as server:
        url = f"http://{server.host}:{server.port}"  # the root path is prepended, as uvicorn's
        response = httpx.get(url + "/stream", timeout=30)
        assert response.status_code == 200
        assert response.text.startswith("part 0" if "flask" in spec else "asgi2 /mount/stream")
        if "flask" in spec:
            seen = httpx.get(url + "/environ", timeout=30).json()
            assert (seen["SCRIPT_NAME"], seen["PATH_INFO"]) == ("/mount", "/environ")
            assert seen["REMOTE_ADDR"] == "127.0.0.1"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["helpers.wsgi_apps:flask_app", "--interface", "asgi3"], "looks like --interface wsgi"),
        (["helpers.wsgi_apps:two_arguments"], "name it with --interface"),
        (["helpers.wsgi_apps:flask_app", "--wsgi-threads", "0"], "--wsgi-threads must be"),
    ],
)
def test_a_wrong_interface_is_one_line_and_exit_2(args: list[str], says: str) -> None:
    server = ServerProcess(*args, "--port", "0").start(wait_ready=False)
    assert server.wait() == 2
    lines = server.output().strip().splitlines()
    assert len(lines) == 1 and says in lines[0], server.output()
