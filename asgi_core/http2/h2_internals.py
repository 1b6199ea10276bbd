"""Every place the core reaches into h2 or hyperframe beyond their public API, in one module.

Each reach is small and guarded by tests (``tests/core/test_h2_internals.py``) that fail when
h2 changes what it relies on, so an h2 upgrade shows at once what to revisit.
"""

from __future__ import annotations

import h2.config
import h2.connection
from h2.connection import ConnectionInputs, ConnectionState, H2ConnectionStateMachine
from h2.errors import ErrorCodes
from hpack.exceptions import HPACKError, OversizedHeaderListError
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

    def clear_outbound_data_buffer(self) -> None:
        """Called by h2 only on a received GOAWAY; the output stays."""


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
