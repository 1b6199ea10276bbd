"""Behind a proxy: who the client really is, as pure functions of bytes and the peer address.

- ``TrustedPeers``: the ``forwarded_allow_ips`` list (IPs, CIDRs, ``*``, ``unix``), matched
  against an address as uvicorn's ``ProxyHeadersMiddleware`` does.
- ``forwarded``: a trusted peer's ``Forwarded`` (RFC 7239) or ``X-Forwarded-*`` headers to
  the client, scheme, host and path prefix they announce, all or nothing: one malformed value,
  or both header families at once, and none of it applies.
- ``ProxyProtocolParser``: HAProxy's PROXY protocol, v1 and v2 (doc/proxy-protocol.txt), fed
  bytes as they come; it waits for the whole header, never guesses, and raises
  ``ProxyProtocolError`` on anything that does not match the text exactly.
"""

from __future__ import annotations

import ipaddress
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from .errors import ConfigError

Address = tuple[str, int | None] | None
Headers = list[tuple[bytes, bytes]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# -- trusted peers --------------------------------------------------------------------------


class TrustedPeers:
    """Which addresses may speak for a client: IPs, CIDR networks, ``*`` (any) and ``unix``
    (a peer on a Unix socket, whose ASGI address has no port)."""

    __slots__ = ("_addresses", "_any", "_networks", "_texts", "unix")

    def __init__(self, allowed: Iterable[str]) -> None:
        self._any = False
        self.unix = False
        self._texts: set[str] = set()
        self._addresses: set[IPAddress] = set()
        self._networks: list[IPNetwork] = []
        for item in allowed:
            self._add(item.strip())

    def _add(self, item: str) -> None:
        if item == "*":
            self._any = True
        elif item == "unix":
            self.unix = True
        elif "/" in item:
            try:
                self._networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ConfigError(f"forwarded_allow_ips: {item!r} is not a network") from None
        else:
            try:
                self._addresses.add(ipaddress.ip_address(item))
            except ValueError:
                raise ConfigError(
                    f"forwarded_allow_ips: {item!r} is not an IP, a CIDR network, '*' or 'unix'"
                ) from None
            self._texts.add(item)

    @property
    def everyone(self) -> bool:
        """``*``: every peer is trusted."""
        return self._any

    def trusts(self, host: str) -> bool:
        """Whether an IP address (text) is trusted; anything that is not an IP is not."""
        if self._any or host in self._texts:
            return True
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return ip in self._addresses or any(ip in network for network in self._networks)

    def trusts_peer(self, peer: Address) -> bool:
        """Whether the transport's peer is trusted: a Unix socket's (no port) by ``unix``."""
        if self._any:
            return True
        if peer is None or peer[1] is None:
            return self.unix
        return self.trusts(peer[0])


@lru_cache(maxsize=32)
def trusted_peers(allowed: tuple[str, ...]) -> TrustedPeers:
    """The parsed list, once per distinct ``forwarded_allow_ips`` (a Config is frozen)."""
    return TrustedPeers(allowed)


# -- Forwarded and X-Forwarded-* ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Forwarded:
    """What a trusted proxy says of the request; None fields are left as the transport had."""

    client: tuple[str, int] | None = None
    #: "http" or "https" (a WebSocket scope makes it "ws" or "wss").
    scheme: str | None = None
    #: The ``host`` header value the client sent the proxy.
    host: bytes | None = None
    #: Where the proxy mounts the app (``X-Forwarded-Prefix``), prepended to ``root_path``.
    prefix: str | None = None


class ForwardedError(ValueError):
    """A proxy header that is malformed: none of the proxy headers apply."""


_SCHEMES = {"http": "http", "https": "https", "ws": "http", "wss": "https"}
#: RFC 9110 section 7.2 host [ ":" port ]: a reg-name or IPv4 (RFC 3986 3.2.2), or [IPv6].
_HOST = re.compile(rb"(?:[A-Za-z0-9._~!$&'()*+,;=%-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
#: RFC 7230 token characters (RFC 7239 section 4 uses token and quoted-string).
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_PAIR = re.compile(r'\s*([!#$%&\'*+.^_`|~0-9A-Za-z-]+)=("(?:[^"\\]|\\.)*"|[^;,"\s]*)\s*')
_X_NAMES = frozenset(
    {
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
        b"x-forwarded-port",
        b"x-forwarded-prefix",
    }
)


def forwarded(headers: Headers, trusted: TrustedPeers) -> Forwarded | None:
    """The proxy headers of a request from a trusted peer, or None when it sent none, sent
    a malformed one, or sent both ``Forwarded`` and ``X-Forwarded-*`` (which of them a
    client forged cannot be told, so neither is believed)."""
    standard: list[bytes] = []
    legacy: dict[bytes, list[bytes]] = {}
    for name, value in headers:
        if name == b"forwarded":
            standard.append(value)
        elif name in _X_NAMES:
            legacy.setdefault(name, []).append(value)
    if not standard and not legacy:
        return None
    if standard and legacy:
        return None
    try:
        if standard:
            return _from_forwarded(b",".join(standard), trusted)
        return _from_x_forwarded(legacy, trusted)
    except (ForwardedError, UnicodeDecodeError):
        return None


def _from_x_forwarded(headers: dict[bytes, list[bytes]], trusted: TrustedPeers) -> Forwarded:
    """``X-Forwarded-For`` gives the right-most untrusted hop; the others are one value each,
    the last one, which the nearest (trusted) proxy set."""
    client = None
    if b"x-forwarded-for" in headers:
        hops = [_hop(h.strip()) for h in b",".join(headers[b"x-forwarded-for"]).split(b",")]
        client = hops[_client_hop(hops, trusted)]
    scheme = _scheme(_last(headers.get(b"x-forwarded-proto")))
    host = _last(headers.get(b"x-forwarded-host"))
    port = _last(headers.get(b"x-forwarded-port"))
    prefix = _last(headers.get(b"x-forwarded-prefix"))
    if host is not None:
        host = _check_host(host)
    if port is not None:
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ForwardedError("X-Forwarded-Port")
        if host is not None and not host.endswith(b"]") and b":" not in host:
            host += b":" + port
    return Forwarded(client, scheme, host, _prefix(prefix))


def _last(values: list[bytes] | None) -> bytes | None:
    if not values:
        return None
    value = values[-1].rpartition(b",")[2].strip()
    if not value:
        raise ForwardedError("an empty proxy header")
    return value


def _scheme(value: bytes | None) -> str | None:
    if value is None:
        return None
    scheme = _SCHEMES.get(value.decode("ascii").lower())
    if scheme is None:
        raise ForwardedError("proto")
    return scheme


def _check_host(value: bytes) -> bytes:
    if _HOST.fullmatch(value) is None:
        raise ForwardedError("host")
    return value


def _prefix(value: bytes | None) -> str | None:
    if value is None:
        return None
    text = value.decode("ascii").rstrip("/")
    if text and (not text.startswith("/") or not text.isprintable()):
        raise ForwardedError("X-Forwarded-Prefix")
    return text or None


def _hop(text: bytes) -> tuple[str, int]:
    """One X-Forwarded-For entry: ``IP``, ``IPv4:port`` or ``[IPv6]:port``."""
    value = text.decode("ascii")
    host, port = _split_node(value)
    if not host or _TOKEN.fullmatch(host.replace(":", "")) is None:
        raise ForwardedError("X-Forwarded-For")
    return host, port


def _split_node(value: str) -> tuple[str, int]:
    """RFC 7239 section 6: ``nodename [ ":" node-port ]``, an IPv6 nodename in brackets; a
    port that is obfuscated (``_x``) or absent is 0, as uvicorn reports it."""
    if value.startswith("["):
        host, bracket, rest = value[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ForwardedError("node")
        port = rest[1:]
    elif value.count(":") == 1:
        host, _, port = value.partition(":")
    else:
        host, port = value, ""
    if port.isdigit() and int(port) < 65536:
        return host, int(port)
    if port and not port.startswith("_"):
        raise ForwardedError("node port")
    return host, 0


def _client_hop(hops: list[tuple[str, int]], trusted: TrustedPeers) -> int:
    """The index of the right-most hop that is not a trusted proxy; if every one is, 0 (the
    left-most). An index, not the hop: equal hops may stand at several places."""
    if not trusted.everyone:
        for index in range(len(hops) - 1, -1, -1):
            if not trusted.trusts(hops[index][0]):
                return index
    return 0


def _from_forwarded(value: bytes, trusted: TrustedPeers) -> Forwarded:
    """RFC 7239 section 4: comma-separated elements, one per hop, of ``;``-separated pairs;
    the element of the client hop (right-most untrusted ``for``) gives proto and host."""
    elements = [_element(text) for text in _split_elements(value.decode("ascii"))]
    if not elements:
        raise ForwardedError("empty Forwarded")
    chosen = elements[-1]
    hops = [(_forwarded_node(e["for"]), e) for e in elements if "for" in e]
    client = None
    if hops:
        client, chosen = hops[_client_hop([hop for hop, _ in hops], trusted)]
    scheme = _scheme(chosen["proto"].encode("ascii")) if "proto" in chosen else None
    host = _check_host(chosen["host"].encode("ascii")) if "host" in chosen else None
    return Forwarded(client, scheme, host, None)


def _split_elements(text: str) -> list[str]:
    """Split on commas outside quoted strings (RFC 7239 section 7.1: lists may be combined)."""
    elements: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            elements.append("".join(current))
            current = []
            continue
        current.append(char)
    if quoted:
        raise ForwardedError("unterminated quoted-string")
    elements.append("".join(current))
    return [element for element in elements if element.strip()]


def _element(text: str) -> dict[str, str]:
    """One forwarded-element: names are case-insensitive and appear once (RFC 7239 section 4)."""
    pairs: dict[str, str] = {}
    for part in _split_pairs(text):
        match = _PAIR.fullmatch(part)
        if match is None:
            raise ForwardedError("forwarded-pair")
        name, value = match.group(1).lower(), match.group(2)
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        if name in pairs:
            raise ForwardedError("a repeated parameter")
        pairs[name] = value
    return pairs


def _split_pairs(text: str) -> list[str]:
    parts: list[str] = []
    current, quoted = "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == ";" and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [part for part in parts if part.strip()]


def _forwarded_node(value: str) -> tuple[str, int]:
    """A ``for`` node (RFC 7239 section 6): an IP, ``unknown`` (6.2) or ``_obfuscated`` (6.3)."""
    host, port = _split_node(value)
    if host == "unknown" or (host.startswith("_") and _TOKEN.fullmatch(host)):
        return host, port
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ForwardedError("Forwarded for") from None
    if ":" in host and not value.startswith("["):
        raise ForwardedError("an IPv6 for without brackets")  # RFC 7239 section 6.1
    return host, port


def replace_host(headers: Headers, host: bytes) -> Headers:
    """The request's headers with ``host`` set to the proxy's (added if there was none)."""
    replaced = [(name, host if name == b"host" else value) for name, value in headers]
    if not any(name == b"host" for name, _ in headers):
        replaced.append((b"host", host))
    return replaced


# -- the PROXY protocol ---------------------------------------------------------------------

#: Section 2.2: the v2 signature, 12 bytes.
V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
#: Section 2.1: a v1 line is at most 107 bytes, CRLF included.
V1_MAX = 107
V1_PREFIX = b"PROXY "

PP2_TYPE_ALPN = 0x01
PP2_TYPE_AUTHORITY = 0x02
PP2_TYPE_CRC32C = 0x03
PP2_TYPE_SSL = 0x20
PP2_SUBTYPE_SSL_VERSION = 0x21
PP2_SUBTYPE_SSL_CN = 0x22
PP2_SUBTYPE_SSL_CIPHER = 0x23
PP2_CLIENT_SSL = 0x01
#: The longest v2 header we accept: 16 bytes and 216 of Unix addresses, plus TLVs.
V2_MAX_LENGTH = 4096


class ProxyProtocolError(ValueError):
    """The connection did not start with a valid PROXY header: it must be closed."""


@dataclass(frozen=True, slots=True)
class ProxyTLS:
    """The proxy's TLS with the client (section 2.2.6, PP2_TYPE_SSL)."""

    version: str | None = None
    cipher: str | None = None
    #: The client certificate's Common Name, when it sent one.
    common_name: str | None = None
    #: The client sent a certificate and it was verified (``verify`` is 0).
    verified: bool = False


@dataclass(frozen=True, slots=True)
class ProxyHeader:
    """A complete PROXY header. ``client``/``server`` None: use the transport's own (v2
    LOCAL, v1 UNKNOWN, an unspecified family)."""

    version: int
    client: Address = None
    server: Address = None
    #: v2 LOCAL: the proxy's own connection (a health check).
    local: bool = False
    #: The proxy ended TLS with the client.
    tls: ProxyTLS | None = None
    alpn: bytes | None = None
    authority: str | None = None
    #: Bytes after the header: the start of the connection's own data.
    rest: bytes = b""


class ProxyProtocolParser:
    """Sans-io: ``feed`` bytes until it returns the header (None: need more)."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> ProxyHeader | None:
        """Add ``data``; the header once complete, None while incomplete; raises
        ``ProxyProtocolError`` as soon as the bytes cannot be a valid header (b"" is EOF)."""
        if not data:
            raise ProxyProtocolError("the connection closed before its PROXY header ended")
        buffer = self._buffer
        buffer += data
        head = bytes(buffer[:12])
        if V2_SIGNATURE.startswith(head):
            if len(buffer) < 16:
                return None
            return self._v2(buffer)
        if V1_PREFIX.startswith(head[:6]):
            return self._v1(buffer)
        raise ProxyProtocolError("the connection does not start with a PROXY header")

    def _v1(self, buffer: bytearray) -> ProxyHeader | None:
        end = buffer.find(b"\r\n", 0, V1_MAX)
        if end < 0:
            if len(buffer) >= V1_MAX or b"\n" in buffer[:V1_MAX]:
                raise ProxyProtocolError("a PROXY v1 line must end in CRLF within 107 bytes")
            return None
        header = parse_v1(bytes(buffer[:end]))
        rest = bytes(buffer[end + 2 :])
        return ProxyHeader(1, header[0], header[1], rest=rest)

    def _v2(self, buffer: bytearray) -> ProxyHeader | None:
        version_command, family, length = struct.unpack_from("!BBH", buffer, 12)
        if version_command >> 4 != 2:
            raise ProxyProtocolError(f"PROXY v2: version {version_command >> 4}, not 2")
        command = version_command & 0x0F
        if command > 1:
            raise ProxyProtocolError(f"PROXY v2: unassigned command {command}")
        if 16 + length > V2_MAX_LENGTH:
            raise ProxyProtocolError(f"PROXY v2: a {length}-byte header is too long")
        if len(buffer) < 16 + length:
            return None  # section 2.2: never parse an address before the whole block is here
        block = bytes(buffer[16 : 16 + length])
        rest = bytes(buffer[16 + length :])
        return parse_v2(bytes(buffer[:16]), block, command == 0, family, rest)


def _v1_address(text: str, ipv6: bool) -> str:
    """Section 2.1: canonical IPv4 (no leading zeroes) or IPv6 of the announced family."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise ProxyProtocolError(f"PROXY v1: {text!r} is not an address") from None
    if (address.version == 6) != ipv6:
        raise ProxyProtocolError(f"PROXY v1: {text!r} is not of the announced family")
    return str(address) if ipv6 else text


def _v1_port(text: str) -> int:
    if not text.isdigit() or not text.isascii() or (text[0] == "0" and text != "0"):
        raise ProxyProtocolError(f"PROXY v1: {text!r} is not a port")
    port = int(text)
    if port > 65535:
        raise ProxyProtocolError(f"PROXY v1: port {port} is out of range")
    return port


def parse_v1(line: bytes) -> tuple[Address, Address]:
    """A v1 line without its CRLF: (client, server), both None for ``UNKNOWN``."""
    if not line.isascii():
        raise ProxyProtocolError("PROXY v1: the line is not US-ASCII")
    parts = line.decode("ascii").split(" ")
    if len(parts) >= 2 and parts[:2] == ["PROXY", "UNKNOWN"]:
        return None, None  # the rest of the line is ignored (section 2.1)
    if len(parts) != 6 or parts[0] != "PROXY" or parts[1] not in ("TCP4", "TCP6"):
        raise ProxyProtocolError(f"PROXY v1: malformed line {line[:V1_MAX]!r}")
    ipv6 = parts[1] == "TCP6"
    source, destination = _v1_address(parts[2], ipv6), _v1_address(parts[3], ipv6)
    return (source, _v1_port(parts[4])), (destination, _v1_port(parts[5]))


_V2_ADDRESSES = {0x11: (4, 12), 0x12: (4, 12), 0x21: (16, 36), 0x22: (16, 36)}
_V2_UNIX = (0x31, 0x32)


def parse_v2(head: bytes, block: bytes, local: bool, family: int, rest: bytes = b"") -> ProxyHeader:
    """The v2 address block and TLVs after the 16-byte header (section 2.2)."""
    if family >> 4 > 3 or family & 0x0F > 2:
        raise ProxyProtocolError(f"PROXY v2: unspecified family/protocol {family:#04x}")
    client: Address = None
    server: Address = None
    used = 0
    if family in _V2_ADDRESSES:
        size, used = _V2_ADDRESSES[family]
        if len(block) < used:
            raise ProxyProtocolError("PROXY v2: the address block is too short")
        source = ipaddress.ip_address(block[:size])
        destination = ipaddress.ip_address(block[size : 2 * size])
        source_port, destination_port = struct.unpack_from("!HH", block, 2 * size)
        client, server = (str(source), source_port), (str(destination), destination_port)
    elif family in _V2_UNIX:
        used = 216
        if len(block) < used:
            raise ProxyProtocolError("PROXY v2: the address block is too short")
        client = (_unix_path(block[:108]), None)
        server = (_unix_path(block[108:216]), None)
    # An unspecified family's block is ignored whole: where its TLVs would start is unknown.
    tlvs = _tlvs(block[used:]) if family >> 4 else {}
    if PP2_TYPE_CRC32C in tlvs:
        _check_crc(head + block, tlvs[PP2_TYPE_CRC32C], used)
    if local:  # section 2.2: LOCAL uses the real endpoints, whatever the block says
        client = server = None
    authority = tlvs.get(PP2_TYPE_AUTHORITY)
    return ProxyHeader(
        2,
        client,
        server,
        local=local,
        tls=_ssl(tlvs[PP2_TYPE_SSL]) if PP2_TYPE_SSL in tlvs else None,
        alpn=tlvs.get(PP2_TYPE_ALPN),
        authority=None if authority is None else authority.decode("utf-8", "replace"),
        rest=rest,
    )


def _unix_path(raw: bytes) -> str:
    return raw.split(b"\x00", 1)[0].decode("utf-8", "replace")


def _tlvs(data: bytes) -> dict[int, bytes]:
    """Type-length-value vectors (section 2.2); the last of a repeated type wins."""
    found: dict[int, bytes] = {}
    at = 0
    while at < len(data):
        if len(data) - at < 3:
            raise ProxyProtocolError("PROXY v2: a truncated TLV")
        kind, length = data[at], int.from_bytes(data[at + 1 : at + 3], "big")
        if at + 3 + length > len(data):
            raise ProxyProtocolError(f"PROXY v2: TLV {kind:#04x} runs past the header")
        found[kind] = data[at + 3 : at + 3 + length]
        at += 3 + length
    return found


def _ssl(value: bytes) -> ProxyTLS | None:
    """Section 2.2.6: ``client`` flags, ``verify``, then sub-TLVs; None unless PP2_CLIENT_SSL."""
    if len(value) < 5:
        raise ProxyProtocolError("PROXY v2: a truncated PP2_TYPE_SSL")
    client, verify = value[0], int.from_bytes(value[1:5], "big")
    subs = _tlvs(value[5:])
    if not client & PP2_CLIENT_SSL:
        return None

    def text(kind: int) -> str | None:
        raw = subs.get(kind)
        return None if raw is None else raw.decode("utf-8", "replace")

    certificate = client & 0x06 != 0
    return ProxyTLS(
        version=text(PP2_SUBTYPE_SSL_VERSION),
        cipher=text(PP2_SUBTYPE_SSL_CIPHER),
        common_name=text(PP2_SUBTYPE_SSL_CN),
        verified=certificate and verify == 0,
    )


def _check_crc(header: bytes, value: bytes, addresses: int) -> None:
    """Section 2.2.3: the CRC32c of the header with the checksum's own 4 bytes as zeroes."""
    if len(value) != 4:
        raise ProxyProtocolError("PROXY v2: PP2_TYPE_CRC32C is not 4 bytes")
    at = 16 + addresses
    while at < len(header):  # find the TLV's value offset again
        kind, length = header[at], int.from_bytes(header[at + 1 : at + 3], "big")
        if kind == PP2_TYPE_CRC32C:
            zeroed = header[: at + 3] + b"\x00\x00\x00\x00" + header[at + 7 :]
            if crc32c(zeroed) != int.from_bytes(value, "big"):
                raise ProxyProtocolError("PROXY v2: the CRC32c does not match")
            return
        at += 3 + length


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC_TABLE = _crc_table()


def crc32c(data: bytes) -> int:
    """CRC32c (Castagnoli), as RFC 4960 appendix B computes it."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _CRC_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF
