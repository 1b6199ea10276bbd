"""Guards on every reach into h2 and hyperframe internals (asgi_core/http2/h2_internals.py).

Each test fails when h2 changes what the core relies on, so an h2 upgrade shows at once what
to revisit; the behaviour each reach gives is tested through the core in test_http2.py and
tests/conformance/test_rfc9113.py.
"""

from __future__ import annotations

from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import pytest
from h2.connection import ConnectionInputs, ConnectionState, H2ConnectionStateMachine
from h2.errors import ErrorCodes
from hpack import Decoder, Encoder, NeverIndexedHeaderTuple
from hpack.exceptions import HPACKError, OversizedHeaderListError
from hyperframe.frame import Frame, GoAwayFrame, HeadersFrame
from hypothesis import given
from hypothesis import strategies as st

from asgi_core.http2.h2_internals import (
    H2Connection,
    ReusingDecoder,
    ReusingEncoder,
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


# -- HPACK blocks reused where RFC 7541 allows it ---------------------------------------------

#: A small pool, so a sequence repeats lists (reused) and adds and evicts entries (not reused).
FIELDS = st.sampled_from(
    [
        (b":status", b"200"),
        (b":status", b"404"),
        (b"content-type", b"text/plain"),
        (b"content-length", b"13"),
        (b"x-long", b"v" * 200),
        (b"x-other", b"w" * 150),
        (b"date", b"Sun, 06 Nov 1994 08:49:37 GMT"),
    ]
)
HEADER_LISTS = st.lists(FIELDS, min_size=1, max_size=4)
STEPS = st.lists(
    st.one_of(
        HEADER_LISTS,
        HEADER_LISTS,
        HEADER_LISTS.map(lambda h: [NeverIndexedHeaderTuple(*h[0]), *h[1:]]),
        st.sampled_from([0, 100, 300, 4096]),  # a new table size (SETTINGS_HEADER_TABLE_SIZE)
    ),
    max_size=30,
)


@given(steps=STEPS)
def test_the_reusing_encoder_writes_what_hpacks_own_writes(steps: list[Any]) -> None:
    """Differential (RFC 7541 section 4: a block's meaning depends on the table it is
    encoded against): any header lists, fields never to be indexed (section 6.2.3) and table
    resizes, block for block."""
    ours, theirs = ReusingEncoder(), Encoder()
    decoder = Decoder()
    for step in steps:
        if isinstance(step, int):
            ours.header_table_size = theirs.header_table_size = step
            continue
        block = ours.encode(step)
        assert block == theirs.encode(step)
        decoded = decoder.decode(block, raw=True)
        assert [tuple(h) for h in decoded] == [tuple(h) for h in step]


@given(steps=STEPS, garbage=st.lists(st.binary(max_size=8), max_size=4))
def test_the_reusing_decoder_reads_what_hpacks_own_reads(
    steps: list[Any], garbage: list[bytes]
) -> None:
    """Differential: the blocks a client writes (repeats included) and bytes that are not
    blocks decode the same, or fail the same, through both decoders."""
    encoder = Encoder()
    blocks: list[bytes] = []
    for step in steps:
        if isinstance(step, int):
            encoder.header_table_size = step
        else:
            block = encoder.encode(step)
            blocks += [block, block] if len(blocks) % 3 else [block]
    ours, theirs = ReusingDecoder(), Decoder()
    for block in blocks + garbage:
        results = []
        for decoder in (ours, theirs):
            try:
                results.append(("ok", [tuple(h) for h in decoder.decode(block, raw=True)]))
            except (HPACKError, IndexError, TypeError, UnicodeDecodeError) as error:
                results.append(("error", type(error)))
        assert results[0] == results[1]


def test_a_repeated_head_is_encoded_and_decoded_once() -> None:
    head = [(b":status", b"200"), (b"content-type", b"text/plain"), (b"content-length", b"2")]
    encoder, decoder = ReusingEncoder(), ReusingDecoder()
    first = encoder.encode(head)  # adds the fields to the table
    second = encoder.encode(head)  # all indexed now, and nothing added: reusable
    assert second != first and encoder.encode(head) is second
    decoder.decode(first, raw=True)
    decoded = decoder.decode(second, raw=True)
    assert decoder.decode(second, raw=True) == decoded


def test_the_server_connection_uses_the_reusing_encoder_and_decoder() -> None:
    conn = server()
    assert isinstance(conn.encoder, ReusingEncoder) and isinstance(conn.decoder, ReusingDecoder)
    plain = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    assert conn.decoder.max_header_list_size == plain.decoder.max_header_list_size
    assert conn.decoder.max_allowed_table_size == plain.decoder.max_allowed_table_size


def test_a_reused_block_still_meets_a_lowered_header_list_limit() -> None:
    # RFC 9113 section 6.5.2's SETTINGS_MAX_HEADER_LIST_SIZE is checked in the decoder.
    encoder, decoder = Encoder(), ReusingDecoder()
    head = [(b":method", b"GET"), (b"x-field", b"v" * 100)]
    decoder.decode(encoder.encode(head), raw=True)  # adds the fields to both tables
    block = encoder.encode(head)  # all indexed
    decoder.decode(block, raw=True)
    decoder.decode(block, raw=True)  # reused
    decoder.max_header_list_size = 100
    with pytest.raises(OversizedHeaderListError):
        decoder.decode(block, raw=True)
