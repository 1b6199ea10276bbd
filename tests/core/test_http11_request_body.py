"""Request bodies reach the app as http.request messages, only when it asks (ASGI HTTP spec,
"Request - receive event"), with 100-continue and bounded buffering."""

from __future__ import annotations

from helpers.harness import Harness

from asgi_core import Config

POST = b"POST /u HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n"
CHUNKED = b"POST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"


def test_request_without_body_gives_one_empty_message() -> None:
    h = Harness().feed(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n").receive(1)
    assert h.received[1] == [{"type": "http.request", "body": b"", "more_body": False}]


def test_body_is_streamed_with_more_body_and_nothing_is_lost() -> None:
    h = Harness().feed(POST + b"01234").receive(1)
    assert h.received[1] == [{"type": "http.request", "body": b"01234", "more_body": True}]
    h.receive(1)
    assert len(h.received[1]) == 1  # nothing new yet: the receive waits
    h.feed(b"56789")
    assert h.received[1][1] == {"type": "http.request", "body": b"56789", "more_body": False}


def test_chunked_body_is_dechunked() -> None:
    h = Harness().feed(CHUNKED + b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").receive(1)
    assert h.received[1] == [{"type": "http.request", "body": b"abcde", "more_body": False}]


def test_buffered_chunks_are_coalesced_into_one_message() -> None:
    h = Harness().feed(POST)
    for byte in b"0123456789":
        h.feed(bytes([byte]))
    h.receive(1)
    assert h.received[1] == [{"type": "http.request", "body": b"0123456789", "more_body": False}]


def test_after_the_body_receive_waits_until_the_response_is_done_then_disconnects() -> None:
    # ASGI HTTP spec, "Disconnect": sent if receive is called after a response has been sent.
    h = Harness().feed(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n").receive(1).receive(1)
    assert len(h.received[1]) == 1
    h.respond(1)
    assert h.received[1][-1] == {"type": "http.disconnect"}


def test_client_closing_mid_body_disconnects_the_app() -> None:
    h = Harness().feed(POST + b"012").receive(1).receive(1)
    h.eof()
    assert h.received[1][-1] == {"type": "http.disconnect"}
    assert h.closed


def test_100_continue_goes_out_only_when_the_app_first_wants_the_body() -> None:
    # RFC 9110 section 10.1.1: the server may wait for the app before sending 100.
    h = Harness().feed(
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n"
    )
    assert h.output == b""
    h.receive(1)
    assert h.output.startswith(b"HTTP/1.1 100 Continue\r\n")
    h.feed(b"abc")
    assert h.received[1][-1]["body"] == b"abc"
    h.respond(1)
    statuses = [r.status for r in h.responses()]
    assert statuses == [100, 200]


def test_no_100_continue_when_the_app_answers_without_reading() -> None:
    h = Harness().feed(
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n"
    )
    h.respond(1, status=413)
    (response,) = h.responses()
    assert response.status == 413
    # The client may or may not send the body now: the connection cannot be reused.
    assert response.header(b"connection") == b"close"
    assert h.closed


def test_reading_pauses_while_the_stream_holds_its_buffer_limit() -> None:
    config = Config(max_buffered_body_size=8)
    h = Harness(config).feed(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 20\r\n\r\n")
    assert not h.conn.reading_paused
    h.feed(b"0123456789")
    assert h.conn.reading_paused
    h.receive(1)
    assert not h.conn.reading_paused
    assert h.received[1][0]["body"] == b"0123456789"


def test_pipelined_input_pauses_reading_until_the_response_is_done() -> None:
    h = Harness().feed(b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n")
    assert h.conn.reading_paused
    h.respond(1)
    assert h.stream_ids == [1, 3]
    assert not h.conn.reading_paused


def test_unread_body_is_drained_after_the_response_and_the_connection_kept() -> None:
    h = Harness().feed(POST + b"01234")
    h.respond(1)
    h.feed(b"56789GET /next HTTP/1.1\r\nHost: h\r\n\r\n")
    assert h.stream_ids == [1, 3]
    assert not h.closed


CHUNKED_HEAD = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"


def test_an_overflowing_chunk_size_gets_400_and_close() -> None:
    """RFC 9112 section 7.1: a recipient "MUST anticipate potentially large hexadecimal
    numerals and prevent parsing errors due to integer conversion overflows". A size past
    2**63-1 is refused (it used to get no answer while the connection waited for its data)."""
    h = Harness().feed(CHUNKED_HEAD + b"f" * 20 + b"\r\n")
    assert h.final_responses()[0].status == 400
    assert h.closed


def test_a_chunk_past_the_body_limit_gets_413_at_its_size_line() -> None:
    """The announced size is checked against what max_request_body_size still allows before
    any of the chunk's data is read (by h11: httptools does not tell a chunk's size, see
    tests/core/test_http11_parsers.py)."""
    config = Config(max_request_body_size=1000, http="h11")
    h = Harness(config).feed(CHUNKED_HEAD + b"100\r\n" + b"x" * 256)
    h.feed(b"\r\n1000\r\n")  # 256 read, 4096 announced: over the 1000 allowed
    assert h.final_responses()[0].status == 413
    assert h.closed
