"""Where the server listens: --bind, --insecure-bind, --uds, --fd, systemd socket activation,
dual-stack IPv6, and already-bound sockets handed to ``serve()``; bad input is one line, exit 2.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import ssl
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import apps
from helpers.server import ServerProcess, ServerThread
from helpers.tls import Certificates

from asgi_core.backends.sockets import parse_bind, socket_address
from asgi_core.errors import ConfigError


def get_json(url: str, **kwargs: Any) -> Any:
    response = httpx.get(url, timeout=10, **kwargs)
    assert response.status_code == 200
    return json.loads(response.text)


def over_unix(path: Path) -> Any:
    """GET / over a Unix socket; the scope facts as JSON."""
    transport = httpx.HTTPTransport(uds=str(path))
    with httpx.Client(transport=transport, timeout=10) as client:
        return json.loads(client.get("http://localhost/").text)


def trusting(certs: Certificates) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=certs.ca_file)


def tls_args(certs: Certificates) -> list[str]:
    return ["--certfile", certs.certfile, "--keyfile", certs.keyfile]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- parsing (no sockets) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("127.0.0.1:8000", ("tcp", "127.0.0.1", 8000)),
        ("[::]:8443", ("tcp", "::", 8443)),
        (":9000", ("tcp", "0.0.0.0", 9000)),
        ("unix:/run/app.sock", ("unix", "/run/app.sock", 0)),
        ("fd://3", ("fd", "", 3)),
    ],
)
def test_bind_strings_in_hypercorns_forms(text: str, parsed: tuple[str, str, int]) -> None:
    assert parse_bind(text) == parsed


@pytest.mark.parametrize("text", ["localhost", "::1:80", "host:99999", "unix:", "fd://x"])
def test_a_bad_bind_string_is_one_line_naming_the_option(text: str) -> None:
    with pytest.raises(ConfigError, match=r"^--bind ") as caught:
        parse_bind(text)
    assert "\n" not in str(caught.value)


def test_an_ipv4_mapped_client_is_reported_as_plain_ipv4() -> None:
    assert socket_address(("::ffff:127.0.0.1", 5000, 0, 0)) == ("127.0.0.1", 5000)
    assert socket_address(("::1", 5000, 0, 0)) == ("::1", 5000)
    assert socket_address("/run/app.sock") == ("/run/app.sock", None)  # ASGI: [path, None]
    assert socket_address("") is None  # an unnamed Unix peer


# -- the command line, on every backend ------------------------------------------------------------


def test_uds_serves_replacing_a_stale_socket_file_with_its_mode(
    cli_backend: list[str], tmp_path: Path
) -> None:
    path = tmp_path / "app.sock"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()  # the file stays, nobody listens: a server that died
    args = ["--uds", str(path), "--uds-mode", "600"]
    with ServerProcess(*cli_backend, "helpers.apps:peers", *args) as server:
        facts = over_unix(path)
        assert facts["server"] == [str(path), None]  # ASGI: (path, None) on a Unix socket
        assert facts["client"] is None
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        server.signal()
        assert server.wait() == 0
    assert not path.exists()  # removed when the server stops


def test_uds_in_a_missing_folder_is_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "app.sock"
    server = ServerProcess("helpers.apps:hello", "--uds", str(path)).start(wait_ready=False)
    assert server.wait() == 2
    error = [line for line in server.lines if "error" in line]
    assert len(error) == 1 and "--uds" in error[0] and "does not exist" in error[0]


def test_uds_that_another_server_listens_on_is_in_use_exit_1(tmp_path: Path) -> None:
    path = tmp_path / "app.sock"
    with socket.socket(socket.AF_UNIX) as live:
        live.bind(str(path))
        live.listen()
        server = ServerProcess("helpers.apps:hello", "--uds", str(path)).start(wait_ready=False)
        assert server.wait() == 1
        assert "in use" in server.output()


def test_fd_serves_an_inherited_listening_socket(cli_backend: list[str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        fd = sock.fileno()
        with ServerProcess(*cli_backend, "helpers.apps:peers", "--fd", str(fd), pass_fds=(fd,)):
            facts = get_json(f"http://127.0.0.1:{port}/")
            assert facts["server"] == ["127.0.0.1", port]


def test_an_fd_that_is_not_a_socket_is_one_line_and_exit_2() -> None:
    read, write = os.pipe()
    try:
        server = ServerProcess("helpers.apps:hello", "--fd", str(read), pass_fds=(read,))
        assert server.start(wait_ready=False).wait() == 2
        assert "--fd" in server.output() and "not a socket" in server.output()
    finally:
        os.close(read)
        os.close(write)


def test_repeated_binds_serve_on_each_and_insecure_bind_stays_plain(
    cli_backend: list[str], certs: Certificates, tmp_path: Path
) -> None:
    secure, plain = free_port(), free_port()
    path = tmp_path / "plain.sock"
    args = ["--bind", f"127.0.0.1:{secure}", "--insecure-bind", f"127.0.0.1:{plain}",
            "--insecure-bind", f"unix:{path}", *tls_args(certs)]  # fmt: skip
    with ServerProcess(*cli_backend, "helpers.apps:peers", *args) as server:
        assert get_json(
            f"https://127.0.0.1:{secure}/", verify=ssl.create_default_context(cafile=certs.ca_file)
        )["scheme"] == ("https")
        assert get_json(f"http://127.0.0.1:{plain}/")["scheme"] == "http"
        assert over_unix(path)["scheme"] == "http"
        assert server.output().count("Serving on") == 3


@pytest.mark.skipif(not socket.has_ipv6, reason="no IPv6 on this machine")
def test_host_dual_stack_reports_ipv4_clients_as_ipv4(cli_backend: list[str]) -> None:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with ServerProcess(*cli_backend, "helpers.apps:peers", "--host", "::", "--port", "0") as server:
        assert server.host == "::"
        facts = get_json(f"http://127.0.0.1:{server.port}/")
        assert facts["client"][0] == "127.0.0.1"  # not ::ffff:127.0.0.1
        assert get_json(f"http://[::1]:{server.port}/")["client"][0] == "::1"


# -- systemd socket activation -------------------------------------------------------------------

ACTIVATE = shutil.which("systemd-socket-activate")
needs_activate = pytest.mark.skipif(ACTIVATE is None, reason="systemd-socket-activate is missing")


@contextlib.contextmanager
def activated(server: ServerProcess) -> Iterator[ServerProcess]:
    """A server under systemd-socket-activate: it execs the command at the first connection,
    once it has said it listens on every socket."""
    server.start(wait_ready=False)
    sockets = server.args.count("-l")
    deadline = time.monotonic() + 10
    while server.output().count("Listening on") < sockets and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield server
    finally:
        server.__exit__()


@needs_activate
def test_systemd_socket_activation_serves_the_passed_socket(cli_backend: list[str]) -> None:
    """sd_listen_fds(3): LISTEN_FDS sockets from fd 3, for LISTEN_PID; no port of our own."""
    port = free_port()
    wrapper = [str(ACTIVATE), "-l", f"127.0.0.1:{port}"]
    server = ServerProcess(*cli_backend, "helpers.apps:peers", wrapper=wrapper)
    with activated(server):
        # systemd-socket-activate starts the server at the first connection, which waits.
        assert get_json(f"http://127.0.0.1:{port}/")["server"] == ["127.0.0.1", port]
        assert f"Serving on http://127.0.0.1:{port}" in server.output()
        assert "8000" not in server.output()


@needs_activate
def test_systemd_fdnames_tell_a_tls_socket_from_a_plain_one(certs: Certificates) -> None:
    secure, plain = free_port(), free_port()
    wrapper = [str(ACTIVATE), "-l", f"127.0.0.1:{secure}", "-l", f"127.0.0.1:{plain}",
               "--fdname", "https:http"]  # fmt: skip
    with activated(ServerProcess("helpers.apps:peers", *tls_args(certs), wrapper=wrapper)):
        assert get_json(
            f"https://127.0.0.1:{secure}/", verify=ssl.create_default_context(cafile=certs.ca_file)
        )["scheme"] == ("https")
        assert get_json(f"http://127.0.0.1:{plain}/")["scheme"] == "http"


def test_listen_fds_without_sockets_is_one_line_and_exit_2() -> None:
    read, write = os.pipe()
    try:
        if read != 3:
            os.dup2(read, 3)
        # The variables name this very process: sh sets LISTEN_PID to its own pid, then execs.
        wrapper = ["sh", "-c", 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"', "sh"]
        server = ServerProcess("helpers.apps:hello", wrapper=wrapper, pass_fds=(3,))
        assert server.start(wait_ready=False).wait() == 2
        assert "LISTEN_FDS" in server.output() and "not a socket" in server.output()
    finally:
        os.close(read)
        os.close(write)


# -- embedding: serve() on sockets the caller bound ----------------------------------------------


def test_serve_takes_sockets_the_caller_bound(backend: str) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    sock.setblocking(False)
    port = sock.getsockname()[1]
    with ServerThread(apps.peers, backend, lifespan="off", listeners=[sock]) as server:
        assert server.addresses == [("127.0.0.1", port)]
        assert get_json(f"http://127.0.0.1:{port}/")["server"] == ["127.0.0.1", port]
