"""The PROXY protocol header, read by every driver before anything else (TLS included).

The core parses (``asgi_core.proxy.ProxyProtocolParser``); this helper holds one connection's
parser, the trust check (only ``forwarded_allow_ips`` peers may send a header: PROXY section
2.2, "only trusted proxies"), and what the core is then made with: the announced addresses,
and "https" and the ASGI ``tls`` dict when the proxy says it ended TLS with the client.
"""

from __future__ import annotations

from typing import Any

from asgi_core.proxy import ProxyProtocolParser, trusted_peers
from asgi_core.scope import Address

from .config import ServerConfig
from .logs import logger
from .runtime import Stream
from .sockets import socket_address
from .tls import proxied_extension


class ProxyHeaderReader:
    """One connection's PROXY header: ``feed`` bytes until True; then ``client``,
    ``server``, ``scheme``, ``tls`` and ``rest`` (what followed the header) are the
    connection's."""

    __slots__ = ("client", "parser", "peer", "rest", "scheme", "server", "timeout", "tls",
                 "trusted")  # fmt: skip

    def __init__(self, config: ServerConfig, peer: Any, local: Any) -> None:
        self.peer: Address = socket_address(peer)
        self.client: Address = self.peer
        self.server: Address = socket_address(local)
        self.scheme: str | None = None
        #: The scope's ``tls`` extension, for TLS the proxy ended (None: it did not say so).
        self.tls: dict[str, Any] | None = None
        self.rest = b""
        self.timeout = config.proxy_protocol_timeout
        allowed = config.protocol.forwarded_allow_ips
        self.trusted = trusted_peers(allowed).trusts_peer(self.peer)
        self.parser = ProxyProtocolParser()

    def feed(self, data: bytes) -> bool:
        """True once the header is whole; raises ``ProxyProtocolError`` when it is not valid
        (b"" before its end included): the connection must then be closed."""
        header = self.parser.feed(data)
        if header is None:
            return False
        if header.client is not None:  # else (LOCAL, UNKNOWN): the socket's own addresses
            self.client, self.server = header.client, header.server
        if header.tls is not None:
            self.scheme = "https"
            self.tls = proxied_extension(header.tls)
        self.rest = header.rest
        return True

    def refuse(self, why: object) -> None:
        """Log why this connection is closed before serving it (hostile input: info only)."""
        logger.info("closing the connection from %s: %s", _shown(self.peer), why)


def _shown(address: Address) -> str:
    if address is None:
        return "a Unix socket"
    return address[0] if address[1] is None else f"{address[0]}:{address[1]}"


class ReplayedStream:
    """A ``Stream`` whose first reads return bytes already read past the PROXY header."""

    __slots__ = ("_first", "_stream")

    def __init__(self, stream: Stream, first: bytes) -> None:
        self._stream = stream
        self._first = first

    async def receive(self, size: int) -> bytes:
        first = self._first
        if first:
            self._first = first[size:]
            return first[:size]
        return await self._stream.receive(size)

    async def send(self, data: bytes) -> bool:
        return await self._stream.send(data)

    async def aclose(self) -> None:
        await self._stream.aclose()

    def addresses(self) -> tuple[Any, Any]:
        return self._stream.addresses()
