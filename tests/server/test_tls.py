"""TLS in every driver: https and wss, the ASGI tls extension, client certificates, ALPN, the
handshake timeout, and the command line's certificate flags."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from helpers import apps
from helpers.backpressure import (
    UPLOAD_LIMIT,
    chunks_sent_while_unread,
    reads_once_released,
    sends_without_end,
    upload_until_stalled,
)
from helpers.server import TESTS_DIR, ServerProcess
from helpers.tls import Certificates, client_context, tls_options
from websockets.asyncio.client import connect

from asgi_core import Config
from asgi_core import connection as core_connection
from asgi_core.backends import ServerConfig
from asgi_core.backends.tls import alpn_protocols, rfc4514_name
from asgi_core.errors import ConfigError

Scope = dict[str, Any]


def der(pem: str) -> bytes:
    return ssl.PEM_cert_to_DER_cert(pem)


def scope_recorder(scopes: list[Scope]) -> Any:
    """An app that keeps each scope and answers 200 (or echoes, for WebSocket)."""

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        scopes.append(scope)
        if scope["type"] == "websocket":
            await apps.ws_echo(scope, receive, send)
        else:
            await apps.hello(scope, receive, send)

    return app


def wait_closed(sock: socket.socket, deadline: float) -> float | None:
    """When the server closed ``sock`` (monotonic), or None if it stayed open until deadline."""
    sock.settimeout(max(0.01, deadline - time.monotonic()))
    try:
        data = sock.recv(1024)
    except TimeoutError:
        return None
    except OSError:  # reset: closed all the same
        return time.monotonic()
    return time.monotonic() if data == b"" else None


# -- https ---------------------------------------------------------------------------------------


def test_https_request_gets_scheme_and_tls_extension(serve: Any, certs: Certificates) -> None:
    """ASGI tls.rst: the "tls" extension with server_cert, tls_version and cipher_suite; the
    scope's scheme is "https" (ASGI HTTP spec, connection scope)."""
    scopes: list[Scope] = []
    server = serve(scope_recorder(scopes), **tls_options(certs))
    context = client_context(certs)
    with httpx.Client(verify=context) as client:
        response = client.get(server.url + "/path")
        cipher = response.extensions["network_stream"].get_extra_info("ssl_object").cipher()
    assert response.status_code == 200 and response.text == "Hello, world!"
    assert response.http_version == "HTTP/1.1"
    scope = scopes[0]
    assert scope["scheme"] == "https" and scope["http_version"] == "1.1"
    tls = scope["extensions"]["tls"]
    assert der(tls["server_cert"]) == der(certs.server_pem)
    assert tls["tls_version"] == 0x0304
    suites = {c["name"]: c["id"] & 0xFFFF for c in context.get_ciphers()}
    assert tls["cipher_suite"] == suites[cipher[0]]
    assert tls["client_cert_chain"] == []
    assert tls["client_cert_name"] is None
    assert tls["client_cert_error"] is None


def test_tls12_uses_an_ecdhe_aead_suite(serve: Any, certs: Certificates) -> None:
    """RFC 9113 section 9.2.2: over TLS 1.2 only ephemeral key exchange with AEAD ciphers;
    ASGI tls.rst: tls_version 0x0303 for TLS 1.2."""
    scopes: list[Scope] = []
    server = serve(scope_recorder(scopes), **tls_options(certs))
    context = client_context(certs)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    assert httpx.get(server.url, verify=context).status_code == 200
    tls = scopes[0]["extensions"]["tls"]
    assert tls["tls_version"] == 0x0303
    names = {c["id"] & 0xFFFF: c for c in context.get_ciphers()}
    suite = names[tls["cipher_suite"]]
    assert suite["kea"] == "kx-ecdhe" and suite["aead"], suite

    weak = client_context(certs)
    weak.maximum_version = ssl.TLSVersion.TLSv1_2
    weak.set_ciphers("AES128-SHA")  # RSA key exchange, CBC: on the RFC 9113 block list
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url, verify=weak)
    assert len(scopes) == 1


def test_plain_http_has_no_tls_extension(serve: Any) -> None:
    """ASGI tls.rst: "For non-TLS connections, the ASGI server is forbidden from providing
    this extension"."""
    scopes: list[Scope] = []
    server = serve(scope_recorder(scopes))
    assert httpx.get(server.url).status_code == 200
    assert scopes[0]["scheme"] == "http" and "tls" not in scopes[0]["extensions"]


def test_a_client_without_alpn_speaks_http11(serve: Any, certs: Certificates) -> None:
    """RFC 7301 section 3.2: no ALPN offered means no protocol chosen; the server speaks
    HTTP/1.1 (RFC 9112)."""
    server = serve(apps.hello, **tls_options(certs))
    context = client_context(certs)
    with (
        socket.create_connection((server.host, server.port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=server.host) as sock,
    ):
        assert sock.selected_alpn_protocol() is None
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        received = b""
        for _ in range(100):
            chunk = sock.recv(4096)
            if not chunk:
                break
            received += chunk
    assert received.startswith(b"HTTP/1.1 200 ") and received.endswith(b"Hello, world!")


def test_http2_is_negotiated_by_alpn(serve: Any, certs: Certificates) -> None:
    """RFC 9113 section 3.2: "h2" chosen by ALPN starts HTTP/2 over TLS."""
    if "h2" not in core_connection.SUPPORTED_ALPN:
        pytest.skip("the core does not speak HTTP/2 yet (no 'h2' in SUPPORTED_ALPN)")
    scopes: list[Scope] = []
    server = serve(scope_recorder(scopes), **tls_options(certs))
    with httpx.Client(verify=client_context(certs), http2=True) as client:
        response = client.get(server.url)
    assert response.status_code == 200 and response.http_version == "HTTP/2"
    assert scopes[0]["http_version"] == "2" and scopes[0]["scheme"] == "https"
    assert scopes[0]["extensions"]["tls"]["tls_version"] == 0x0304


def test_large_body_both_ways_is_intact(serve: Any, certs: Certificates) -> None:
    """RFC 8446 section 5.1: a body of many records arrives whole, both ways."""
    server = serve(apps.read_then_echo, **tls_options(certs))
    payload = bytes(range(256)) * 40_000  # 10 MiB
    response = httpx.post(server.url, content=payload, verify=client_context(certs), timeout=30)
    assert response.content == payload


def test_app_that_does_not_read_the_upload_stops_the_server_reading(
    serve: Any, certs: Certificates
) -> None:
    """Read backpressure survives TLS: the socket is read only when the core wants input."""
    release = threading.Event()
    app = reads_once_released(release)
    server = serve(app, max_buffered_body_size=64 * 1024, **tls_options(certs))
    context = client_context(certs)
    with (
        socket.create_connection((server.host, server.port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=server.host) as sock,
    ):
        sent = upload_until_stalled(sock, total=64 * 1024 * 1024)
        assert sent < UPLOAD_LIMIT, f"the server kept reading: {sent} bytes accepted"
        release.set()


def test_app_blocked_on_a_client_that_does_not_read(serve: Any, certs: Certificates) -> None:
    """Write backpressure survives TLS: send() waits while the peer reads nothing."""
    sent_chunks: list[int] = []
    server = serve(sends_without_end(sent_chunks), **tls_options(certs))
    context = client_context(certs)
    with socket.create_connection((server.host, server.port), timeout=10) as raw:
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        with context.wrap_socket(raw, server_hostname=server.host) as sock:
            stalled_at, later = chunks_sent_while_unread(sock, sent_chunks)
            assert later == stalled_at, "send() kept returning for an unread response"
            assert stalled_at * 65536 < 64 * 1024 * 1024


def test_http2_switched_off_is_not_offered(serve: Any, certs: Certificates) -> None:
    """RFC 7301 section 3.2: with HTTP/2 off the server selects "http/1.1" from a client
    offering ["h2", "http/1.1"]."""
    server = serve(apps.hello, http2=False, **tls_options(certs))
    with httpx.Client(verify=client_context(certs), http2=True) as client:
        response = client.get(server.url)
    assert response.status_code == 200 and response.http_version == "HTTP/1.1"


# -- wss -----------------------------------------------------------------------------------------


def test_websocket_over_wss(serve: Any, certs: Certificates) -> None:
    """ASGI tls.rst with the WebSocket spec: the scope's scheme is "wss" and carries "tls"."""
    scopes: list[Scope] = []
    server = serve(scope_recorder(scopes), **tls_options(certs))

    async def main() -> list[Any]:
        url = f"wss://{server.host}:{server.port}/ws"
        async with connect(url, ssl=client_context(certs)) as ws:
            await ws.send("hello")
            await ws.send(b"\x00\x01")
            return [await ws.recv(), await ws.recv()]

    assert asyncio.run(main()) == ["hello", b"\x00\x01"]
    assert scopes[0]["type"] == "websocket" and scopes[0]["scheme"] == "wss"
    assert scopes[0]["extensions"]["tls"]["tls_version"] == 0x0304


# -- client certificates -------------------------------------------------------------------------


def test_required_client_certificate(serve: Any, certs: Certificates) -> None:
    """ASGI tls.rst: client_cert_chain starts with the client's certificate and
    client_cert_name is its subject as RFC 4514 writes it; a client without one is refused."""
    scopes: list[Scope] = []
    server = serve(
        scope_recorder(scopes),
        **tls_options(certs, ssl_cert_reqs="required", ssl_ca_certs=certs.ca_file),
    )
    with pytest.raises(httpx.TransportError):
        httpx.get(server.url, verify=client_context(certs))
    assert scopes == []

    response = httpx.get(server.url, verify=client_context(certs, cert=True))
    assert response.status_code == 200
    tls = scopes[0]["extensions"]["tls"]
    leaf_pem = certs.client.cert_chain_pems[0].bytes()
    assert [der(pem) for pem in tls["client_cert_chain"]][:1] == [der(leaf_pem.decode())]
    subject = x509.load_pem_x509_certificate(leaf_pem).subject.rfc4514_string()
    assert tls["client_cert_name"] == subject
    assert "OU=Tests\\, TLS" in tls["client_cert_name"]
    assert tls["client_cert_error"] is None


def test_optional_client_certificate(serve: Any, certs: Certificates) -> None:
    """ASGI tls.rst: without a client certificate the chain is empty and the name None."""
    scopes: list[Scope] = []
    server = serve(
        scope_recorder(scopes),
        **tls_options(certs, ssl_cert_reqs="optional", ssl_ca_certs=certs.ca_file),
    )
    assert httpx.get(server.url, verify=client_context(certs)).status_code == 200
    assert httpx.get(server.url, verify=client_context(certs, cert=True)).status_code == 200
    without, with_cert = (scope["extensions"]["tls"] for scope in scopes)
    assert without["client_cert_chain"] == [] and without["client_cert_name"] is None
    assert len(with_cert["client_cert_chain"]) >= 1 and "CN=client" in with_cert["client_cert_name"]


# -- the handshake -------------------------------------------------------------------------------


def test_stalled_handshakes_time_out_while_others_are_served(
    serve: Any, certs: Certificates, caplog: pytest.LogCaptureFixture
) -> None:
    """200 connections that never send a ClientHello (RFC 8446 section 4.1.2) are closed
    after tls_handshake_timeout, quietly, while a TLS request in the meantime is served."""
    timeout = 0.5
    server = serve(apps.hello, **tls_options(certs, tls_handshake_timeout=timeout))
    stalled: list[tuple[socket.socket, float]] = []
    try:
        for _ in range(200):
            sock = socket.create_connection((server.host, server.port), timeout=10)
            stalled.append((sock, time.monotonic()))
        started = time.monotonic()
        response = httpx.get(server.url, verify=client_context(certs), timeout=10)
        assert response.status_code == 200
        assert time.monotonic() - started < timeout
        deadline = time.monotonic() + timeout + 5
        waited = [(wait_closed(sock, deadline), opened) for sock, opened in stalled]
        assert all(closed is not None for closed, _ in waited), "a stalled socket stayed open"
        early = [closed - opened for closed, opened in waited if closed - opened < timeout - 0.1]  # type: ignore[operator]
        assert early == [], "closed before the handshake timeout"
    finally:
        for sock, _ in stalled:
            sock.close()
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_garbage_instead_of_a_client_hello_is_dropped_quietly(
    serve: Any, certs: Certificates, caplog: pytest.LogCaptureFixture
) -> None:
    """RFC 8446 section 6: a record that is not TLS fails the handshake; the server closes
    that socket only, without logging above debug."""
    server = serve(apps.hello, **tls_options(certs))
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert wait_closed(sock, time.monotonic() + 5) is not None
    assert httpx.get(server.url, verify=client_context(certs)).status_code == 200
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


# -- settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"ssl_keyfile": "k.pem"}, "ssl_keyfile needs ssl_certfile"),
        ({"ssl_ca_certs": "ca.pem"}, "ssl_ca_certs needs ssl_certfile"),
        ({"ssl_cert_reqs": "required"}, "ssl_cert_reqs needs ssl_certfile"),
        ({"ssl_certfile": "c.pem", "ssl_cert_reqs": "required"}, "needs ssl_ca_certs"),
        ({"ssl_certfile": "c.pem", "ssl_cert_reqs": "maybe"}, "ssl_cert_reqs must be one of"),
        ({"ssl_certfile": "c.pem", "ssl_ciphers": " "}, "ssl_ciphers must not be empty"),
        ({"tls_handshake_timeout": 0.0}, "tls_handshake_timeout must be > 0"),
        ({"tls_handshake_timeout": float("nan")}, "tls_handshake_timeout must be > 0"),
    ],
)
def test_server_config_refuses_incoherent_tls_settings(
    options: dict[str, Any], message: str
) -> None:
    """Each TLS setting that cannot take effect is refused when the config is made."""
    with pytest.raises(ConfigError, match=message):
        ServerConfig(**options)


def test_alpn_follows_the_core(monkeypatch: pytest.MonkeyPatch, certs: Certificates) -> None:
    """RFC 7301 section 3.2: the server offers what the core speaks, in the core's order of
    preference, read when the server starts; "h2" only while HTTP/2 is switched on."""
    config = ServerConfig(ssl_certfile=certs.certfile, ssl_keyfile=certs.keyfile)
    monkeypatch.setattr(core_connection, "SUPPORTED_ALPN", ("h2", "http/1.1"))
    assert alpn_protocols(config) == ["h2", "http/1.1"]
    no_h2 = ServerConfig(ssl_certfile=certs.certfile, protocol=Config(http2=False))
    assert alpn_protocols(no_h2) == ["http/1.1"]
    monkeypatch.setattr(core_connection, "SUPPORTED_ALPN", ("http/1.1",))
    assert alpn_protocols(config) == ["http/1.1"]


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        (((("commonName", "a"),),), "CN=a"),
        (
            ((("countryName", "FR"),), (("organizationName", "A, B+C"),), (("commonName", "x"),)),
            "CN=x,O=A\\, B\\+C,C=FR",
        ),
        (
            ((("commonName", "#lead and trail "), ("userId", "u\\1")),),
            "CN=\\#lead and trail\\ +UID=u\\\\1",
        ),
        (((("emailAddress", "a@b.example"),),), "1.2.840.113549.1.9.1=a@b.example"),
    ],
)
def test_client_cert_name_is_written_as_rfc4514_says(subject: Any, expected: str) -> None:
    """RFC 4514 sections 2.1 to 2.4: last RDN first, short names, escaped values."""
    assert rfc4514_name(subject) == expected


# -- the command line ----------------------------------------------------------------------------


def test_cli_serves_https_to_curl(cli_backend: list[str], certs: Certificates) -> None:
    """RFC 9110 section 4.2.2: an https URI is served over TLS; curl verifies the chain."""
    curl = shutil.which("curl")
    if curl is None:
        if os.environ.get("CI"):
            pytest.fail("curl is missing: .ci/run installs it")
        pytest.skip("curl is not installed")
    flags = ["--certfile", certs.certfile, "--keyfile", certs.keyfile, "--port", "0"]
    with ServerProcess(*cli_backend, *flags) as server:
        assert server.scheme == "https"
        assert f"Serving on https://127.0.0.1:{server.port}" in server.output()
        result = subprocess.run(
            [curl, "-sS", "--http1.1", "--cacert", certs.ca_file,
             f"https://127.0.0.1:{server.port}/scope"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert '"scheme": "https"' in result.stdout


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "asgi_core", "--app-dir", str(TESTS_DIR), "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_cli_missing_certificate_exits_2_naming_it(tmp_path: Path) -> None:
    """A certificate file that cannot be read is a bad command line: exit 2, one line."""
    missing = str(tmp_path / "nope.pem")
    result = run_cli("--certfile", missing)
    assert result.returncode == 2
    assert missing in result.stderr and "No such file" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_cli_bad_tls_arguments_exit_2(tmp_path: Path, certs: Certificates) -> None:
    """A key without a certificate, a file that is not PEM, or an encrypted key without its
    password each exit 2 with one line."""
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("hello\n")
    encrypted = tmp_path / "encrypted.pem"
    encrypted.write_bytes(_encrypted_key(certs, b"secret"))
    for args, needle in (
        (["--keyfile", certs.keyfile], "needs ssl_certfile"),
        (["--certfile", str(not_pem)], str(not_pem)),
        (["--certfile", certs.certfile, "--keyfile", str(encrypted)], "is encrypted"),
        (["--certfile", certs.certfile, "--cert-reqs", "required"], "needs ssl_ca_certs"),
    ):
        result = run_cli(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert needle in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_cli_encrypted_key_with_its_password(certs: Certificates, tmp_path: Path) -> None:
    """--keyfile-password unlocks an encrypted key."""
    encrypted = tmp_path / "encrypted.pem"
    encrypted.write_bytes(_encrypted_key(certs, b"secret"))
    flags = ["--certfile", certs.certfile, "--keyfile", str(encrypted)]
    with ServerProcess(
        "helpers.apps:hello", *flags, "--keyfile-password", "secret", "--port", "0"
    ) as server:
        url = f"https://{server.host}:{server.port}"
        assert httpx.get(url, verify=client_context(certs)).status_code == 200


def _encrypted_key(certs: Certificates, password: bytes) -> bytes:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(Path(certs.keyfile).read_bytes(), None)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(password),
    )
