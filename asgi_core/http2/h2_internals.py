"""Every place the core reaches into h2 or hyperframe beyond their public API, in one module.

Each reach is small and guarded by tests (``tests/core/test_h2_internals.py``) that fail when
h2 changes what it relies on, so an h2 upgrade shows at once what to revisit.
"""

from __future__ import annotations

from typing import Any

import h2.config
import h2.connection
from h2.connection import ConnectionInputs, ConnectionState, H2ConnectionStateMachine
from h2.errors import ErrorCodes
from hpack import Decoder, Encoder, HeaderTuple
from hpack.exceptions import HPACKError, OversizedHeaderListError
from hpack.table import HeaderTable
from hyperframe.frame import GoAwayFrame

#: h2's connection state table, except that a received GOAWAY keeps an open connection open.
_TRANSITIONS = {
    **H2ConnectionStateMachine._transitions,
    **{
        (state, ConnectionInputs.RECV_GOAWAY): (None, state)
        for state in (
            ConnectionState.IDLE,
            ConnectionState.CLIENT_OPEN,
            ConnectionState.SERVER_OPEN,
        )
    },
}


def keep_open_after_goaway(conn: h2.connection.H2Connection) -> None:
    """A peer's GOAWAY no longer closes ``conn``: frames after it are still read (RFC 9113
    section 7, whatever its code) and the streams in flight still get their answers (section
    6.8). h2 alone refuses every frame once it has seen a GOAWAY. Test clients use it too."""
    conn.state_machine._transitions = _TRANSITIONS


class H2Connection(h2.connection.H2Connection):
    """h2's server connection, kept open after a client's GOAWAY, with output kept too:
    what was queued before it (our SETTINGS, ACKs) is still sent."""

    def __init__(self, config: h2.config.H2Configuration) -> None:
        super().__init__(config)
        keep_open_after_goaway(self)
        decoder = ReusingDecoder()
        decoder.max_header_list_size = self.decoder.max_header_list_size
        decoder.max_allowed_table_size = self.decoder.max_allowed_table_size
        self.encoder, self.decoder = ReusingEncoder(), decoder

    def clear_outbound_data_buffer(self) -> None:
        """Called by h2 only on a received GOAWAY; the output stays."""


_TableState = tuple[object, int, int]


def _table_state(table: HeaderTable) -> _TableState:
    """What an HPACK block's meaning depends on: the dynamic table. Every change adds an entry
    at the front (a new object, held here so it cannot be freed and its id reused) or resizes
    the table."""
    entries = table.dynamic_entries
    return (entries[0] if entries else None), len(entries), table.maxsize


def _unchanged(table: HeaderTable, state: _TableState) -> bool:
    """The table is as it was in ``state``: the same front entry object (an equal one added
    since is another table), the same length and size."""
    entries = table.dynamic_entries
    first = entries[0] if entries else None
    return first is state[0] and len(entries) == state[1] and table.maxsize == state[2]


class ReusingEncoder(Encoder):
    """hpack's encoder, which hands back its last block for the same header list when the
    dynamic table is as that block left it, and that block added nothing to it (RFC 7541
    section 2.3: then the same list encodes the same way). A server answers most requests
    with the same head but for the body's length, and encoding one costs a fifth of a hello
    response over HTTP/2."""

    def __init__(self) -> None:
        super().__init__()
        self._last: tuple[list[Any], bytes, _TableState] | None = None

    def encode(self, headers: Any, huffman: bool = True) -> bytes:
        table = self.header_table
        plain = huffman and not table.resized and _plain(headers)
        last = self._last
        if plain and last is not None and last[0] == headers and _unchanged(table, last[2]):
            return last[1]
        before = _table_state(table)
        block = super().encode(headers, huffman)
        self._last = (list(headers), block, before) if plain and _unchanged(table, before) else None
        return block


class ReusingDecoder(Decoder):
    """hpack's decoder, which hands back (a copy of) its last header list for the same block
    when the dynamic table is as that block left it, and that block changed nothing in it
    (RFC 7541 section 2.3). A client repeats its request heads, all indexed."""

    def __init__(self) -> None:
        super().__init__()
        self._last: tuple[bytes, list[Any], _TableState, tuple[Any, ...]] | None = None

    def decode(self, data: bytes, raw: bool = False) -> Any:
        table = self.header_table
        limits = (raw, self.max_header_list_size, self.max_allowed_table_size)
        last = self._last
        if (
            last is not None
            and last[0] == data
            and last[3] == limits
            and _unchanged(table, last[2])
        ):
            return list(last[1])
        self._last = None
        before = _table_state(table)
        headers = super().decode(data, raw)
        if _unchanged(table, before):
            self._last = (bytes(data), list(headers), before, limits)
        return headers


def _plain(headers: Any) -> bool:
    """Two-tuples that may be indexed: a ``NeverIndexedHeaderTuple`` equals a tuple, so a
    block reused for one would index a field its sender said never to."""
    if not isinstance(headers, list):
        return False
    for header in headers:
        kind = header.__class__
        if (kind is not tuple and kind is not HeaderTuple) or len(header) != 2:
            return False
    return True


def pending_header_block_size(conn: h2.connection.H2Connection) -> int:
    """Bytes of a header block h2 holds while it waits for its CONTINUATION frames."""
    frames = getattr(conn.incoming_buffer, "_headers_buffer", ())
    return sum(len(frame.data) for frame in frames)


def goaway_frame(last_stream_id: int, code: ErrorCodes) -> bytes:
    """A GOAWAY written by hand: h2 sends nothing after its own, yet streams in flight must
    still finish after a graceful one (RFC 9113 section 6.8)."""
    frame = GoAwayFrame(0)
    frame.last_stream_id = last_stream_id
    frame.error_code = code
    return bytes(frame.serialize())


def as_compression_error(output: bytes, exc: Exception) -> bytes:
    """h2 reports an HPACK failure as PROTOCOL_ERROR; RFC 9113 section 4.3 calls it a
    COMPRESSION_ERROR, so the code of h2's final GOAWAY (no debug data) is rewritten."""
    cause = exc.__cause__
    if (
        isinstance(cause, HPACKError)
        and not isinstance(cause, OversizedHeaderListError)
        and len(output) >= 17
        and output[-14] == 0x7  # the last frame is h2's GOAWAY, with no debug data
    ):
        return output[:-4] + int(ErrorCodes.COMPRESSION_ERROR).to_bytes(4, "big")
    return output
