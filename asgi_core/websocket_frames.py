"""RFC 6455 section 5.2 framing for the server's side, with a fast path for plain messages.

wsproto parses each frame through generators, named tuples and a masker object, which made it
most of the core's cost of a WebSocket echo. ``FrameSplitter`` reads the frame headers itself.
A final, masked text or binary frame with no RSV bits, outside a fragmented message, that is
all in one read, is unmasked and decoded here. Every other frame goes to wsproto, from its
first byte to its last, so wsproto's state (a fragmented message, deflate, the close
handshake) and what it does with a frame that arrives in parts (it checks UTF-8 and sizes as
the bytes come) are what they would have been without the fast path. A header wsproto would
refuse hands it every byte from there on, so the close code and reason it gives are its own.
"""

from __future__ import annotations

import struct

#: What ``FrameSplitter.split`` returns: a text or binary message the fast path read, or bytes
#: (``RAW``) for wsproto.
TEXT = 1
BINARY = 2
RAW = 0
CLOSE = 8
#: Continuation, text, binary, close, ping and pong (RFC 6455 section 5.2).
_OPCODES = frozenset((0, 1, 2, 8, 9, 10))
#: Whether new WebSockets take the fast path; tests and a fuzz target compare it with wsproto
#: alone by turning it off.
FAST_PATH = True

_FIN = 0x80
_MASKED = 0x80
_RSV1 = 0x40
_RSV = 0x70
_OPCODE = 0x0F

_TWO_BYTES = struct.Struct("!H")
_EIGHT_BYTES = struct.Struct("!Q")


class FrameSplitter:
    """The client's bytes as plain messages read here and frames for wsproto."""

    __slots__ = ("_header", "_in_message", "_rest_of_frame", "_rsv_allowed", "enabled")

    def __init__(self, *, deflate: bool) -> None:
        #: False once every byte goes to wsproto (after a header it refuses).
        self.enabled = FAST_PATH
        self._header = b""  # the start of a frame header that has not all arrived
        self._rest_of_frame = 0  # bytes wsproto is owed of a frame it has begun
        self._in_message = False  # a fragmented message has begun and not ended
        self._rsv_allowed = _RSV1 if deflate else 0  # RFC 7692 section 6: RSV1 marks deflate

    @property
    def frames_sends(self) -> bool:
        """The app's messages may be framed by ``message_frame``: nothing to compress them."""
        return self.enabled and not self._rsv_allowed

    def split(self, data: bytes) -> list[tuple[int, bytes | str]]:
        """The messages and frames in ``data``, after what earlier reads left."""
        if not self.enabled:
            return [(RAW, data)]
        pos = self._rest_of_frame
        if pos:
            if pos >= len(data):
                self._rest_of_frame = pos - len(data)
                return [(RAW, data)]
            self._rest_of_frame = 0
        elif self._header:
            data, self._header = self._header + data, b""
        return self._read(data, pos)

    def _read(self, data: bytes, pos: int) -> list[tuple[int, bytes | str]]:
        """The frames from ``pos`` on, wsproto's included in runs of raw bytes."""
        found: list[tuple[int, bytes | str]] = []
        end = len(data)
        raw = 0  # data[raw:pos] is for wsproto and not yet in ``found``
        while end - pos >= 2:
            first = data[pos]
            start, stop = _bounds(data, pos, end, self._rsv_allowed)
            if start < 0:
                return self._hand_over(found, data, raw)
            if not start:
                break
            fast = self._starts_a_message(first)
            if stop > end:  # wsproto takes the frame as it arrives
                self._rest_of_frame = stop - end
                pos = end
                break
            if fast:
                opcode = first & _OPCODE
                message = _message(opcode, data[start - 4 : start], data[start:stop])
                if message is not None:
                    if raw < pos:
                        found.append((RAW, data[raw:pos]))
                    found.append((opcode, message))
                    raw = stop
            pos = stop
        if raw < pos:
            found.append((RAW, data[raw:pos]))
        if pos < end:
            self._header = data[pos:]
        return found

    def _starts_a_message(self, first: int) -> bool:
        """Whether a frame is a whole plain message, given its first byte; tracks fragments."""
        opcode = first & _OPCODE
        if opcode >= CLOSE:  # control frames may come between fragments
            return False
        fast = first & 0xF0 == _FIN and opcode != 0 and not self._in_message
        self._in_message = not first & _FIN
        return fast

    def _hand_over(
        self, found: list[tuple[int, bytes | str]], data: bytes, raw: int
    ) -> list[tuple[int, bytes | str]]:
        """From here on every byte goes to wsproto, which refuses this frame."""
        self.enabled = False
        found.append((RAW, data[raw:]))
        return found


def _message(opcode: int, mask: bytes, payload: bytes) -> bytes | str | None:
    """A whole message's data; ``None`` for text that is not UTF-8 (wsproto closes with 1007)."""
    data = _unmask(mask, payload)
    if opcode == BINARY:
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _bounds(data: bytes, pos: int, end: int, rsv_allowed: int) -> tuple[int, int]:
    """Where the payload of the frame at ``pos`` starts and stops; (0, 0) while its header has
    not all arrived, (-1, 0) for a header wsproto refuses (RFC 6455 sections 5.2 and 5.5).
    Whatever wsproto refuses before the masking key has arrived is refused here before it too,
    or a client that stops there would be answered differently."""
    first, second = data[pos], data[pos + 1]
    opcode, size = first & _OPCODE, second & 0x7F
    if first & _RSV & ~rsv_allowed or not second & _MASKED or opcode not in _OPCODES:
        return -1, 0
    if opcode >= CLOSE and (size > 125 or not first & _FIN):
        return -1, 0
    if first & _RSV1 and (opcode == 0 or opcode >= CLOSE):  # RFC 7692 section 6.1
        return -1, 0
    start = pos + 2  # then the extended length, if any, and the masking key
    if size == 126:
        start += 2
        if start > end:
            return 0, 0
        (size,) = _TWO_BYTES.unpack_from(data, pos + 2)
        if size < 126:  # the minimal number of bytes (section 5.2)
            return -1, 0
    elif size == 127:
        start += 8
        if start > end:
            return 0, 0
        (size,) = _EIGHT_BYTES.unpack_from(data, pos + 2)
        if size < 0x10000 or size >> 63:
            return -1, 0
    start += 4
    if start > end:
        return 0, 0
    return start, start + size


def _unmask(mask: bytes, payload: bytes) -> bytes:
    """RFC 6455 section 5.3: XOR with the four-byte key, repeated."""
    size = len(payload)
    if not size:
        return b""
    key = (mask * (size // 4 + 1))[:size]
    value = int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")
    return value.to_bytes(size, "little")


def message_frame(data: bytes | str) -> bytes:
    """A final, unmasked text or binary frame, as a server sends it (RFC 6455 section 5.2)."""
    if isinstance(data, str):
        payload, first = data.encode("utf-8"), _FIN | TEXT
    else:
        payload, first = data, _FIN | BINARY
    size = len(payload)
    if size < 126:
        return bytes((first, size)) + payload
    if size < 0x10000:
        return bytes((first, 126)) + _TWO_BYTES.pack(size) + payload
    return bytes((first, 127)) + _EIGHT_BYTES.pack(size) + payload


__all__ = ["BINARY", "RAW", "TEXT", "FrameSplitter", "message_frame"]
