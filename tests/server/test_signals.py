"""SIGHUP reloads TLS certificates in place (new handshakes only, a broken file keeps the old
one), the opt-in watch of the certificate files, and WebSocket close codes on a shutdown:
1001 on SIGTERM, 1012 on the supervisor's restart signal. Real processes, every backend."""

from __future__ import annotations

import shutil
import signal
import socket
import ssl
import threading
import time
from pathlib import Path

import httpx
import pytest
from helpers.server import ServerProcess
from helpers.tls import Certificates, client_context, make_certificates
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from asgi_core.backends.run import RESTART_SIGNAL

APP = "helpers.lifecycle_apps:slow"


def served_certificate(port: int) -> bytes:
    """The DER certificate a new TLS handshake on ``port`` presents (unverified)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return der


def der_of(certs: Certificates) -> bytes:
    return ssl.PEM_cert_to_DER_cert(certs.server_pem)


@pytest.fixture
def two_certificates(tmp_path: Path) -> tuple[Certificates, Certificates, list[str]]:
    """Two certificates from two CAs, and the flags of a server whose files hold the first."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = make_certificates(tmp_path / "a"), make_certificates(tmp_path / "b")
    live = tmp_path / "live"
    live.mkdir()
    shutil.copy(first.certfile, live / "cert.pem")
    shutil.copy(first.keyfile, live / "key.pem")
    return first, second, ["--certfile", str(live / "cert.pem"), "--keyfile", str(live / "key.pem")]


def put_files(certs: Certificates, flags: list[str]) -> None:
    shutil.copy(certs.certfile, flags[1])
    shutil.copy(certs.keyfile, flags[3])


def test_sighup_reloads_the_certificate_for_new_handshakes_only(
    cli_backend: list[str], two_certificates: tuple[Certificates, Certificates, list[str]]
) -> None:
    first, second, flags = two_certificates
    with ServerProcess(*cli_backend, APP, "--port", "0", *flags) as server:
        url = f"https://127.0.0.1:{server.port}/"
        with httpx.Client(verify=client_context(first), timeout=10) as kept:
            assert kept.get(url).text == "done"  # a keep-alive connection on the first cert
            put_files(second, flags)
            server.signal(signal.SIGHUP)
            until_logged(server, "TLS certificates reloaded")
            assert served_certificate(server.port) == der_of(second)
            assert kept.get(url).text == "done"  # the open connection is untouched
        assert server.proc is not None and server.proc.poll() is None  # SIGHUP did not kill it


def test_a_broken_certificate_on_sighup_is_logged_and_the_old_one_kept(
    cli_backend: list[str], two_certificates: tuple[Certificates, Certificates, list[str]]
) -> None:
    first, _, flags = two_certificates
    with ServerProcess(*cli_backend, APP, "--port", "0", *flags) as server:
        Path(flags[1]).write_text("not a certificate\n")
        server.signal(signal.SIGHUP)
        until_logged(server, "TLS certificates not reloaded, the current ones stay")
        assert served_certificate(server.port) == der_of(first)


def test_ssl_reload_interval_picks_up_changed_files(
    two_certificates: tuple[Certificates, Certificates, list[str]],
) -> None:
    _, second, flags = two_certificates
    with ServerProcess(APP, "--port", "0", *flags, "--ssl-reload-interval", "0.2") as server:
        put_files(second, flags)
        until_logged(server, "TLS certificates reloaded")
        assert served_certificate(server.port) == der_of(second)


def test_requests_go_on_through_a_certificate_reload(
    two_certificates: tuple[Certificates, Certificates, list[str]],
) -> None:
    """A client loop trusting both CAs sees no failed request while the certificate changes."""
    first, second, flags = two_certificates
    context = client_context(first)
    second.ca.configure_trust(context)
    failures: list[BaseException] = []
    done = threading.Event()
    with ServerProcess(APP, "--port", "0", *flags) as server:
        url = f"https://127.0.0.1:{server.port}/"

        def loop() -> None:
            while not done.is_set():
                try:
                    assert httpx.get(url, verify=context, timeout=10).text == "done"
                except BaseException as exc:  # every failure is the test's finding
                    failures.append(exc)

        client = threading.Thread(target=loop)
        client.start()
        time.sleep(0.3)
        put_files(second, flags)
        server.signal(signal.SIGHUP)
        until_logged(server, "TLS certificates reloaded")
        time.sleep(0.3)
        done.set()
        client.join(10)
    assert failures == []


def test_sighup_without_tls_keeps_serving(cli_backend: list[str]) -> None:
    with ServerProcess(*cli_backend, APP, "--port", "0") as server:
        server.signal(signal.SIGHUP)
        until_logged(server, "no TLS certificates to reload")
        assert httpx.get(f"http://127.0.0.1:{server.port}/", timeout=10).text == "done"


@pytest.mark.parametrize(
    ("signum", "code"),
    [(signal.SIGTERM, 1001), (RESTART_SIGNAL, 1012)],
    ids=["SIGTERM-going-away", "restart-service-restart"],
)
def test_a_shutdown_closes_websockets_with_going_away_or_service_restart(
    cli_backend: list[str], signum: int, code: int
) -> None:
    """RFC 6455 section 7.4.1: 1001, going away; IANA's registry (section 11.7): 1012,
    service restart, when the supervisor replaces the worker."""
    with ServerProcess(*cli_backend, APP, "--port", "0") as server:
        with connect(f"ws://127.0.0.1:{server.port}/", open_timeout=10) as ws:
            ws.send("hi")
            assert ws.recv(timeout=10) == "hi"
            server.signal(signum)
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == code
        assert server.wait() == 0


def until_logged(server: ServerProcess, text: str, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while text not in server.output():
        assert time.monotonic() < deadline, f"{text!r} not logged:\n{server.output()}"
        time.sleep(0.02)


def test_a_rolling_restart_closes_the_old_workers_websockets_with_1012() -> None:
    """SIGHUP to the supervisor replaces each worker; the old one tells its WebSockets that
    the service restarts (1012), so clients reconnect at once."""
    with ServerProcess(APP, "--port", "0", "--workers", "2") as server:
        with connect(f"ws://127.0.0.1:{server.port}/", open_timeout=10) as ws:
            ws.send("hi")
            assert ws.recv(timeout=10) == "hi"
            server.signal(signal.SIGHUP)
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=15)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
        assert httpx.get(f"http://127.0.0.1:{server.port}/", timeout=10).text == "done"
