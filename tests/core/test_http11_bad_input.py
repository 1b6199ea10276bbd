"""Hostile or broken requests get a clear status and a closed connection (RFC 9112)."""

from __future__ import annotations

import pytest
from helpers.harness import Harness

from asgi_core import Config


def rejected(data: bytes, config: Config | None = None) -> int:
    h = Harness(config).feed(data)
    assert h.closed, "the connection must close after a rejected request"
    assert h.stream_ids == [], "a rejected request must not reach the app"
    (response,) = h.responses()
    assert response.header(b"connection") == b"close"
    return response.status


@pytest.mark.parametrize(
    "data",
    [
        b"GARBAGE\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\nX: a\x00b\r\n\r\n",
        b"GET / HTTP/1.1\r\n\r\n",  # RFC 9112 section 3.2: Host is required in HTTP/1.1
        # RFC 9112 section 5.2: obs-fold may be rejected; we do, it hides headers from proxies.
        b"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n folded\r\n\r\n",
    ],
)
def test_malformed_requests_get_400(data: bytes) -> None:
    assert rejected(data) == 400


def test_unknown_major_http_version_gets_505() -> None:
    # RFC 9110 section 15.6.6.
    assert rejected(b"GET / HTTP/3.0\r\nHost: h\r\n\r\n") == 505


def test_oversized_head_gets_431() -> None:
    config = Config(max_request_head_size=1024)
    assert rejected(b"GET / HTTP/1.1\r\nHost: h\r\nX: " + b"a" * 2000, config) == 431


def test_oversized_head_arriving_whole_gets_431() -> None:
    config = Config(max_request_head_size=1024)
    head = b"GET / HTTP/1.1\r\nHost: h\r\nX: " + b"a" * 2000 + b"\r\n\r\n"
    assert rejected(head, config) == 431


class TestSmuggling:
    """RFC 9112 section 6.1 and 6.3: ambiguous framing is refused, never guessed."""

    def test_content_length_with_transfer_encoding_is_rejected(self) -> None:
        data = (
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        )
        assert rejected(data) == 400

    @pytest.mark.parametrize(
        "values",  # one Content-Length field line per value
        [[b"5", b"5"], [b"5, 5"], [b"5", b"6"], [b"-5"], [b"5x"], [b"+5"]],
        ids=["repeated", "listed-twice", "conflicting", "negative", "not-a-number", "signed"],
    )
    def test_duplicate_or_malformed_content_length_is_rejected(self, values: list[bytes]) -> None:
        lengths = b"".join(b"Content-Length: " + value + b"\r\n" for value in values)
        assert rejected(b"POST / HTTP/1.1\r\nHost: h\r\n" + lengths + b"\r\nhello") == 400

    @pytest.mark.parametrize(
        "encoding",
        [
            b"Transfer-Encoding: xchunked\r\n",
            b"Transfer-Encoding: chunked, identity\r\n",
            b"Transfer-Encoding: gzip\r\n",
            b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
            b"Transfer-Encoding : chunked\r\n",
            b"Transfer-Encoding:\x0bchunked\r\n",
        ],
    )
    def test_obfuscated_transfer_encoding_is_rejected(self, encoding: bytes) -> None:
        assert rejected(b"POST / HTTP/1.1\r\nHost: h\r\n" + encoding + b"\r\n0\r\n\r\n") == 400

    @pytest.mark.parametrize(
        "chunks",
        [b"zz\r\nabc\r\n0\r\n\r\n", b"3\r\nabcdef\r\n0\r\n\r\n", b"-3\r\nabc\r\n0\r\n\r\n"],
    )
    def test_malformed_chunk_framing_is_rejected_and_the_app_disconnected(
        self, chunks: bytes
    ) -> None:
        h = Harness().feed(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")
        h.receive(1)
        h.feed(chunks)
        assert h.closed
        assert h.responses()[-1].status == 400
        h.receive(1)
        assert h.received[1][-1] == {"type": "http.disconnect"}


def test_huge_content_length_gets_413_before_any_body_is_read() -> None:
    config = Config(max_request_body_size=1000)
    data = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999\r\n\r\n"
    assert rejected(data, config) == 413


def test_chunked_body_over_the_limit_gets_413() -> None:
    h = Harness(Config(max_request_body_size=10))
    h.feed(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")
    h.receive(1)
    h.feed(b"8\r\n01234567\r\n")
    assert not h.closed
    h.feed(b"8\r\n01234567\r\n")
    assert h.closed
    assert h.responses()[-1].status == 413


def test_input_after_close_is_ignored() -> None:
    h = Harness().feed(b"GARBAGE\r\n\r\n")
    before = bytes(h.output)
    h.feed(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    assert bytes(h.output) == before and h.stream_ids == []


def test_a_head_with_bare_lf_line_endings_is_served() -> None:
    """RFC 9112 section 2.2: a recipient MAY recognize a single LF as a line terminator; h11
    does, and the whole-head size check no longer mistakes such a head for an endless one
    (it answered 431)."""
    h = Harness(Config(http="h11")).feed(b"GET /lf HTTP/1.1\nHost: example\n\n")  # see
    # tests/core/test_http11_parsers.py for httptools, which refuses bare LF
    assert h.scopes[1]["path"] == "/lf"
    assert h.output == b""
