"""Timers fire only through handle_timeout(now), on a virtual clock, exactly at their deadline."""

from __future__ import annotations

from helpers.harness import Harness

from asgi_core import Config

# The body rate is off here: it has tests of its own (test_request_body_rate.py).
CONFIG = Config(
    keep_alive_timeout=5.0,
    request_head_timeout=10.0,
    request_body_timeout=30.0,
    min_request_body_rate=None,
)
GET = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"


def test_a_new_connection_waits_keep_alive_timeout_for_its_first_request() -> None:
    h = Harness(CONFIG)
    assert h.conn.next_deadline == 5.0
    h.advance(4.999)
    assert not h.closed
    h.advance(0.001)
    assert h.closed and h.output == b""  # an idle close says nothing


def test_keep_alive_timer_restarts_after_each_response_and_stops_during_one() -> None:
    h = Harness(CONFIG).advance(3).feed(GET)
    assert h.conn.next_deadline is None  # the app is working: no timer
    h.advance(100).respond(1)
    assert h.conn.next_deadline == 103 + 5.0
    h.advance(5)
    assert h.closed


def test_next_deadline_has_no_side_effects() -> None:
    h = Harness(CONFIG)
    assert [h.conn.next_deadline for _ in range(3)] == [5.0, 5.0, 5.0]
    h.conn.handle_timeout(1.0)  # early: nothing fires
    assert h.conn.next_deadline == 5.0 and not h.closed


def test_slowloris_head_is_cut_off_with_408() -> None:
    h = Harness(CONFIG)
    h.advance(1).feed(b"GET / HTTP/1.1\r\n")
    assert h.conn.next_deadline == 1 + 10.0
    for _ in range(9):
        h.advance(1).feed(b"X: y\r\n")  # trickling bytes do not extend the deadline
    assert not h.closed
    h.advance(1)
    assert h.closed
    assert h.responses()[0].status == 408


def test_body_timeout_runs_only_while_the_app_waits_for_body() -> None:
    h = Harness(CONFIG).feed(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n")
    assert h.conn.next_deadline is None  # the app has not asked for the body
    h.receive(1)
    assert h.conn.next_deadline == 30.0
    h.advance(20).feed(b"01234")  # progress: the timer starts again
    assert h.received[1][-1]["body"] == b"01234"
    h.receive(1)
    assert h.conn.next_deadline == 50.0
    h.advance(30)
    assert h.closed
    assert h.responses()[-1].status == 408
    assert h.received[1][-1] == {"type": "http.disconnect"}


def test_pipelined_partial_head_gets_the_head_timer() -> None:
    h = Harness(CONFIG).feed(GET + b"GET /2 HTTP/1.1\r\n")
    h.advance(2).respond(1)
    assert h.conn.next_deadline == 2 + 10.0


def test_timers_stop_once_closed() -> None:
    h = Harness(CONFIG).feed(b"GARBAGE\r\n\r\n")
    assert h.closed and h.conn.next_deadline is None
