"""Guards on every reach into h2 and hyperframe internals (asgi_core/http2/h2_internals.py).

Each test fails when h2 changes what the core relies on, so an h2 upgrade shows at once what
to revisit; the behaviour each reach gives is tested through the core in test_http2.py and
tests/conformance/test_rfc9113.py.
"""

from __future__ import annotations

import h2.config
import h2.connection
import h2.events
import h2.exceptions
from h2.connection import ConnectionInputs, ConnectionState, H2ConnectionStateMachine
from h2.errors import ErrorCodes
from hyperframe.frame import Frame, GoAwayFrame, HeadersFrame

from asgi_core.http2.h2_internals import (
    H2Connection,
    as_compression_error,
    goaway_frame,
    keep_open_after_goaway,
    pending_header_block_size,
)


def server() -> H2Connection:
    conn = H2Connection(h2.config.H2Configuration(client_side=False, header_encoding=None))
    conn.initiate_connection()
    return conn


def client() -> h2.connection.H2Connection:
    conn = h2.connection.H2Connection(h2.config.H2Configuration(header_encoding=None))
    conn.initiate_connection()
    return conn


def test_h2_keeps_its_connection_states_in_a_transitions_table() -> None:
    table = H2ConnectionStateMachine._transitions
    for state in (ConnectionState.IDLE, ConnectionState.CLIENT_OPEN, ConnectionState.SERVER_OPEN):
        assert table[state, ConnectionInputs.RECV_GOAWAY][1] is ConnectionState.CLOSED


def test_after_a_goaway_the_patched_connection_still_reads_frames() -> None:
    """RFC 9113 section 6.8: streams in flight still get answers after the client's GOAWAY."""
    peer = client()
    conn = server()
    conn.receive_data(peer.data_to_send())
    peer.send_headers(1, [(b":method", b"GET"), (b":path", b"/"), (b":scheme", b"http"),
                          (b":authority", b"a")], end_stream=True)  # fmt: skip
    peer.close_connection()
    events = conn.receive_data(peer.data_to_send())
    assert any(isinstance(e, h2.events.ConnectionTerminated) for e in events)
    conn.send_headers(1, [(b":status", b"200")], end_stream=True)  # no error: still open


def test_a_plain_h2_connection_refuses_frames_after_a_goaway() -> None:
    """The reason for the patch: without it h2 closes on GOAWAY (so this guards its need)."""
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    conn.initiate_connection()
    peer = client()
    conn.receive_data(peer.data_to_send())
    peer.close_connection()
    conn.receive_data(peer.data_to_send())
    assert conn.state_machine.state is ConnectionState.CLOSED
    keep_open_after_goaway(conn)  # on an already closed connection it changes nothing
    assert conn.state_machine.state is ConnectionState.CLOSED


def test_h2_calls_clear_outbound_data_buffer_on_a_goaway_and_the_output_stays() -> None:
    calls = []

    class Recording(H2Connection):
        def clear_outbound_data_buffer(self) -> None:
            calls.append(True)

    conn = Recording(h2.config.H2Configuration(client_side=False))
    conn.initiate_connection()
    peer = client()
    peer.close_connection()
    conn.receive_data(peer.data_to_send())
    assert calls == [True]
    ours = server()
    ours.receive_data(client().data_to_send())
    peer = client()
    peer.close_connection()
    ours.receive_data(peer.data_to_send())
    assert ours.data_to_send()  # our SETTINGS and the ACK are still there


def test_h2_holds_an_unfinished_header_block_in_its_incoming_buffer() -> None:
    conn = server()
    peer = client()
    conn.receive_data(peer.data_to_send())
    assert pending_header_block_size(conn) == 0
    frame = HeadersFrame(1)
    frame.data = b"\x82" * 100  # no END_HEADERS: CONTINUATION frames are to follow
    conn.receive_data(frame.serialize())
    assert hasattr(conn.incoming_buffer, "_headers_buffer")
    assert pending_header_block_size(conn) == 100


def test_h2_ends_an_hpack_failure_with_a_bare_goaway_that_is_rewritten() -> None:
    conn = server()
    conn.receive_data(client().data_to_send())
    conn.data_to_send()
    frame = HeadersFrame(1)
    frame.flags.add("END_HEADERS")
    frame.data = b"\xff\xff\xff\xff\xff"  # an index past any table
    try:
        conn.receive_data(frame.serialize())
    except h2.exceptions.ProtocolError as exc:
        out = as_compression_error(conn.data_to_send(), exc)
    else:
        raise AssertionError("h2 accepted an invalid HPACK block")
    goaway, _ = Frame.parse_frame_header(memoryview(out[-17:-8]))
    assert isinstance(goaway, GoAwayFrame)
    goaway.parse_body(memoryview(out[-8:]))
    assert goaway.error_code == ErrorCodes.COMPRESSION_ERROR


def test_a_goaway_written_by_hand_parses_as_one() -> None:
    data = goaway_frame(7, ErrorCodes.NO_ERROR)
    frame, length = Frame.parse_frame_header(memoryview(data[:9]))
    frame.parse_body(memoryview(data[9 : 9 + length]))
    assert isinstance(frame, GoAwayFrame)
    assert (frame.last_stream_id, frame.error_code) == (7, 0)
