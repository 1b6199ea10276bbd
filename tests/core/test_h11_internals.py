"""Guards on the one reach into h11 internals (asgi_core/http11/h11_internals.py): each test
fails when h11 changes what the core relies on."""

from __future__ import annotations

import h11

from asgi_core.http11.h11_internals import pending_chunk_size

HEAD = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"


def test_h11_keeps_the_announced_chunk_size_in_its_reader() -> None:
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(HEAD + b"1000\r\nab")
    assert isinstance(conn.next_event(), h11.Request)
    assert isinstance(conn.next_event(), h11.Data)
    assert pending_chunk_size(conn) == 0x1000 - 2


def test_h11_accepts_chunk_sizes_of_twenty_hex_digits_and_waits_for_them() -> None:
    """Why the core must look: h11 parses the size and then only waits for the data."""
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(HEAD + b"f" * 20 + b"\r\n")
    conn.next_event()
    assert conn.next_event() is h11.NEED_DATA
    assert pending_chunk_size(conn) == 16**20 - 1


def test_no_chunk_is_pending_outside_a_chunked_body() -> None:
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab")
    conn.next_event()
    conn.next_event()
    assert pending_chunk_size(conn) == 0
