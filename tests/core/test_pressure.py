"""Envoy's reduce_timeouts in the core: while the shared ``Pressure`` is set, an idle
keep-alive wait that starts runs for ``reduced(keep_alive_timeout)``; waits already running
keep their deadline. Exact, on a virtual clock."""

from __future__ import annotations

import pytest
from helpers.harness import Harness

from asgi_core import Config
from asgi_core.timers import Pressure, reduced

CONFIG = Config(keep_alive_timeout=20.0, request_head_timeout=10.0)
GET = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"


@pytest.mark.parametrize(
    ("timeout", "under_pressure"), [(20.0, 2.0), (5.0, 1.0), (10.0, 1.0), (0.5, 0.5), (0.0, 0.0)]
)
def test_a_reduced_timeout_is_a_tenth_but_at_least_one_second_and_never_longer(
    timeout: float, under_pressure: float
) -> None:
    assert reduced(timeout) == under_pressure


def test_a_connection_made_under_pressure_waits_the_reduced_keep_alive() -> None:
    pressure = Pressure()
    pressure.reduce_timeouts = True
    h = Harness(CONFIG, pressure=pressure)
    assert h.conn.next_deadline == 2.0
    h.advance(2.0)
    assert h.closed


def test_only_idle_waits_that_start_under_pressure_are_shortened() -> None:
    pressure = Pressure()
    h = Harness(CONFIG, pressure=pressure).advance(1).feed(GET)
    pressure.reduce_timeouts = True
    assert h.conn.next_deadline is None  # a request in flight has no idle timer to shrink
    h.respond(1)
    assert h.conn.next_deadline == 1 + 2.0
    h.advance(1).feed(b"GET / HTTP/1.1\r\n")
    assert h.conn.next_deadline == 2 + 10.0  # the head timeout is not an idle wait
    pressure.reduce_timeouts = False
    h.feed(b"Host: h\r\n\r\n").respond(3)
    assert h.conn.next_deadline == 2 + 20.0


def test_a_wait_already_running_keeps_its_deadline_when_pressure_starts() -> None:
    pressure = Pressure()
    h = Harness(CONFIG, pressure=pressure)
    pressure.reduce_timeouts = True
    assert h.conn.next_deadline == 20.0


def test_http2_idle_wait_is_shortened_too() -> None:
    pressure = Pressure()
    pressure.reduce_timeouts = True
    h = Harness(CONFIG, pressure=pressure, alpn="h2", scheme="https")
    assert h.conn.next_deadline == 2.0
