"""The access log and the log flags: format atoms and escaping (unit), then real lines on every
backend for normal, cut and refused responses, the server's own answers (413, 431, 408, 500,
503) and WebSockets; ``--log-format json`` and ``--log-config`` through the command."""

from __future__ import annotations

import json
import logging
import signal
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import apps
from helpers.server import ServerProcess
from websockets.sync.client import connect

from asgi_core.backends.access import AccessLog, Entry, compile_format, escape, fields

SCOPE: dict[str, Any] = {
    "type": "http", "http_version": "1.1", "method": "GET", "scheme": "http",
    "path": "/a b", "query_string": b"x=1", "client": ("203.0.113.7", 50123),
    "headers": [(b"user-agent", b"curl/8"), (b"referer", b"http://r/"), (b"x-id", b"7")],
}  # fmt: skip


def entry(**changes: Any) -> Entry:
    values: dict[str, Any] = {"scope": SCOPE, "status": 200, "bytes_sent": 5, "duration": 0.0123}
    values.update(changes)
    return Entry(**values)


# -- unit: the atoms and escaping -------------------------------------------------------------


def test_gunicorn_and_hypercorn_atoms() -> None:
    log = AccessLog(
        '%(h)s %(l)s %(u)s "%(r)s" %(m)s %(U)s %(q)s %(Uq)s %(H)s %(S)s %(s)s %(st)s %(B)s %(b)s '
        '"%(f)s" "%(a)s" %(T)s %(M)s %(D)s %(L)s %({x-id}i)s %({content-type}o)s %({NOPE_X}e)s'
    )
    line = log.line(entry(response_headers=[(b"content-type", b"text/plain")]))
    assert line == (
        '203.0.113.7 - - "GET /a b?x=1 HTTP/1.1" GET /a b x=1 /a b?x=1 HTTP/1.1 http 200 OK 5 5 '
        '"http://r/" "curl/8" 0 12.3 12300 0.012300 7 text/plain -'
    )
    assert log.wants_response_headers


def test_default_line_has_time_status_phrase_bytes_duration_and_marks_a_cut() -> None:
    log = AccessLog()
    assert not log.wants_response_headers
    line = log.line(entry())
    assert line.startswith("203.0.113.7:50123 - [")
    assert line.endswith('] "GET /a b?x=1 HTTP/1.1" 200 OK 5 12.3ms')
    assert log.line(entry(complete=False, status=0)).endswith('" 0 - 5 12.3ms (cut)')
    # the server's own answer before any request head: the peer, no request line
    line = log.line(entry(scope=None, status=431, duration=None, peer=("192.0.2.9", 1)))
    assert line.startswith("192.0.2.9:1 - [") and line.endswith(
        '] "-" 431 Request Header Fields Too Large 5 -'
    )


def test_control_characters_quotes_and_backslashes_are_escaped() -> None:
    assert escape("/ok/path") == "/ok/path"
    assert escape('/a\nb\r\x1b[31m"\\\x7f\x85') == '/a\\x0ab\\x0d\\x1b[31m\\"\\\\\\x7f\\x85'
    scope = {**SCOPE, "path": "/x\n127.0.0.1 - fake", "headers": [(b"user-agent", b"a\tb")]}
    line = AccessLog('"%(r)s" "%(a)s"').line(entry(scope=scope))
    assert "\n" not in line and "\t" not in line
    assert line == '"GET /x\\x0a127.0.0.1 - fake?x=1 HTTP/1.1" "a\\x09b"'


def test_an_unknown_atom_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown access log atom"):
        compile_format("%(h)s %(nope)s")


def test_named_fields_for_json() -> None:
    data = fields(entry())
    assert data["client"] == "203.0.113.7:50123" and data["method"] == "GET"
    assert data["path"] == "/a b" and data["query"] == "x=1" and data["status"] == 200
    assert data["bytes"] == 5 and data["duration_ms"] == 12.3 and data["complete"] is True
    assert data["user_agent"] == "curl/8" and data["referer"] == "http://r/"
    json.dumps(data)


# -- integration: real lines on every backend -------------------------------------------------


def access_lines(
    caplog: pytest.LogCaptureFixture, count: int = 1, timeout: float = 10
) -> list[str]:
    """The access lines logged so far, waiting (a little) for ``count`` of them."""
    deadline = time.monotonic() + timeout
    while True:
        lines = [r.getMessage() for r in caplog.records if r.name == "asgi_core.access"]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.02)


def exchange(port: int, data: bytes, wait: float = 10) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(data)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
        return out


def test_a_response_line(serve: Any, caplog: pytest.LogCaptureFixture) -> None:
    server = serve(apps.hello, access_log=True)
    with caplog.at_level(logging.INFO, logger="asgi_core.access"):
        httpx.get(server.url + "/p?q=1")
        (line,) = access_lines(caplog)
    assert '"GET /p?q=1 HTTP/1.1" 200 OK 13 ' in line and line.endswith("ms")
    assert line.startswith("127.0.0.1:") and " - [" in line


async def streams_forever(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"part", "more_body": True})
    assert (await receive())["type"] == "http.disconnect"


def test_a_cut_response_line(serve: Any, caplog: pytest.LogCaptureFixture) -> None:
    server = serve(streams_forever, access_log=True)
    with caplog.at_level(logging.INFO, logger="asgi_core.access"):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"GET /cut HTTP/1.1\r\nHost: x\r\n\r\n")
            assert b"part" in sock.recv(65536)
        (line,) = access_lines(caplog)
    assert '"GET /cut HTTP/1.1" 200 OK 4 ' in line and line.endswith("(cut)")


async def raises(scope: dict[str, Any], receive: Any, send: Any) -> None:
    raise RuntimeError("boom")


def test_the_server_s_own_answers(serve: Any, caplog: pytest.LogCaptureFixture) -> None:
    server = serve(raises, access_log=True, max_request_body_size=10, max_request_head_size=1024,
                   request_head_timeout=0.3)  # fmt: skip
    with caplog.at_level(logging.INFO, logger="asgi_core.access"):
        assert httpx.get(server.url + "/err").status_code == 500
        assert access_lines(caplog, 1)[0].find('"GET /err HTTP/1.1" 500 Internal Server Error') > 0
        big = b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"
        assert exchange(server.port, big).startswith(b"HTTP/1.1 413")
        assert '"POST /up HTTP/1.1" 413 ' in access_lines(caplog, 2)[1]
        huge = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 2000 + b"\r\n\r\n"
        assert exchange(server.port, huge).startswith(b"HTTP/1.1 431")
        assert '"-" 431 Request Header Fields Too Large' in access_lines(caplog, 3)[2]
        assert exchange(server.port, b"GET / HTTP/1.1\r\n").startswith(b"HTTP/1.1 408")
        assert '"-" 408 Request Timeout' in access_lines(caplog, 4)[3]


def test_a_503_over_the_concurrency_limit(serve: Any, caplog: pytest.LogCaptureFixture) -> None:
    server = serve(apps.slow, access_log=True, limit_concurrency=1)
    with caplog.at_level(logging.INFO, logger="asgi_core.access"):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as busy:
            busy.sendall(b"GET /?seconds=2 HTTP/1.1\r\nHost: x\r\n\r\n")
            time.sleep(0.3)
            assert httpx.get(server.url + "/second").status_code == 503
            assert '"GET /second HTTP/1.1" 503 Service Unavailable' in access_lines(caplog)[0]
            assert b"finally" in busy.recv(65536)
        assert '"GET /?seconds=2 HTTP/1.1" 200 OK 7' in access_lines(caplog, 2)[1]


async def denies(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "websocket.close"})


def test_websocket_accept_close_and_denial(serve: Any, caplog: pytest.LogCaptureFixture) -> None:
    server = serve(apps.ws_echo, access_log=True)
    with caplog.at_level(logging.INFO, logger="asgi_core.access"):
        with connect(f"ws://127.0.0.1:{server.port}/chat") as ws:
            ws.send("hi")
            assert ws.recv() == "hi"
        lines = access_lines(caplog, 2)
    assert '"GET /chat HTTP/1.1" 101 Switching Protocols 0 ' in lines[0]
    assert '"GET /chat HTTP/1.1" - WebSocket closed 0 ' in lines[1]
    denying = serve(denies, access_log=True)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="asgi_core.access"):
        with pytest.raises(Exception):  # noqa: B017 (websockets' InvalidStatus)
            connect(f"ws://127.0.0.1:{denying.port}/no")
        assert '"GET /no HTTP/1.1" 403 Forbidden' in access_lines(caplog)[0]


# -- the command: --log-format json, --log-config, --access-log-format ------------------------


def test_json_lines_with_named_fields(cli_backend: list[str]) -> None:
    with ServerProcess("helpers.apps:hello", "--port", "0", "--log-format", "json",
                       *cli_backend) as server:  # fmt: skip
        httpx.get(f"http://127.0.0.1:{server.port}/j?k=v")
        deadline = time.monotonic() + 10
        while '"asgi_core.access"' not in server.output() and time.monotonic() < deadline:
            time.sleep(0.05)
    records = [json.loads(line) for line in server.lines if line.startswith("{")]
    assert records and all("level" in r and "message" in r for r in records)
    (access,) = [r for r in records if r["logger"] == "asgi_core.access"]
    assert access["method"] == "GET" and access["path"] == "/j" and access["query"] == "k=v"
    assert access["status"] == 200 and access["bytes"] == 13
    assert access["client"].startswith("127.0.0.1:") and access["duration_ms"] >= 0


def _served_with(args: list[str], port_path: str = "/cfg") -> str:
    with ServerProcess("helpers.apps:hello", "--port", "0", *args) as server:
        httpx.get(f"http://127.0.0.1:{server.port}{port_path}")
        time.sleep(0.3)
    return server.output()


def _access_to_file(out: Path, line_format: str) -> str:
    """A --log-config (JSON, dictConfig) that writes the access log to ``out``."""
    return json.dumps({
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"plain": {"format": line_format}},
        "handlers": {"file": {"class": "logging.FileHandler", "filename": str(out),
                              "formatter": "plain"}},
        "loggers": {"asgi_core.access": {"handlers": ["file"], "level": "INFO",
                                         "propagate": False}},
    })  # fmt: skip


def test_log_config_json_and_ini_and_a_custom_access_format(
    tmp_path: Path, cli_backend: list[str]
) -> None:
    out = tmp_path / "access.log"
    (tmp_path / "log.json").write_text(_access_to_file(out, "CUSTOM %(name)s %(message)s"))
    _served_with([*cli_backend, "--log-config", str(tmp_path / "log.json"),
                  "--access-log-format", '%(m)s %(U)s %(s)s %({host}i)s'])  # fmt: skip
    assert (
        out.read_text()
        .splitlines()[-1]
        .startswith("CUSTOM asgi_core.access GET /cfg 200 127.0.0.1:")
    )
    ini = tmp_path / "log.ini"
    ini.write_text(
        "[loggers]\nkeys=root,access\n[handlers]\nkeys=file\n[formatters]\nkeys=plain\n"
        "[logger_root]\nlevel=WARNING\nhandlers=\n"
        "[logger_access]\nlevel=INFO\nhandlers=file\nqualname=asgi_core.access\npropagate=0\n"
        f"[handler_file]\nclass=FileHandler\nformatter=plain\nargs=({str(out)!r},)\n"
        "[formatter_plain]\nformat=INI %(message)s\n"
    )
    _served_with([*cli_backend, "--log-config", str(ini)], "/ini")
    assert '"GET /ini HTTP/1.1" 200 OK' in out.read_text().splitlines()[-1]
    assert out.read_text().splitlines()[-1].startswith("INI 127.0.0.1:")


def test_log_config_yaml(tmp_path: Path, cli_backend: list[str]) -> None:
    yaml = pytest.importorskip("yaml")
    out = tmp_path / "access.log"
    config = {
        "version": 1, "disable_existing_loggers": False,
        "handlers": {"file": {"class": "logging.FileHandler", "filename": str(out)}},
        "loggers": {"asgi_core.access": {"handlers": ["file"], "level": "INFO"}},
    }  # fmt: skip
    (tmp_path / "log.yaml").write_text(yaml.safe_dump(config))
    _served_with([*cli_backend, "--log-config", str(tmp_path / "log.yaml")], "/yaml")
    assert '"GET /yaml HTTP/1.1" 200 OK' in out.read_text()


def test_a_bad_access_format_or_log_config_is_one_line(tmp_path: Path) -> None:
    for args in (["--access-log-format", "%(nope)s"], ["--log-config", str(tmp_path / "x.json")]):
        server = ServerProcess("helpers.apps:hello", "--port", "0", *args).start(wait_ready=False)
        assert server.wait() == 2
        assert "asgi-core: error: logging:" in server.output()


def test_http2_lines_and_its_413(serve: Any, caplog: pytest.LogCaptureFixture) -> None:
    server = serve(apps.hello, access_log=True, max_request_body_size=10)
    with caplog.at_level(logging.INFO, logger="asgi_core.access"):
        with httpx.Client(http1=False, http2=True) as client:
            assert client.get(server.url + "/h2").status_code == 200
            assert client.post(server.url + "/up", content=b"x" * 100).status_code == 413
        lines = access_lines(caplog, 2)
    assert '"GET /h2 HTTP/2" 200 OK 13 ' in lines[0]
    assert '"POST /up HTTP/2" 413 ' in lines[1]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigusr1_reopens_the_log_files(
    tmp_path: Path, cli_backend: list[str], workers: str
) -> None:
    """gunicorn's SIGUSR1: logrotate moves the file away, then the server writes a new one
    (under a supervisor, it and every worker reopen theirs)."""
    out = tmp_path / "access.log"
    (tmp_path / "log.json").write_text(_access_to_file(out, "%(message)s"))
    args = ("--port", "0", "--workers", workers, "--log-config", str(tmp_path / "log.json"))
    with ServerProcess("helpers.apps:hello", *args, *cli_backend) as server:
        url = f"http://127.0.0.1:{server.port}"

        def logged(path: str, file: Path) -> bool:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if file.exists() and f"GET {path} " in file.read_text():
                    return True
                time.sleep(0.05)
            return False

        httpx.get(f"{url}/before")
        assert logged("/before", out)
        out.rename(tmp_path / "access.log.1")
        server.signal(signal.SIGUSR1)
        deadline = time.monotonic() + 10
        while "reopened" not in server.output() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # every worker has had the signal
        for _ in range(10):  # every worker serves one, most likely
            httpx.get(f"{url}/after")
        assert logged("/after", out)
    assert "/after" not in (tmp_path / "access.log.1").read_text()
