"""The Date header is IMF-fixdate (RFC 9110 section 5.6.7), computed without a clock."""

from __future__ import annotations

from email.utils import formatdate

from hypothesis import given
from hypothesis import strategies as st

from asgi_core import DateHeader
from asgi_core.httpdate import format_http_date


def test_rfc_example() -> None:
    assert format_http_date(784111777) == b"Sun, 06 Nov 1994 08:49:37 GMT"


@given(st.integers(min_value=0, max_value=2**35))
def test_matches_the_standard_library(seconds: int) -> None:
    assert format_http_date(seconds).decode() == formatdate(seconds, usegmt=True)


def test_header_changes_only_with_the_second() -> None:
    header = DateHeader(100.2)
    first = header.value
    header.update(100.9)
    assert header.value is first
    header.update(101.0)
    assert header.value != first
