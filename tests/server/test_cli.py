"""The ``asgi-core`` command in a real subprocess: demo app, errors, lifespan, signals.

Whatever involves a running server runs once per backend (``cli_backend``); the checks of the
command line itself (import errors, --help) need no backend.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from helpers.server import TESTS_DIR, ServerProcess


def run_cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "asgi_core", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_demo_app_is_served_with_no_app_argument(cli_backend: list[str]) -> None:
    with ServerProcess(*cli_backend, "--port", "0") as server:
        url = f"http://{server.host}:{server.port}"
        page = httpx.get(url + "/")
        assert page.status_code == 200 and "asgi-core is serving" in page.text
        assert httpx.post(url + "/echo", content=b"ping").content == b"ping"
        assert httpx.get(url + "/scope").json()["path"] == "/scope"


def test_port_zero_prints_the_bound_address() -> None:
    with ServerProcess("helpers.apps:hello", "--port", "0") as server:
        assert server.port > 0
        assert f"Serving on http://127.0.0.1:{server.port}" in server.output()


def test_console_script_is_installed() -> None:
    exe = shutil.which("asgi-core")
    assert exe is not None, "the asgi-core console script is not on PATH"
    result = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and "--graceful-timeout" in result.stdout


@pytest.mark.parametrize(
    ("app", "message"),
    [
        ("no_such_module:app", "could not import module 'no_such_module'"),
        ("helpers.apps:missing", "has no attribute 'missing'"),
        ("helpers.apps", 'must be given as "module:attribute"'),
    ],
)
def test_an_app_that_does_not_import_gives_one_clear_line(app: str, message: str) -> None:
    result = run_cli(app, "--app-dir", str(TESTS_DIR), "--port", "0")
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_startup_failure_exits_non_zero_with_the_app_message(cli_backend: list[str]) -> None:
    server = ServerProcess(*cli_backend, "helpers.apps:startup_fails", "--port", "0").start(
        wait_ready=False
    )
    assert server.wait() == 3
    time.sleep(0.1)
    assert "database is unreachable" in server.output()


def test_lifespan_on_with_an_app_that_has_none_fails_startup(cli_backend: list[str]) -> None:
    """helpers.apps:hello raises on the lifespan scope before it receives (ASGI lifespan
    spec: an app without lifespan raises): with "on" that is a failed startup, shown once."""
    server = ServerProcess(*cli_backend, "helpers.apps:hello", "--port", "0", "--lifespan", "on")
    assert server.start(wait_ready=False).wait() == 3
    time.sleep(0.1)
    output = server.output()
    assert output.count("Traceback") == 1, output
    assert "AssertionError: unsupported scope type 'lifespan'" in output
    assert output.strip().endswith("asgi-core: application does not support lifespan: "
                                   "AssertionError: unsupported scope type 'lifespan'")  # fmt: skip


def test_lifespan_auto_serves_an_app_without_lifespan(cli_backend: list[str]) -> None:
    """The same app with "auto": one info line in uvicorn's words, no traceback, served."""
    with ServerProcess(
        *cli_backend, "helpers.apps:hello", "--port", "0", "--lifespan", "auto"
    ) as server:
        assert httpx.get(f"http://{server.host}:{server.port}").status_code == 200
        output = server.output()
    assert "INFO: ASGI 'lifespan' protocol appears unsupported." in output
    assert "Traceback" not in output


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_lets_the_in_flight_request_finish_then_exits_0(
    signum: int, cli_backend: list[str]
) -> None:
    with ServerProcess(
        *cli_backend, "helpers.apps:slow", "--port", "0", "--graceful-timeout", "10"
    ) as server:
        url = f"http://{server.host}:{server.port}/?seconds=1.5"
        result: list[httpx.Response] = []
        client = threading.Thread(target=lambda: result.append(httpx.get(url, timeout=20)))
        client.start()
        time.sleep(0.5)
        server.signal(signum)
        time.sleep(0.3)
        with pytest.raises(OSError):  # no longer accepting
            socket.create_connection((server.host, server.port), timeout=2).close()
        client.join(20)
        assert result and result[0].status_code == 200 and result[0].text == "finally"
        assert server.wait() == 0


def test_graceful_timeout_bounds_the_wait_for_in_flight_requests(cli_backend: list[str]) -> None:
    with ServerProcess(
        *cli_backend, "helpers.apps:slow", "--port", "0", "--graceful-timeout", "0.5"
    ) as server:
        sock = socket.create_connection((server.host, server.port))
        sock.sendall(b"GET /?seconds=60 HTTP/1.1\r\nHost: h\r\n\r\n")
        time.sleep(0.3)
        started = time.monotonic()
        server.signal(signal.SIGTERM)
        assert server.wait() == 0
        assert time.monotonic() - started < 10
        sock.settimeout(5)
        assert sock.recv(100) == b""  # closed without a response
        sock.close()


def test_lifespan_shutdown_runs_on_sigterm(cli_backend: list[str]) -> None:
    with ServerProcess(*cli_backend, "helpers.apps:lifespan_state", "--port", "0") as server:
        assert httpx.get(f"http://{server.host}:{server.port}").text == "from lifespan"
        server.signal(signal.SIGTERM)
        assert server.wait() == 0
        time.sleep(0.1)
        assert "lifespan shutdown complete" in server.output()


def test_a_second_signal_stops_without_waiting_for_the_graceful_timeout(
    cli_backend: list[str],
) -> None:
    with ServerProcess(
        *cli_backend, "helpers.apps:slow", "--port", "0", "--graceful-timeout", "60"
    ) as server:
        sock = socket.create_connection((server.host, server.port))
        sock.sendall(b"GET /?seconds=60 HTTP/1.1\r\nHost: h\r\n\r\n")
        time.sleep(0.3)
        server.signal(signal.SIGTERM)
        time.sleep(0.5)
        started = time.monotonic()
        server.signal(signal.SIGINT)
        assert server.wait(30) == 0
        assert time.monotonic() - started < 10
        sock.close()
        assert "closing every connection now" in server.output()


def test_port_in_use_exits_1_after_running_lifespan_shutdown(cli_backend: list[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        server = ServerProcess(*cli_backend, "helpers.apps:lifespan_state", "--port", port)
        assert server.start(wait_ready=False).wait() == 1
        time.sleep(0.1)
        assert "cannot serve on 127.0.0.1" in server.output()
        assert "lifespan shutdown complete" in server.output()


@pytest.mark.parametrize(
    "flags",
    [["--backend", "trio", "--loop", "uvloop"], ["--backend", "asyncio", "--loop", "trio"]],
)
def test_a_backend_and_loop_that_do_not_fit_are_refused(flags: list[str]) -> None:
    result = run_cli("helpers.apps:hello", "--app-dir", str(TESTS_DIR), *flags)
    assert result.returncode == 2
    assert "loop" in result.stderr and "Traceback" not in result.stderr


def test_a_backend_whose_package_is_missing_says_how_to_install_it(tmp_path: Path) -> None:
    # A stand-in "trio" that fails to import, first on the path, plays the missing package.
    (tmp_path / "trio.py").write_text("raise ImportError('no trio here')\n")
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    result = subprocess.run(
        [sys.executable, "-m", "asgi_core", "helpers.apps:hello", "--app-dir", str(TESTS_DIR),
         "--backend", "trio"],
        capture_output=True, text=True, timeout=30, env=env,
    )  # fmt: skip
    assert result.returncode == 2
    assert "pip install 'asgi-core[trio]'" in result.stderr
    assert "Traceback" not in result.stderr


def test_http2_flags_reach_the_core() -> None:
    """--h2-* flags become the SETTINGS a client sees; --no-http2 serves HTTP/1.1 only."""
    import h2.config
    import h2.connection
    import h2.events

    with ServerProcess("helpers.apps:hello", "--port", "0",
                       "--h2-max-concurrent-streams", "7") as server:  # fmt: skip
        client = h2.connection.H2Connection(h2.config.H2Configuration(header_encoding=None))
        client.initiate_connection()
        with socket.create_connection((server.host, server.port), timeout=10) as sock:
            sock.sendall(client.data_to_send())
            events = client.receive_data(sock.recv(65536))
        changed = [e for e in events if isinstance(e, h2.events.RemoteSettingsChanged)]
        assert changed[0].changed_settings[h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS]
        assert client.remote_settings.max_concurrent_streams == 7
        with httpx.Client(http1=False, http2=True) as http2_client:
            response = http2_client.get(f"http://{server.host}:{server.port}")
        assert response.http_version == "HTTP/2"
    with ServerProcess("helpers.apps:hello", "--port", "0", "--no-http2") as server:
        sock = socket.create_connection((server.host, server.port), timeout=10)
        with sock:
            sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 ")


@pytest.mark.parametrize("flag", ["--h2-max-concurrent-streams", "--h2-reset-budget"])
def test_bad_http2_limits_exit_2(flag: str) -> None:
    result = run_cli("helpers.apps:hello", "--app-dir", "tests", flag, "0")
    assert result.returncode == 2
    assert flag.removeprefix("--").replace("-", "_") in result.stderr


def test_every_setting_has_a_flag_named_for_its_field() -> None:
    """One table (cli.FLAGS) makes the flags and the settings: each Config and ServerConfig
    field is one flag's dest, and a flag's value arrives in its field unchanged (0 is off)."""
    from dataclasses import fields

    from asgi_core import Config
    from asgi_core.backends import ServerConfig
    from asgi_core.backends.cli import FLAGS, build_parser, config_from_args

    dests = {flag.dest for _, _, group in FLAGS for flag in group}
    settings = {f.name for f in fields(Config)} | {f.name for f in fields(ServerConfig)}
    assert settings - {"protocol"} <= dests
    args = build_parser().parse_args(
        ["--ws-max-size", "99", "--ws-ping-interval", "0", "--certfile", "c.pem", "--no-http2"]
    )
    config = config_from_args(args)
    assert config.protocol.ws_max_size == 99
    assert config.protocol.ws_ping_interval is None
    assert config.ssl_certfile == "c.pem"
    assert config.protocol.http2 is False
    assert config_from_args(build_parser().parse_args([])) == ServerConfig()
