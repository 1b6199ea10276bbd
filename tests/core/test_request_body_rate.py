"""The minimum request body rate (Kestrel's MinRequestBodyDataRate, ``Config``'s
``min_request_body_rate`` and its grace), on a virtual clock, over HTTP/1.1 and HTTP/2.

A body trickled a byte at a time restarts ``request_body_timeout`` with each byte, so alone it
never ends (R.U.D.Y.); the rate cuts it once the grace is over. Only time the server waits for
body counts: an app that does not read costs its client nothing.
"""

from __future__ import annotations

from helpers.harness import H2Peer, Harness

from asgi_core import Config

#: 100 bytes/s after 5 s of waiting; the body timeout far away (60 s).
CONFIG = Config(request_body_timeout=60, min_request_body_rate=100, min_request_body_rate_grace=5)
HEAD = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n"


def trickle(h: Harness, seconds: int, send: object) -> None:
    """One byte a second, the app waiting for each."""
    for _ in range(seconds):
        if h.closed:
            return
        h.advance(1)
        send()  # type: ignore[operator]


def test_http11_a_trickled_body_gets_408_after_the_grace() -> None:
    h = Harness(CONFIG).feed(HEAD)
    h.receive(1)
    trickle(h, 4, lambda: (h.feed(b"x"), h.receive(1)))
    assert not h.closed  # within the grace, any rate is fine
    trickle(h, 10, lambda: (h.feed(b"x"), h.receive(1)))
    assert h.closed
    assert h.clock < 7  # 5 s of grace + 5 bytes / 100 bytes/s, not 60 s
    assert h.final_responses()[0].status == 408  # RFC 9110 section 15.5.9
    assert h.received[1][-1] == {"type": "http.disconnect"}


def test_http11_a_body_at_the_rate_is_served() -> None:
    h = Harness(CONFIG).feed(HEAD)
    for _ in range(20):  # 200 bytes/s for 20 s: twice the minimum
        h.receive(1)
        h.advance(1)
        h.feed(b"x" * 200)
    assert not h.closed and h.final_responses() == []


def test_http11_time_the_app_does_not_read_is_not_counted() -> None:
    """The app reads the head, works for 30 s, then reads: the client is not cut for that
    wait, which was the server's; once the app waits, the grace starts."""
    h = Harness(CONFIG).feed(HEAD + b"x" * 10)
    h.advance(30)
    h.receive(1)
    assert h.received[1][-1]["body"] == b"x" * 10
    h.receive(1)
    h.advance(4)
    assert not h.closed
    h.advance(2)  # 6 s waited for 10 bytes: below 100 bytes/s once the grace is over
    assert h.closed and h.final_responses()[0].status == 408


def test_http11_off_leaves_only_the_body_timeout() -> None:
    h = Harness(Config(request_body_timeout=60, min_request_body_rate=None)).feed(HEAD)
    h.receive(1)
    trickle(h, 50, lambda: (h.feed(b"x"), h.receive(1)))
    assert not h.closed


def test_http2_a_trickled_body_resets_that_stream_only() -> None:
    h = Harness(CONFIG)
    peer = H2Peer(h)
    slow = peer.request("/", "POST", body=b"x", end=False)
    h.receive(slow)
    h.receive(slow)

    def more() -> None:
        peer.h2.send_data(slow, b"x")
        peer.flush()
        h.receive(slow)

    trickle(h, 10, more)
    peer.flush()
    assert peer.status(slow) == 408
    assert h.received[slow][-1] == {"type": "http.disconnect"}
    other = peer.request("/")
    h.respond(other, b"fine")
    peer.flush()
    assert bytes(peer.data[other]) == b"fine"
    assert not h.closed
