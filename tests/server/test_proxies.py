"""Behind a proxy, on every backend: the PROXY protocol read before anything else (TLS
included), and X-Forwarded-* from a trusted peer, with the access log agreeing with ``client``.
"PP" cites HAProxy's doc/proxy-protocol.txt."""

from __future__ import annotations

import json
import logging
import socket
import ssl
import struct
import time
from typing import Any

import pytest
from helpers import apps
from helpers.tls import Certificates

from asgi_core.backends.tls import proxied_extension
from asgi_core.proxy import V2_SIGNATURE, ProxyTLS

REQUEST = b"GET /x HTTP/1.1\r\nHost: example\r\nConnection: close\r\n\r\n"
V1 = b"PROXY TCP4 198.51.100.9 192.0.2.1 4711 443\r\n"
BLOCK = bytes([198, 51, 100, 9, 192, 0, 2, 1]) + struct.pack("!HH", 4711, 443)


def v2(command: int = 1, tlvs: bytes = b"") -> bytes:
    body = BLOCK + tlvs
    return V2_SIGNATURE + bytes([0x20 | command, 0x11]) + struct.pack("!H", len(body)) + body


#: PP 2.2.6: PP2_TYPE_SSL with PP2_CLIENT_SSL and a version sub-TLV.
SSL_TLV = b"\x20" + struct.pack("!H", 5 + 10) + b"\x01" + b"\0\0\0\0" + b"\x21\x00\x07TLSv1.3"


def exchange(port: int, data: bytes, *, wrap: ssl.SSLContext | None = None) -> bytes:
    """Send ``data`` (a PROXY header, then ``REQUEST`` over TLS when ``wrap``), read to EOF."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(data)
        sock: Any = raw
        if wrap is not None:
            sock = wrap.wrap_socket(raw, server_hostname="127.0.0.1")
            sock.sendall(REQUEST)
        return read_to_eof(sock)


def read_to_eof(sock: Any) -> bytes:
    """Everything until the server closes (a reset, after a refused header, is a close too)."""
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except ConnectionResetError:
        pass
    return b"".join(chunks)


def peers_of(response: bytes) -> dict[str, Any]:
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), response
    return dict(json.loads(body))


def test_proxy_v1_sets_client_and_server_and_the_access_log_agrees(
    serve: Any, caplog: pytest.LogCaptureFixture
) -> None:
    server = serve(apps.peers, proxy_protocol=True, access_log=True)
    with caplog.at_level(logging.INFO, logger="asgi_core.access"):
        seen = peers_of(exchange(server.port, V1 + REQUEST))
    assert seen == {"client": ["198.51.100.9", 4711], "server": ["192.0.2.1", 443],
                    "scheme": "http"}  # fmt: skip
    lines = [r.getMessage() for r in caplog.records if r.name == "asgi_core.access"]
    assert lines and lines[0].startswith("198.51.100.9:4711 ")


def test_proxy_v2_split_in_pieces_with_tls_ended_at_the_proxy_is_https(serve: Any) -> None:
    server = serve(apps.peers, proxy_protocol=True)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        data = v2(tlvs=SSL_TLV) + REQUEST
        for at in (5, 15, 30):  # PP 2.2: the receiver waits for the whole header
            sock.sendall(data[:at])
            data = data[at:]
            time.sleep(0.02)
        sock.sendall(data)
        seen = peers_of(read_to_eof(sock))
    assert seen["client"] == ["198.51.100.9", 4711]
    assert seen["scheme"] == "https"


def ssl_tlv(client: int, verify: int, *subs: tuple[int, bytes]) -> bytes:
    """PP 2.2.6: PP2_TYPE_SSL, its ``client`` flags and ``verify``, then its sub-TLVs."""
    value = bytes([client]) + struct.pack("!I", verify)
    value += b"".join(bytes([kind]) + struct.pack("!H", len(v)) + v for kind, v in subs)
    return b"\x20" + struct.pack("!H", len(value)) + value


def test_proxy_v2_ssl_tlvs_fill_the_scopes_tls_extension(serve: Any) -> None:
    """PP 2.2.6 (PP2_CLIENT_SSL | PP2_CLIENT_CERT_CONN, verify 0, PP2_SUBTYPE_SSL_VERSION,
    _CIPHER, _CN) into asgiref's TLS extension: no certificate travels, so no chain."""
    server = serve(apps.peers, proxy_protocol=True)
    tlvs = ssl_tlv(0x03, 0, (0x21, b"TLSv1.3"), (0x23, b"TLS_AES_256_GCM_SHA384"),
                   (0x22, b"alice, admin"))  # fmt: skip
    seen = peers_of(exchange(server.port, v2(tlvs=tlvs) + REQUEST))
    assert seen["scheme"] == "https"
    assert seen["tls"] == {
        "server_cert": None,
        "client_cert_chain": [],
        "client_cert_name": "CN=alice\\, admin",  # RFC 4514 section 2.4
        "client_cert_error": None,
        "tls_version": 0x0304,
        "cipher_suite": 0x1302,  # RFC 8446 appendix B.4
    }


def test_proxy_v2_ssl_tlv_without_details_or_verification() -> None:
    """PP 2.2.6: a non-zero ``verify`` means the client's certificate was not verified; an
    unknown version or cipher is None, as asgiref's TLS extension allows."""
    bare = proxied_extension(ProxyTLS())
    assert bare["tls_version"] is None and bare["cipher_suite"] is None
    assert bare["client_cert_name"] is None and bare["client_cert_error"] is None
    odd = proxied_extension(ProxyTLS(version="SSLv3", cipher="NOPE", common_name="mallory"))
    assert odd["tls_version"] is None and odd["cipher_suite"] is None
    assert odd["client_cert_name"] == "CN=mallory"
    assert odd["client_cert_error"] == "the proxy did not verify the client certificate"
    tls12 = proxied_extension(ProxyTLS("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256"))
    assert (tls12["tls_version"], tls12["cipher_suite"]) == (0x0303, 0xC02F)


def test_proxy_v2_local_health_check_keeps_the_real_addresses(serve: Any) -> None:
    """PP 2.2: LOCAL "must use the real connection endpoints"."""
    server = serve(apps.peers, proxy_protocol=True)
    seen = peers_of(exchange(server.port, v2(command=0) + REQUEST))
    assert seen["client"][0] == "127.0.0.1"
    assert seen["server"] == ["127.0.0.1", server.port]


@pytest.mark.parametrize(
    "header",
    [b"GET / HTTP/1.1\r\n", b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", V2_SIGNATURE + b"\x99\x11\0\0"],
    ids=["no-header", "lone-lf", "bad-version"],
)
def test_a_malformed_header_closes_that_connection_only(
    serve: Any, header: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """PP 2.1: "Any sequence which does not exactly match ... cause the receiver to abort"."""
    server = serve(apps.peers, proxy_protocol=True)
    with caplog.at_level(logging.INFO, logger="asgi_core"):
        assert exchange(server.port, header + REQUEST) == b""
    assert any("PROXY" in r.getMessage() for r in caplog.records)
    assert peers_of(exchange(server.port, V1 + REQUEST))["client"][0] == "198.51.100.9"


def test_a_header_that_never_ends_is_closed_after_the_timeout(serve: Any) -> None:
    server = serve(apps.peers, proxy_protocol=True, proxy_protocol_timeout=0.3)
    started = time.monotonic()
    assert exchange(server.port, b"PROXY TCP4 1.2.") == b""
    assert 0.2 < time.monotonic() - started < 5


def test_a_peer_not_allowed_may_not_send_a_proxy_header(serve: Any) -> None:
    """PP 2: "The receiver SHOULD ensure ... only trusted proxies are allowed"."""
    server = serve(apps.peers, proxy_protocol=True, forwarded_allow_ips=("10.0.0.1",))
    assert exchange(server.port, V1 + REQUEST) == b""


def test_proxy_header_comes_before_tls(serve: Any, certs: Certificates) -> None:
    server = serve(apps.peers, proxy_protocol=True, ssl_certfile=certs.certfile,
                   ssl_keyfile=certs.keyfile)  # fmt: skip
    context = ssl.create_default_context(cafile=certs.ca_file)
    seen = peers_of(exchange(server.port, V1, wrap=context))
    assert seen["client"] == ["198.51.100.9", 4711]
    assert seen["scheme"] == "https"


def test_x_forwarded_headers_from_loopback_and_the_access_log_agrees(
    serve: Any, caplog: pytest.LogCaptureFixture
) -> None:
    server = serve(apps.peers, proxy_headers=True, access_log=True)
    request = REQUEST.replace(
        b"\r\n\r\n", b"\r\nX-Forwarded-For: 203.0.113.5\r\nX-Forwarded-Proto: https\r\n\r\n"
    )
    with caplog.at_level(logging.INFO, logger="asgi_core.access"):
        seen = peers_of(exchange(server.port, request))
    assert seen["client"] == ["203.0.113.5", 0]
    assert seen["scheme"] == "https"
    lines = [r.getMessage() for r in caplog.records if r.name == "asgi_core.access"]
    assert lines and lines[0].startswith("203.0.113.5:0 ")
