"""Config.default_headers (``--header NAME:VALUE``): added to every response on both wires,
beside Server and Date, unless the application sent a header of that name."""

from __future__ import annotations

import pytest
from helpers.harness import H2Peer, Harness

from asgi_core import Config, ConfigError

GET = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"
DEFAULTS = Config(default_headers=((b"x-served-by", b"edge-1"), (b"x-frame-options", b"DENY")))


def test_default_headers_go_on_every_http11_response_unless_the_app_sent_them() -> None:
    h = Harness(DEFAULTS).feed(GET)
    h.respond(1, headers=[(b"X-Frame-Options", b"SAMEORIGIN")])
    (response,) = h.responses()
    assert response.header(b"x-served-by") == b"edge-1"
    assert response.header(b"x-frame-options") == b"SAMEORIGIN"
    assert response.header(b"server") == b"asgi-core"


def test_default_headers_go_on_the_servers_own_error_responses() -> None:
    h = Harness(DEFAULTS).feed(b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: x\r\n\r\n")
    (response,) = h.responses()
    assert response.status == 400
    assert response.header(b"x-served-by") == b"edge-1"


def test_a_default_server_header_replaces_the_configured_one() -> None:
    h = Harness(Config(default_headers=((b"server", b"mine"),))).feed(GET)
    h.respond(1)
    (response,) = h.responses()
    assert response.headers.count((b"server", b"mine")) == 1
    assert response.header(b"server") == b"mine"


def test_default_headers_go_on_http2_responses() -> None:
    h = Harness(DEFAULTS)
    peer = H2Peer(h)
    sid = peer.request("/")
    h.respond(sid, b"hi", headers=[(b"x-frame-options", b"SAMEORIGIN")])
    peer.flush()
    got = peer.response_headers(sid)
    assert got[b"x-served-by"] == b"edge-1"
    assert got[b"x-frame-options"] == b"SAMEORIGIN"


@pytest.mark.parametrize(
    "headers",
    [
        ((b"X-Upper", b"1"),),
        ((b"bad name", b"1"),),
        ((b"x-a", b"a\r\nb"),),
        (("x-a", "1"),),
        [(b"x-a", b"1")],
    ],
)
def test_bad_default_headers_are_refused(headers: object) -> None:
    with pytest.raises(ConfigError, match="default_headers"):
        Config(default_headers=headers)  # type: ignore[arg-type]
