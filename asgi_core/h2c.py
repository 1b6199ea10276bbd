"""The HTTP/1.1 to HTTP/2 upgrade (``Upgrade: h2c``, RFC 7540 section 3.2), all of it here.

An HTTP/1.1 request on a cleartext connection may ask to continue over HTTP/2. The server may
always decline; this one accepts one valid ``HTTP2-Settings`` field named in ``Connection``,
with a body small enough to hold while it is read (a chunked or larger one is served over
HTTP/1.1 instead). Once that request is complete, ``switch_to_http2`` writes the 101 and hands
the connection to HTTP/2, where the request is stream 1 and HTTP2-Settings the client's
initial SETTINGS.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from .config import Config
from .headers import Headers
from .http2 import HTTP2Connection
from .protocol import ProtocolContext

#: The answer that switches the connection (RFC 7540 section 3.2).
SWITCHING_PROTOCOLS = (
    b"HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: h2c\r\n\r\n"
)

#: RFC 9113 section 6.5.2 (and RFC 8441 section 3): the values a setting may take.
_SETTING_RANGES = {
    0x2: (0, 1),  # SETTINGS_ENABLE_PUSH
    0x4: (0, 2**31 - 1),  # SETTINGS_INITIAL_WINDOW_SIZE
    0x5: (2**14, 2**24 - 1),  # SETTINGS_MAX_FRAME_SIZE
    0x8: (0, 1),  # SETTINGS_ENABLE_CONNECT_PROTOCOL
}

#: Fields of the upgrade request that belong to the HTTP/1.1 hop, not to stream 1.
_HOP_FIELDS = (b"connection", b"upgrade", b"http2-settings")


@dataclass(slots=True)
class H2CUpgrade:
    """An HTTP/1.1 request that asked for ``Upgrade: h2c``; it becomes stream 1."""

    method: bytes
    target: bytes
    headers: Headers
    settings: bytes
    #: The request body, read over HTTP/1.1 before the switch.
    body: bytes = b""
    #: What the client sent after the request (its HTTP/2 preface and frames).
    trailing: bytes = b""


def accept_upgrade(
    method: bytes, target: bytes, headers: Headers, upgrade: bytes, config: Config
) -> H2CUpgrade | None:
    """The upgrade to take for this request, or ``None`` to serve it over HTTP/1.1.

    ``upgrade`` is the request's lowercased Upgrade value.
    """
    if b"h2c" not in upgrade:
        return None
    settings: list[bytes] = []
    content_length: bytes | None = None
    named = False  # HTTP2-Settings is listed in Connection, as RFC 7540 section 3.2.1 asks
    for name, value in headers:
        if name == b"http2-settings":
            settings.append(value)
        elif name == b"content-length":
            content_length = value
        elif name == b"transfer-encoding":
            return None
        elif name == b"connection" and b"http2-settings" in value.lower():
            named = True
    if not named:
        return None
    if content_length is not None and int(content_length) > config.max_buffered_body_size:
        return None
    if len(settings) != 1 or not _valid_settings(settings[0]):
        return None
    return H2CUpgrade(method, target, headers, settings[0])


def _valid_settings(value: bytes) -> bool:
    """An HTTP2-Settings value: base64url of 6-octet settings, each within its range."""
    value = value.strip()
    try:
        decoded = base64.b64decode(value + b"=" * (-len(value) % 4), b"-_", validate=True)
    except (binascii.Error, ValueError):
        return False
    if len(decoded) % 6:  # RFC 9113 section 6.5.1: 6-octet settings
        return False
    for at in range(0, len(decoded), 6):
        setting = int.from_bytes(decoded[at : at + 2], "big")
        number = int.from_bytes(decoded[at + 2 : at + 6], "big")
        low, high = _SETTING_RANGES.get(setting, (0, 2**32 - 1))
        if not low <= number <= high:
            return False  # RFC 9113 section 6.5.2: a connection error, so no upgrade
    return True


def switch_to_http2(
    upgrade: H2CUpgrade, pending_output: bytes, context: ProtocolContext, now: float
) -> HTTP2Connection:
    """The 101, then the server preface; the upgrade request is served as stream 1."""
    http2 = HTTP2Connection(
        context,
        now=now,
        upgrade_settings=upgrade.settings,
        output=pending_output + SWITCHING_PROTOCOLS,
    )
    headers = [pair for pair in upgrade.headers if pair[0] not in _HOP_FIELDS]
    http2.start_upgraded_request(upgrade.method, upgrade.target, headers, upgrade.body)
    if upgrade.trailing:
        http2.receive_data(upgrade.trailing, now)
    return http2
