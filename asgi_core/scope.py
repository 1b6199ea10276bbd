"""Building ASGI scopes from a parsed request head (ASGI HTTP spec, "HTTP Connection Scope")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from .proxy import TrustedPeers, forwarded, replace_host

ASGI_VERSION = {"version": "3.0", "spec_version": "2.5"}

#: An ASGI ``client`` or ``server``: ``(host, port)``, ``(path, None)`` on a Unix socket, or None.
Address = tuple[str, int | None] | None
Headers = list[tuple[bytes, bytes]]


def split_target(target: bytes) -> tuple[bytes, bytes]:
    """Split a request target into ``raw_path`` and ``query_string`` (RFC 9112 section 3.2).

    An absolute-form target (``http://host/path``, section 3.2.2) keeps only its path.
    """
    if target[:1] != b"/" and b"://" in target:
        after_scheme = target.partition(b"://")[2]
        slash = after_scheme.find(b"/")
        query_at = after_scheme.find(b"?")
        if slash < 0 or 0 <= query_at < slash:
            target = b"/" + (after_scheme[query_at:] if query_at >= 0 else b"")
        else:
            target = after_scheme[slash:]
    path, _, query = target.partition(b"?")
    return path, query


def decode_path(raw_path: bytes) -> str:
    """Percent-decode a path as UTF-8; invalid sequences become U+FFFD rather than an error."""
    if b"%" not in raw_path:
        return raw_path.decode("utf-8", "replace") if not raw_path.isascii() else raw_path.decode()
    return unquote(raw_path.decode("latin-1"), encoding="utf-8", errors="replace")


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    """What every scope of one connection shares: the peers, the scheme, the mount point,
    the lifespan state and the TLS extension (added to every scope's ``extensions``).

    ``proxy`` is set only when proxy headers are on and the peer is trusted: each scope then
    takes its client, scheme, host and root_path from them (``asgi_core/proxy.py``).
    """

    scheme: str = "http"
    client: Address = None
    server: Address = None
    root_path: str = ""
    state: dict[str, Any] | None = None
    tls: dict[str, Any] | None = None
    proxy: TrustedPeers | None = None

    def http(
        self,
        *,
        method: str,
        http_version: str,
        target: bytes,
        headers: Headers,
        extensions: dict[str, dict[str, Any]],
    ) -> dict[str, Any]:
        """One request's ``http`` scope. ``path`` and ``raw_path`` include ``root_path``."""
        scope = self._scope("http", self.scheme, http_version, target, headers, extensions)
        scope["method"] = method
        return scope

    def websocket(
        self,
        *,
        http_version: str,
        target: bytes,
        headers: Headers,
        subprotocols: list[str],
        extensions: dict[str, dict[str, Any]],
    ) -> dict[str, Any]:
        """One WebSocket's ``websocket`` scope (ASGI websocket spec, "Connection Scope")."""
        scope = self._scope("websocket", self.scheme, http_version, target, headers, extensions)
        scope["subprotocols"] = subprotocols
        return scope

    def _scope(
        self,
        kind: str,
        scheme: str,
        http_version: str,
        target: bytes,
        headers: Headers,
        extensions: dict[str, dict[str, Any]],
    ) -> dict[str, Any]:
        raw_path, query_string = split_target(target)
        path = decode_path(raw_path)
        root_path = self.root_path
        client = self.client
        if self.proxy is not None and (said := forwarded(headers, self.proxy)) is not None:
            client = said.client or client
            scheme = said.scheme or scheme
            if said.host is not None:
                headers = replace_host(headers, said.host)
            if said.prefix is not None:
                root_path = said.prefix + root_path
        if kind == "websocket":
            scheme = "wss" if scheme == "https" else "ws"
        if root_path:
            path = root_path + path
            raw_path = quote(root_path, safe="/:@!$&'()*+,;=").encode("ascii") + raw_path
        if self.tls is not None:
            extensions["tls"] = self.tls
        scope: dict[str, Any] = {
            "type": kind,
            "asgi": ASGI_VERSION.copy(),
            "http_version": http_version,
            "scheme": scheme,
            "path": path,
            "raw_path": raw_path,
            "query_string": query_string,
            "root_path": root_path,
            "headers": headers,
            "client": client,
            "server": self.server,
            "extensions": extensions,
        }
        if self.state is not None:
            scope["state"] = self.state.copy()
        return scope
