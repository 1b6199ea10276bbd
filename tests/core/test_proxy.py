"""Behind a proxy, in the pure core (``asgi_core/proxy.py``): trusted peers, ``Forwarded``
(RFC 7239) and ``X-Forwarded-*`` into scopes, and the PROXY protocol parser (HAProxy's
doc/proxy-protocol.txt, cited as "PP" with its section numbers)."""

from __future__ import annotations

import ipaddress
import struct

import pytest
from helpers.harness import CLIENT, SERVER, H2Peer, Harness, WebSocketPeer

from asgi_core import Config
from asgi_core.errors import ConfigError
from asgi_core.proxy import (
    V2_SIGNATURE,
    ProxyHeader,
    ProxyProtocolError,
    ProxyProtocolParser,
    TrustedPeers,
    crc32c,
)

PEER = CLIENT[0]  # the harness's client: here, the proxy
PROXIED = Config(proxy_headers=True, forwarded_allow_ips=(PEER,))


def scope_of(headers: bytes, config: Config = PROXIED, **kwargs: object) -> dict:
    request = b"GET /p?q=1 HTTP/1.1\r\nHost: internal:8000\r\n" + headers + b"\r\n"
    h = Harness(config, **kwargs).feed(request)  # type: ignore[arg-type]
    assert h.stream_ids == [1]
    return h.scopes[1]


def host_of(scope: dict) -> bytes:
    return dict(scope["headers"])[b"host"]


# -- trusted peers (uvicorn's middleware/proxy_headers.py semantics) -------------------------


def test_trusted_peers_match_ips_networks_and_ipv4_mapped_addresses() -> None:
    trusted = TrustedPeers(["127.0.0.1", "10.0.0.0/8", "2001:db8::/32", "::1"])
    assert trusted.trusts("127.0.0.1")
    assert trusted.trusts("10.1.2.3")
    assert trusted.trusts("2001:db8::17")
    assert trusted.trusts("0:0:0:0:0:0:0:1")  # another spelling of ::1
    assert trusted.trusts("::ffff:10.0.0.1")
    assert not trusted.trusts("192.0.2.1")
    assert not trusted.trusts("unknown")
    assert not trusted.trusts("")


def test_star_trusts_everyone_and_unix_trusts_unix_socket_peers() -> None:
    assert TrustedPeers(["*"]).trusts_peer(("198.51.100.1", 1))
    unix = TrustedPeers(["unix"])
    assert unix.trusts_peer(("/run/app.sock", None))
    assert unix.trusts_peer(None)  # an unnamed Unix socket peer
    assert not unix.trusts_peer(("127.0.0.1", 5000))
    assert not TrustedPeers(["127.0.0.1"]).trusts_peer(("/run/app.sock", None))


@pytest.mark.parametrize("bad", ["example.com", "10.0.0.0/33", "1.2.3", "unix:/x"])
def test_a_bad_allow_list_item_is_a_one_line_config_error(bad: str) -> None:
    with pytest.raises(ConfigError, match="forwarded_allow_ips") as caught:
        Config(forwarded_allow_ips=(bad,))
    assert "\n" not in str(caught.value)


def test_allow_list_takes_uvicorns_comma_separated_form() -> None:
    config = Config(forwarded_allow_ips=("10.0.0.1, 10.0.0.2", "unix"))
    assert config.forwarded_allow_ips == ("10.0.0.1", "10.0.0.2", "unix")
    assert Config(forwarded_allow_ips="*").forwarded_allow_ips == ("*",)  # type: ignore[arg-type]


def test_proxy_headers_is_a_bool() -> None:
    with pytest.raises(ConfigError, match="proxy_headers"):
        Config(proxy_headers="yes")  # type: ignore[arg-type]


# -- X-Forwarded-* ----------------------------------------------------------------------------


def test_x_forwarded_headers_from_a_trusted_peer_set_client_scheme_host_and_root_path() -> None:
    scope = scope_of(
        b"X-Forwarded-For: 198.51.100.9\r\nX-Forwarded-Proto: https\r\n"
        b"X-Forwarded-Host: example.com\r\nX-Forwarded-Port: 8443\r\n"
        b"X-Forwarded-Prefix: /api/\r\n"
    )
    assert scope["client"] == ("198.51.100.9", 0)
    assert scope["scheme"] == "https"
    assert host_of(scope) == b"example.com:8443"
    assert scope["root_path"] == "/api"
    assert scope["path"] == "/api/p"
    assert scope["raw_path"] == b"/api/p"
    assert scope["server"] == SERVER


def test_the_client_is_the_right_most_untrusted_hop() -> None:
    config = Config(proxy_headers=True, forwarded_allow_ips=(PEER, "10.0.0.0/8"))
    scope = scope_of(
        b"X-Forwarded-For: 1.1.1.1, 198.51.100.9\r\nX-Forwarded-For: 10.0.0.2, 10.0.0.3\r\n",
        config,
    )
    assert scope["client"] == ("198.51.100.9", 0)  # 1.1.1.1 was the client's own claim


def test_when_every_hop_is_trusted_the_left_most_is_the_client() -> None:
    config = Config(proxy_headers=True, forwarded_allow_ips=(PEER, "10.0.0.0/8"))
    assert scope_of(b"X-Forwarded-For: 10.0.0.1, 10.0.0.2\r\n", config)["client"] == (
        "10.0.0.1",
        0,
    )
    star = Config(proxy_headers=True, forwarded_allow_ips=("*",))
    assert scope_of(b"X-Forwarded-For: 1.1.1.1, 2.2.2.2\r\n", star)["client"] == ("1.1.1.1", 0)


def test_x_forwarded_for_ports_are_kept() -> None:
    assert scope_of(b"X-Forwarded-For: 198.51.100.9:4711\r\n")["client"] == ("198.51.100.9", 4711)
    assert scope_of(b"X-Forwarded-For: [2001:db8::1]:4711\r\n")["client"] == ("2001:db8::1", 4711)


def test_headers_from_an_untrusted_peer_are_ignored_whole() -> None:
    config = Config(proxy_headers=True, forwarded_allow_ips=("10.0.0.1",))
    scope = scope_of(b"X-Forwarded-For: 1.1.1.1\r\nX-Forwarded-Proto: https\r\n", config)
    assert scope["client"] == CLIENT
    assert scope["scheme"] == "http"
    assert host_of(scope) == b"internal:8000"


def test_headers_are_ignored_when_proxy_headers_is_off() -> None:
    scope = scope_of(b"X-Forwarded-For: 1.1.1.1\r\n", Config(forwarded_allow_ips=(PEER,)))
    assert scope["client"] == CLIENT


@pytest.mark.parametrize(
    "headers",
    [
        b"X-Forwarded-Proto: gopher\r\n",
        b"X-Forwarded-Host: exa mple.com\r\n",
        b"X-Forwarded-Port: 99999\r\n",
        b"X-Forwarded-Prefix: api\r\n",
        b"X-Forwarded-For: 1.1.1.1:x\r\n",
        b"X-Forwarded-For: \r\n",
        b"X-Forwarded-For: 1.1.1.1\r\nForwarded: for=2.2.2.2\r\n",
    ],
    ids=["proto", "host", "port", "prefix", "for-port", "empty", "both-families"],
)
def test_one_malformed_or_conflicting_header_and_none_applies(headers: bytes) -> None:
    scope = scope_of(b"X-Forwarded-Proto: https\r\n" + headers)
    assert scope["client"] == CLIENT
    assert scope["scheme"] == "http"  # not half applied: the good proto is dropped too
    assert host_of(scope) == b"internal:8000"


def test_websocket_scheme_follows_the_proxy() -> None:
    h = Harness(PROXIED)
    WebSocketPeer(h, extra_headers=[(b"X-Forwarded-Proto", b"https"),
                                    (b"X-Forwarded-For", b"198.51.100.9")])  # fmt: skip
    scope = h.scopes[1]
    assert scope["type"] == "websocket"
    assert scope["scheme"] == "wss"
    assert scope["client"] == ("198.51.100.9", 0)


def test_http2_scope_takes_the_forwarded_host_over_the_authority() -> None:
    h = Harness(PROXIED)
    peer = H2Peer(h)
    peer.request("/", headers=[(b"x-forwarded-host", b"example.org"),
                               (b"x-forwarded-proto", b"https")])  # fmt: skip
    scope = h.scopes[1]
    assert scope["http_version"] == "2"
    assert scope["scheme"] == "https"
    assert host_of(scope) == b"example.org"


def test_unix_socket_peers_are_trusted_with_unix() -> None:
    config = Config(proxy_headers=True, forwarded_allow_ips=("unix",))
    scope = scope_of(b"X-Forwarded-For: 198.51.100.9\r\n", config, client=None)
    assert scope["client"] == ("198.51.100.9", 0)


# -- RFC 7239 Forwarded -------------------------------------------------------------------------


def test_forwarded_for_proto_and_host() -> None:
    """RFC 7239 section 4 (syntax), 5.2 (for), 5.3 (host), 5.4 (proto)."""
    scope = scope_of(b'Forwarded: for=198.51.100.9;proto=https;host="example.com"\r\n')
    assert scope["client"] == ("198.51.100.9", 0)
    assert scope["scheme"] == "https"
    assert host_of(scope) == b"example.com"


def test_forwarded_ipv6_is_quoted_and_bracketed_with_its_port() -> None:
    """RFC 7239 section 6.1 (and its example in section 4)."""
    scope = scope_of(b'Forwarded: For="[2001:db8:cafe::17]:4711"\r\n')
    assert scope["client"] == ("2001:db8:cafe::17", 4711)


def test_forwarded_takes_the_proto_and_host_of_the_client_hop() -> None:
    """RFC 7239 section 7.1: one element per hop, combinable over several fields."""
    config = Config(proxy_headers=True, forwarded_allow_ips=(PEER, "10.0.0.0/8"))
    scope = scope_of(
        b"Forwarded: for=1.1.1.1;proto=http, for=198.51.100.9;proto=https;host=a.example\r\n"
        b"Forwarded: for=10.0.0.2;proto=http;host=internal\r\n",
        config,
    )
    assert scope["client"] == ("198.51.100.9", 0)
    assert scope["scheme"] == "https"
    assert host_of(scope) == b"a.example"


def test_forwarded_unknown_and_obfuscated_nodes_are_clients() -> None:
    """RFC 7239 sections 6.2 ("unknown") and 6.3 (obfuscated identifiers)."""
    assert scope_of(b"Forwarded: for=unknown\r\n")["client"] == ("unknown", 0)
    assert scope_of(b'Forwarded: for="_hidden:_port"\r\n')["client"] == ("_hidden", 0)


@pytest.mark.parametrize(
    "value",
    [
        b"for=2001:db8::1",  # section 6.1: IPv6 must be bracketed (and so quoted)
        b"for=1.1.1.1;for=2.2.2.2",  # section 4: a parameter appears once per element
        b'for="1.1.1.1',
        b"for=example.com",
        b"proto=gopher",
        b"junk",
    ],
)
def test_a_malformed_forwarded_applies_nothing(value: bytes) -> None:
    scope = scope_of(b"Forwarded: " + value + b"\r\n")
    assert scope["client"] == CLIENT
    assert scope["scheme"] == "http"


# -- PROXY protocol v1 (PP section 2.1) ---------------------------------------------------------


def parse(data: bytes) -> ProxyHeader:
    header = ProxyProtocolParser().feed(data)
    assert header is not None
    return header


def test_v1_tcp4_gives_both_addresses_and_the_rest() -> None:
    header = parse(b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n")
    assert header.version == 1
    assert header.client == ("192.168.0.1", 56324)
    assert header.server == ("192.168.0.11", 443)
    assert header.rest == b"GET / HTTP/1.1\r\n"


def test_v1_tcp6_and_unknown() -> None:
    header = parse(b"PROXY TCP6 2001:DB8::1 2001:db8::2 1 2\r\n")
    assert header.client == ("2001:db8::1", 1)
    unknown = parse(b"PROXY UNKNOWN ffff::1 ffff::2 65535 65535\r\nx")
    assert (unknown.client, unknown.server, unknown.rest) == (None, None, b"x")
    assert parse(b"PROXY UNKNOWN\r\n").client is None


def test_v1_worst_case_line_of_107_bytes_is_accepted() -> None:
    """PP 2.1: "PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\\r\\n" is 107."""
    address = ":".join(["ffff"] * 8)
    line = f"PROXY UNKNOWN {address} {address} 65535 65535\r\n".encode()
    assert len(line) == 107
    assert parse(line).client is None


def test_v1_is_parsed_only_once_its_crlf_is_here_whatever_the_split() -> None:
    """PP 2.1: "The receiver must wait for the CRLF sequence before starting to decode"."""
    data = b"PROXY TCP4 10.0.0.1 10.0.0.2 1000 80\r\nGET"
    for at in range(1, len(data)):
        parser = ProxyProtocolParser()
        first = parser.feed(data[:at])
        header = first if first is not None else parser.feed(data[at:])
        assert header is not None and header.client == ("10.0.0.1", 1000)
        assert header.rest == data[data.index(b"\n") + 1 :] if first is None else True


@pytest.mark.parametrize(
    "line",
    [
        b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\n",  # a lone LF
        b"PROXY TCP4 192.168.000.1 192.168.0.11 56324 443\r\n",  # leading zeroes
        b"PROXY TCP4 192.168.0.1 192.168.0.11 056324 443\r\n",
        b"PROXY TCP4 192.168.0.1 192.168.0.11 65536 443\r\n",
        b"PROXY TCP4 ::1 ::2 1 2\r\n",  # not the announced family
        b"PROXY TCP4  192.168.0.1 192.168.0.11 56324 443\r\n",  # two spaces
        b"PROXY UDP4 192.168.0.1 192.168.0.11 56324 443\r\n",
        b"PROXY TCP4 192.168.0.1 192.168.0.11 56324\r\n",
        b"PROXY " + b"A" * 120 + b"\r\n",  # no CRLF within 107 bytes
        b"GET / HTTP/1.1\r\n\r\n",  # PP 2: the receiver must not guess
        b"PROXYTCP4\r\n",
    ],
)
def test_v1_anything_not_exactly_the_format_is_an_error(line: bytes) -> None:
    """PP 2.1: "Any sequence which does not exactly match the protocol must be discarded"."""
    with pytest.raises(ProxyProtocolError):
        ProxyProtocolParser().feed(line)


def test_eof_before_the_header_ends_is_an_error() -> None:
    parser = ProxyProtocolParser()
    assert parser.feed(b"PROXY TCP4 1.2") is None
    with pytest.raises(ProxyProtocolError, match="closed"):
        parser.feed(b"")


# -- PROXY protocol v2 (PP section 2.2) ---------------------------------------------------------


def v2(command: int = 1, family: int = 0x11, block: bytes = b"", tlvs: bytes = b"") -> bytes:
    body = block + tlvs
    return V2_SIGNATURE + bytes([0x20 | command, family]) + struct.pack("!H", len(body)) + body


def tlv(kind: int, value: bytes) -> bytes:
    return bytes([kind]) + struct.pack("!H", len(value)) + value


IPV4_BLOCK = bytes([203, 0, 113, 9, 192, 0, 2, 1]) + struct.pack("!HH", 50000, 443)


def test_v2_tcp4_gives_both_addresses_and_the_rest() -> None:
    header = parse(v2(block=IPV4_BLOCK) + b"\x16\x03\x01")
    assert header.version == 2
    assert header.client == ("203.0.113.9", 50000)
    assert header.server == ("192.0.2.1", 443)
    assert header.rest == b"\x16\x03\x01"
    assert header.tls is None


def test_v2_tcp6_and_unix() -> None:
    a, b = ipaddress.ip_address("2001:db8::1").packed, ipaddress.ip_address("2001:db8::2").packed
    header = parse(v2(family=0x21, block=a + b + struct.pack("!HH", 1, 2)))
    assert header.client == ("2001:db8::1", 1)
    unix = b"/tmp/c".ljust(108, b"\x00") + b"/tmp/s".ljust(108, b"\x00")
    assert parse(v2(family=0x31, block=unix)).client == ("/tmp/c", None)


def test_v2_local_uses_the_real_endpoints_and_skips_any_block() -> None:
    """PP 2.2: LOCAL (health checks) "must use the real connection endpoints and discard the
    protocol block"; receivers "must not assume zero is presented for LOCAL"."""
    header = parse(v2(command=0, family=0x11, block=IPV4_BLOCK) + b"GET")
    assert header.local
    assert (header.client, header.server, header.rest) == (None, None, b"GET")
    assert parse(v2(command=0, family=0x00)).client is None


def test_v2_unspec_family_keeps_the_real_endpoints() -> None:
    assert parse(v2(family=0x00, block=b"ignored")).client is None


def test_v2_ssl_tlv_tells_that_the_proxy_terminated_tls() -> None:
    """PP 2.2.6: PP2_TYPE_SSL, PP2_CLIENT_SSL, and the version, cipher and CN sub-TLVs."""
    subs = tlv(0x21, b"TLSv1.3") + tlv(0x23, b"TLS_AES_256_GCM_SHA384") + tlv(0x22, b"alice")
    ssl = tlv(0x20, bytes([0x01 | 0x02]) + struct.pack("!I", 0) + subs)
    header = parse(v2(block=IPV4_BLOCK, tlvs=tlv(0x01, b"h2") + tlv(0x02, b"example.com") + ssl))
    assert header.tls is not None
    assert header.tls.version == "TLSv1.3"
    assert header.tls.cipher == "TLS_AES_256_GCM_SHA384"
    assert header.tls.common_name == "alice"
    assert header.tls.verified
    assert header.alpn == b"h2"
    assert header.authority == "example.com"
    no_tls = tlv(0x20, bytes([0]) + struct.pack("!I", 0))
    assert parse(v2(block=IPV4_BLOCK, tlvs=no_tls)).tls is None


def test_v2_crc32c_is_checked() -> None:
    """PP 2.2.3: a wrong checksum "MUST treat the TCP connection ... as invalid"."""
    assert crc32c(b"123456789") == 0xE3069283  # RFC 3720 B.4's check value
    unsigned = v2(block=IPV4_BLOCK, tlvs=tlv(0x03, b"\x00" * 4))
    good = unsigned[:-4] + struct.pack("!I", crc32c(unsigned))
    assert parse(good).client == ("203.0.113.9", 50000)
    with pytest.raises(ProxyProtocolError, match="CRC32c"):
        parse(unsigned[:-4] + b"\x00\x00\x00\x01")


def test_v2_waits_for_the_whole_header_whatever_the_split() -> None:
    """PP 2.2: "The receiver must not start to parse an address before the whole address
    block is received"."""
    data = v2(block=IPV4_BLOCK, tlvs=tlv(0x04, b"pad")) + b"rest"
    for at in range(1, len(data) - 4):
        parser = ProxyProtocolParser()
        assert parser.feed(data[:at]) is None
        header = parser.feed(data[at:])
        assert header is not None and header.client == ("203.0.113.9", 50000)
        assert header.rest == b"rest"


@pytest.mark.parametrize(
    "data",
    [
        V2_SIGNATURE + b"\x11\x11\x00\x00",  # version 1 in a v2 header
        V2_SIGNATURE + b"\x22\x11\x00\x00",  # command 2 is unassigned
        v2(family=0x41),  # family 4 is unspecified
        v2(family=0x13),  # protocol 3 is unspecified
        v2(block=IPV4_BLOCK[:8]),  # shorter than its family's addresses
        v2(block=IPV4_BLOCK, tlvs=b"\x04\x00"),  # a truncated TLV
        v2(block=IPV4_BLOCK, tlvs=b"\x04\x00\x09ab"),  # a TLV past the end
        v2(block=IPV4_BLOCK, tlvs=tlv(0x20, b"\x01")),  # a truncated SSL TLV
        V2_SIGNATURE + b"\x21\x11\xff\xff",  # longer than we hold
        b"\r\n\r\n\x00\r\nQUIX\n\x21\x11\x00\x00",
    ],
)
def test_v2_malformed_headers_are_errors(data: bytes) -> None:
    with pytest.raises(ProxyProtocolError):
        ProxyProtocolParser().feed(data)
