"""The same bytes cut anywhere give the same events and the same output (h11's test_io idea)."""

from __future__ import annotations

from helpers.harness import Harness, echo
from hypothesis import given
from hypothesis import strategies as st

REQUESTS = [
    b"GET /a?b=c HTTP/1.1\r\nHost: h\r\nX-Y: z\r\n\r\n",
    b"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world",
    b"PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: 1\r\n\r\n",
    b"GET /bad HTTP/1.1\r\nHost h\r\n\r\n",
]
STREAM = b"".join(REQUESTS)


def run(pieces: list[bytes]) -> tuple[list, list, bytes]:
    """An echo app that reads the whole body and answers with it, as soon as it can."""
    h = Harness()
    done = echo(h, pieces)
    scopes = [(s["method"], s["path"], s["headers"]) for s in h.scopes.values()]
    return scopes, sorted(done.items()), bytes(h.output)


WHOLE = run([STREAM])


def test_the_reference_run_serves_three_requests_and_rejects_the_fourth() -> None:
    scopes, bodies, output = WHOLE
    assert [s[1] for s in scopes] == ["/a", "/p", "/c"]
    assert [b for _, b in bodies] == [b"", b"hello world", b"hello world"]
    assert output.count(b"HTTP/1.1 200 OK") == 3 and output.count(b"HTTP/1.1 400") == 1


def test_byte_by_byte_matches_whole() -> None:
    assert run([bytes([b]) for b in STREAM]) == WHOLE


@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_any_split_matches_whole(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    pieces = [
        STREAM[a:b] for a, b in zip([0, *points], [*points, len(STREAM)], strict=True) if b > a
    ]
    assert run(pieces) == WHOLE
