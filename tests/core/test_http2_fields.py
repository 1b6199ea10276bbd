"""The core's RFC 9113 section 8.2 and 8.3 checks (asgi_core/http2/fields.py) against h2's.

h2's inbound validation is off in the core, which checks the same rules faster; these
differential properties hold the two to the same verdict on any header block, request or
trailers. What the server answers a malformed request is tested in
tests/conformance/test_rfc9113.py.
"""

from __future__ import annotations

import h2.exceptions
from h2.utilities import HeaderValidationFlags, normalize_inbound_headers, validate_headers
from hypothesis import example, given
from hypothesis import strategies as st

from asgi_core.http2.fields import request_problem, trailers_problem

REQUEST = HeaderValidationFlags(
    is_client=False, is_trailer=False, is_response_header=False, is_push_promise=False
)
TRAILERS = HeaderValidationFlags(
    is_client=False, is_trailer=True, is_response_header=False, is_push_promise=False
)
Fields = list[tuple[bytes, bytes]]


def h2_refuses(headers: Fields, flags: HeaderValidationFlags) -> bool:
    try:
        list(validate_headers(list(normalize_inbound_headers(headers, flags)), flags))
    except h2.exceptions.ProtocolError:
        return True
    return False


def normalized(headers: Fields, flags: HeaderValidationFlags) -> Fields:
    """What h2 hands the core: cookie crumbs joined, last (section 8.2.3)."""
    return [tuple(h) for h in normalize_inbound_headers(headers, flags)]  # type: ignore[misc]


NAME_LIST = [
        b":method", b":scheme", b":path", b":authority", b":protocol", b":status", b":bogus",
        b":", b"host", b"te", b"cookie", b"x-a", b"content-length", b"connection", b"upgrade",
        b"keep-alive", b"proxy-connection", b"transfer-encoding", b"X-Upper", b"sp ace",
        b"co:lon", b"", b"\x7f", b"\xc3\xa9", b"!#$%&'*+-.^_`|~09", b"a\x00",
]  # fmt: skip
NAMES = st.sampled_from(NAME_LIST)
VALUES = st.one_of(
    st.sampled_from(
        [
            b"", b"GET", b"CONNECT", b"http", b"/", b"example.com", b"other.example",
            b"websocket", b"trailers", b"TRAILERS", b"gzip", b"a\x00b", b"a\rb", b"a\nb",
            b" lead", b"trail\t", b"in side", b"\x80\xff",
        ]
    ),
    st.binary(max_size=6),
)  # fmt: skip
FIELDS = st.lists(st.tuples(NAMES, VALUES), max_size=8)
GOOD = [(b":method", b"GET"), (b":scheme", b"https"), (b":path", b"/"),
        (b":authority", b"example.com")]  # fmt: skip


@st.composite
def near_good(draw: st.DrawFn) -> Fields:
    """A valid request with fields inserted, removed or replaced: one rule at a time."""
    headers = list(GOOD)
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["insert", "remove", "replace"]))
        index = draw(st.integers(0, len(headers)))
        if action == "insert" or not headers:
            headers.insert(index, draw(st.tuples(NAMES, VALUES)))
        elif action == "remove":
            del headers[min(index, len(headers) - 1)]
        else:
            headers[min(index, len(headers) - 1)] = draw(st.tuples(NAMES, VALUES))
    return headers


@given(headers=st.one_of(FIELDS, near_good()))
@example(headers=[*GOOD, (b"host", b"example.com")])
@example(headers=[*GOOD, (b"host", b"other.example")])
@example(headers=[(b":method", b"CONNECT"), (b":authority", b"example.com:443")])
@example(headers=[(b":method", b"CONNECT"), (b":protocol", b"websocket"), *GOOD[1:]])
@example(headers=[(b"cookie", b"a=1"), *GOOD, (b"cookie", b"b=2")])
def test_a_request_is_malformed_for_the_core_exactly_when_it_is_for_h2(headers: Fields) -> None:
    """Differential (RFC 9113 sections 8.2.1, 8.2.2, 8.3.1; RFC 8441 section 4)."""
    verdict = request_problem(normalized(headers, REQUEST))
    assert (verdict is not None) == h2_refuses(headers, REQUEST), verdict


@given(headers=FIELDS)
@example(headers=[(b"x-checksum", b"abc"), (b":path", b"/")])
def test_trailers_are_malformed_for_the_core_exactly_when_they_are_for_h2(
    headers: Fields,
) -> None:
    """Differential (RFC 9113 sections 8.1 and 8.2: no pseudo-header fields in trailers)."""
    verdict = trailers_problem(normalized(headers, TRAILERS))
    assert (verdict is not None) == h2_refuses(headers, TRAILERS), verdict


SAMPLE_VALUES = [
    b"", b"GET", b"CONNECT", b"http", b"/", b"example.com", b"other.example", b"websocket",
    b"trailers", b"TRAILERS", b"gzip", b"a\x00b", b"a\rb", b"a\nb", b" lead", b"trail\t",
    b"in side", b"\x80\xff",
]  # fmt: skip
CONNECT = [(b":method", b"CONNECT"), (b":authority", b"example.com:443")]
EXTENDED_CONNECT = [(b":method", b"CONNECT"), (b":protocol", b"websocket"), *GOOD[1:]]


def one_change(base: Fields) -> list[Fields]:
    """Every block one field away from ``base``: each field removed, and each of NAMES with
    each sample value inserted at each place or put in place of each field."""
    changed = [base[:i] + base[i + 1 :] for i in range(len(base))]
    for name in NAME_LIST:
        for value in SAMPLE_VALUES:
            for i in range(len(base) + 1):
                changed.append([*base[:i], (name, value), *base[i:]])
                if i < len(base):
                    changed.append([*base[:i], (name, value), *base[i + 1 :]])
    return changed


def test_every_block_one_field_from_a_good_request_gets_h2s_verdict() -> None:
    """The same differential, exhaustive one step from a good request, a plain CONNECT and an
    extended CONNECT (RFC 9113 section 8.5, RFC 8441 section 4), as requests and trailers."""
    with_host = [*GOOD[:3], (b"host", b"example.com")]  # Host instead of :authority
    for base in (GOOD, with_host, CONNECT, EXTENDED_CONNECT, [(b"x-a", b"1")]):
        for headers in one_change(base):
            verdict = request_problem(normalized(headers, REQUEST))
            assert (verdict is not None) == h2_refuses(headers, REQUEST), (headers, verdict)
            verdict = trailers_problem(normalized(headers, TRAILERS))
            assert (verdict is not None) == h2_refuses(headers, TRAILERS), (headers, verdict)


def test_a_good_request_has_no_problem() -> None:
    assert request_problem(GOOD) is None
    assert request_problem([*GOOD, (b"te", b"trailers"), (b"x-empty", b"")]) is None
