"""The http scope (ASGI HTTP spec, "HTTP Connection Scope") built from HTTP/1.1 requests."""

from __future__ import annotations

from helpers.harness import CLIENT, SERVER, Harness

from asgi_core import Config


def scope_of(request: bytes, **kwargs: object) -> dict:
    h = Harness(**kwargs).feed(request)  # type: ignore[arg-type]
    assert h.stream_ids == [1]
    return h.scopes[1]


def test_every_key_of_a_plain_get() -> None:
    scope = scope_of(b"GET /a/b?x=1&y=%20 HTTP/1.1\r\nHost: example.com\r\nX-Thing: 1\r\n\r\n")
    assert scope["type"] == "http"
    assert scope["asgi"] == {"version": "3.0", "spec_version": "2.5"}
    assert scope["http_version"] == "1.1"
    assert scope["method"] == "GET"
    assert scope["scheme"] == "http"
    assert scope["path"] == "/a/b"
    assert scope["raw_path"] == b"/a/b"
    assert scope["query_string"] == b"x=1&y=%20"
    assert scope["root_path"] == ""
    assert scope["headers"] == [(b"host", b"example.com"), (b"x-thing", b"1")]
    assert scope["client"] == CLIENT
    assert scope["server"] == SERVER
    assert "state" not in scope  # no lifespan state was given
    assert scope["extensions"] == {"http.response.pathsend": {}}


def test_path_is_percent_decoded_as_utf8_and_raw_path_kept() -> None:
    scope = scope_of(b"GET /caf%C3%A9/%2F/x%20y HTTP/1.1\r\nHost: h\r\n\r\n")
    assert scope["path"] == "/café///x y"
    assert scope["raw_path"] == b"/caf%C3%A9/%2F/x%20y"


def test_invalid_utf8_in_path_does_not_fail_the_request() -> None:
    scope = scope_of(b"GET /%FF HTTP/1.1\r\nHost: h\r\n\r\n")
    assert scope["path"] == "/\ufffd"


def test_headers_are_lowercased_in_order_with_duplicates() -> None:
    scope = scope_of(b"GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nx-a: 2\r\nCookie: c=1\r\n\r\n")
    assert scope["headers"] == [
        (b"host", b"h"),
        (b"x-a", b"1"),
        (b"x-a", b"2"),
        (b"cookie", b"c=1"),
    ]


def test_root_path_prefixes_path_and_raw_path() -> None:
    scope = scope_of(b"GET /items HTTP/1.1\r\nHost: h\r\n\r\n", config=Config(root_path="/api"))
    assert scope["root_path"] == "/api"
    assert scope["path"] == "/api/items"
    assert scope["raw_path"] == b"/api/items"


def test_absolute_form_target_keeps_only_the_path() -> None:
    # RFC 9112 section 3.2.2: a server MUST accept the absolute-form.
    scope = scope_of(b"GET http://example.com/p?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n")
    assert (scope["path"], scope["query_string"]) == ("/p", b"q=1")


def test_http10_request() -> None:
    scope = scope_of(b"GET / HTTP/1.0\r\n\r\n")
    assert scope["http_version"] == "1.0"


def test_scheme_and_state_are_passed_through_and_state_is_a_shallow_copy() -> None:
    state = {"db": object()}
    scope = scope_of(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", scheme="https", state=state)
    assert scope["scheme"] == "https"
    assert scope["state"] == state and scope["state"] is not state
    assert scope["state"]["db"] is state["db"]


def test_trailers_extension_only_when_the_client_accepts_trailers() -> None:
    # RFC 9110 section 10.1.4: TE: trailers says the client accepts trailer fields.
    scope = scope_of(b"GET / HTTP/1.1\r\nHost: h\r\nTE: trailers\r\n\r\n")
    assert "http.response.trailers" in scope["extensions"]


def test_pipelined_requests_are_numbered_1_3_5() -> None:
    h = Harness().feed(b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\n" * 3)
    assert h.stream_ids == [1]
    h.respond(1)
    assert h.stream_ids == [1, 3]
    h.respond(3)
    assert h.stream_ids == [1, 3, 5]


def test_higher_http1_minor_version_is_served_as_1_1() -> None:
    # RFC 9110 section 2.5.
    assert scope_of(b"GET / HTTP/1.2\r\nHost: h\r\n\r\n")["http_version"] == "1.1"
