"""The two HTTP/1.1 parsers, h11 and httptools (``Config.http``), give the same events and the
same answers for the same bytes, apart from the differences docs/conformance.md lists; each of
those has a test here that says what each parser does."""

from __future__ import annotations

import re

import pytest
from helpers.harness import Harness, echo
from hypothesis import example, given, settings
from hypothesis import strategies as st

from asgi_core import Config

httptools = pytest.importorskip("httptools")

Outcome = tuple[list[tuple[object, ...]], list[tuple[int, bytes]], bytes, bool]


def serve(pieces: list[bytes], http: str, **config: object) -> Outcome:
    """An echo app that reads each body and answers with it; what the app saw and the wire."""
    h = Harness(Config(http=http, **config))  # type: ignore[arg-type]
    done = echo(h, pieces)
    scopes = [
        (s["method"], s["path"], s["raw_path"], s["query_string"], s["http_version"], s["headers"])
        for s in h.scopes.values()
    ]
    return scopes, sorted(done.items()), bytes(h.output), h.closed


def both(pieces: list[bytes], **config: object) -> tuple[Outcome, Outcome]:
    return serve(pieces, "h11", **config), serve(pieces, "httptools", **config)


def cut(data: bytes, points: list[int]) -> list[bytes]:
    points = sorted({p for p in points if 0 < p < len(data)})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


# -- requests, well formed and not ------------------------------------------------------------

TOKEN = st.text("abcdefghijklmnopqrstuvwxyz0123456789-_.!#$%&'*+^`|~", min_size=1, max_size=12)
VALUE = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=0, max_size=20).map(
    lambda v: v.encode()
)
PATH = st.text("abcdefghijklmnopqrstuvwxyz0123456789-._~%/:@!$&'()*+,;=?", max_size=20).map(
    lambda p: b"/" + p.encode()
)
METHOD = st.sampled_from([b"GET", b"POST", b"PUT", b"DELETE", b"HEAD", b"OPTIONS", b"PATCH"])
BODY = st.binary(max_size=40)


@st.composite
def request(draw: st.DrawFn) -> bytes:
    method = draw(METHOD)
    lines = [b"%s %s HTTP/%s" % (method, draw(PATH), draw(st.sampled_from([b"1.1", b"1.0"])))]
    fields = [(b"Host", b"example")] if draw(st.integers(0, 9)) else []
    fields += [(draw(TOKEN).encode(), draw(VALUE)) for _ in range(draw(st.integers(0, 3)))]
    body = draw(BODY)
    framing = draw(st.sampled_from(["length", "chunked", "none", "both", "two lengths"]))
    tail = b""
    if framing in ("length", "both", "two lengths"):
        fields.append((b"Content-Length", b"%d" % len(body)))
        tail = body
    if framing == "two lengths":
        fields.append((b"Content-Length", b"%d" % len(body)))
    if framing in ("chunked", "both"):
        fields.append((b"Transfer-Encoding", b"chunked"))
        sizes = draw(st.lists(st.integers(1, 9), max_size=3))
        chunks, rest = [], body
        for size in sizes:
            piece, rest = rest[:size], rest[size:]
            if piece:
                chunks.append(b"%x\r\n%s\r\n" % (len(piece), piece))
        trailer = b"X-Trailer: 1\r\n" if draw(st.booleans()) else b""
        tail = b"".join(chunks) + b"0\r\n" + trailer + b"\r\n"
    draw(st.randoms()).shuffle(fields)
    lines += [b"%s: %s" % field for field in fields]
    return b"\r\n".join(lines) + b"\r\n\r\n" + tail


STREAMS = st.lists(request(), min_size=1, max_size=4).map(b"".join)
#: Documented differences: bare LF, bytes outside ASCII, and words of a request line parted
#: by several spaces.
_DIFFERENT = re.compile(rb"(?<!\r)\n|[\x80-\xff]|  +(?:[/*]|[A-Za-z]+://|HTTP/)")


def _known_to_llhttp(method: str) -> bool:
    try:
        head = method.encode("latin-1") + b" / HTTP/1.1\r\n\r\n"
        httptools.HttpRequestParser(object()).feed_data(head)
    except httptools.HttpParserInvalidMethodError:
        return False
    except (httptools.HttpParserError, httptools.HttpParserUpgrade):
        pass
    return True


def _comparable(data: bytes) -> bool:
    return _DIFFERENT.search(data) is None


@given(STREAMS, st.lists(st.integers(0, 2000), max_size=8))
@settings(max_examples=300, deadline=None)
@example(b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", [])
@example(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", [])
def test_both_parsers_serve_generated_requests_alike(stream: bytes, points: list[int]) -> None:
    h11, httptools = both(cut(stream, points))
    assert httptools == h11


@given(STREAMS, st.data())
@settings(max_examples=300, deadline=None)
def test_both_parsers_answer_damaged_requests_alike(stream: bytes, data: st.DataObject) -> None:
    """A byte changed, dropped or added anywhere: both refuse it, or both serve the same."""
    where = data.draw(st.integers(0, len(stream)))
    byte = bytes([data.draw(st.integers(0, 255))])
    how = data.draw(st.sampled_from(["replace", "drop", "insert"]))
    after = where + 1 if how != "insert" else where
    damaged = stream[:where] + (b"" if how == "drop" else byte) + stream[after:]
    if not _comparable(damaged):
        return
    h11, httptools = both([damaged])
    assert agree(h11, httptools)


def agree(h11: Outcome, httptools: Outcome) -> bool:
    """The same, or one of two documented differences: llhttp refuses a malformed head (400)
    at the bad byte, while h11 waits for the head to end; and a method llhttp does not know,
    pipelined behind another request in the same read, gets 400 (h11 cannot be handed the
    request from its first byte)."""
    if httptools == h11:
        return True
    output = httptools[2]
    refused = httptools[3] and output.endswith(b"\r\n\r\nBad Request\n")
    if not h11[3] and refused and httptools[0] == h11[0] and output.startswith(h11[2]):
        return output[len(h11[2]) :].startswith(b"HTTP/1.1 400 ")
    scopes = h11[0]
    unknown = [i for i, scope in enumerate(scopes) if not _known_to_llhttp(str(scope[0]))]
    return refused and bool(unknown) and httptools[0] == scopes[: unknown[0]]


# -- the documented differences ---------------------------------------------------------------


def statuses(output: bytes) -> list[int]:
    return [int(code) for code in re.findall(rb"^HTTP/1\.1 (\d{3})", output, re.MULTILINE)]


def test_bare_lf_line_endings_h11_serves_httptools_refuses() -> None:
    """RFC 9112 section 2.2: a recipient MAY take a lone LF as a line terminator. h11 does;
    llhttp refuses it (400), as many proxies do."""
    h11, httptools = both([b"GET /lf HTTP/1.1\nHost: example\n\n"])
    assert [s[1] for s in h11[0]] == ["/lf"] and statuses(h11[2]) == [200]
    assert httptools[0] == [] and statuses(httptools[2]) == [400] and httptools[3]


@pytest.mark.parametrize("method", [b"get", b"BREW", b"X-CUSTOM"])
def test_a_method_llhttp_does_not_know_is_read_by_h11(method: bytes) -> None:
    """RFC 9110 section 9.1: a method is any token. llhttp knows a fixed list (RFC 9110's,
    WebDAV's and a few more); for any other, h11 reads the request, whole or byte by byte."""
    request = method + b" /x HTTP/1.1\r\nHost: h\r\n\r\n"
    for pieces in ([request], [bytes([b]) for b in request]):
        h11, httptools = both(pieces)
        assert httptools == h11 and [s[0] for s in h11[0]] == [method.decode()]


def test_a_method_llhttp_does_not_know_pipelined_in_the_same_read_gets_400() -> None:
    get = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"
    h11, httptools = both([get + b"BREW / HTTP/1.1\r\nHost: h\r\n\r\n"])
    assert [s[0] for s in h11[0]] == ["GET", "BREW"]
    assert [s[0] for s in httptools[0]] == ["GET"] and statuses(httptools[2]) == [200, 400]


def test_non_ascii_targets_both_refuse() -> None:
    """RFC 9112 section 3.2: a target is ASCII (RFC 3986); both parsers refuse other bytes."""
    h11, httptools = both([b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n"])
    assert statuses(h11[2]) == statuses(httptools[2]) == [400]


def test_a_large_chunk_h11_refuses_at_its_size_line_httptools_when_its_data_passes() -> None:
    """llhttp keeps a chunk's announced size to itself: a chunk larger than what
    max_request_body_size still allows gets 413 once its data passes the limit."""
    head = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    h11, httptools = (
        serve([head + b"1000\r\n"], parser, max_request_body_size=1000)
        for parser in ("h11", "httptools")
    )
    assert statuses(h11[2]) == [413] and statuses(httptools[2]) == []
    late = serve([head + b"1000\r\n", b"x" * 1001], "httptools", max_request_body_size=1000)
    assert statuses(late[2]) == [413] and late[3]


def test_a_head_is_measured_from_its_fields_by_httptools() -> None:
    """h11 measures the bytes of a head; httptools the fields it holds, each as ``name: value``
    and CRLF, so whitespace around values does not count towards max_request_head_size."""
    padded = b"GET / HTTP/1.1\r\nHost: h\r\nX:" + b" " * 200 + b"v\r\n\r\n"
    h11, httptools = both([padded], max_request_head_size=200)
    assert statuses(h11[2]) == [431]
    assert statuses(httptools[2]) == [200]
