"""Response framing and headers on HTTP/1.1 (RFC 9112 sections 6, 7 and 9)."""

from __future__ import annotations

import pytest
from helpers.harness import Harness

from asgi_core import Config

GET = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"


def start(status: int = 200, headers: list | None = None, **extra: object) -> dict:
    return {"type": "http.response.start", "status": status, "headers": headers or [], **extra}


def body(data: bytes = b"", more: bool = False) -> dict:
    return {"type": "http.response.body", "body": data, "more_body": more}


def test_single_body_gets_content_length_date_and_server() -> None:
    h = Harness().feed(GET)
    h.respond(1, b"hello", headers=[(b"content-type", b"text/plain")])
    (response,) = h.responses()
    assert (response.status, response.reason, response.body) == (200, b"OK", b"hello")
    assert response.header(b"content-length") == b"5"
    assert response.header(b"date") == b"Sun, 06 Nov 1994 08:49:37 GMT"
    assert response.header(b"server") == b"asgi-core"
    assert response.header(b"transfer-encoding") is None


def test_streamed_body_without_length_is_chunked() -> None:
    h = Harness().feed(GET)
    h.send(1, start())
    h.send(1, body(b"ab", more=True))
    h.send(1, body(b"cd", more=True))
    h.send(1, body())
    (response,) = h.responses()
    assert response.chunked and response.body == b"abcd"


def test_app_content_length_is_used_and_transfer_encoding_from_the_app_ignored() -> None:
    # ASGI spec: a Transfer-Encoding header from the app must be ignored by the server.
    h = Harness().feed(GET)
    h.send(1, start(headers=[(b"Content-Length", b"4"), (b"transfer-encoding", b"gzip")]))
    h.send(1, body(b"ab", more=True))
    h.send(1, body(b"cd"))
    (response,) = h.responses()
    assert not response.chunked and response.body == b"abcd"
    assert response.header(b"transfer-encoding") is None


def test_app_date_and_server_headers_win_and_can_be_turned_off() -> None:
    h = Harness(Config(server_header=None, date_header=False)).feed(GET)
    h.respond(1)
    (response,) = h.responses()
    assert response.header(b"server") is None and response.header(b"date") is None
    h = Harness().feed(GET)
    h.respond(1, headers=[(b"server", b"mine"), (b"date", b"then")])
    (response,) = h.responses()
    assert response.header(b"server") == b"mine" and response.header(b"date") == b"then"


def test_head_response_has_no_body_but_the_length_of_one() -> None:
    # RFC 9110 section 9.3.2: HEAD gets the GET headers and no content.
    h = Harness().feed(b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n")
    h.respond(1, b"twelve bytes")
    (response,) = h.responses(head_requests=1)
    assert response.header(b"content-length") == b"12"
    assert h.output.endswith(b"\r\n\r\n")


@pytest.mark.parametrize("status", [204, 304])
def test_no_body_statuses_send_no_body(status: int) -> None:
    # RFC 9110 sections 15.3.5 and 15.4.5.
    h = Harness().feed(GET)
    h.respond(1, b"ignored", status=status)
    (response,) = h.responses()
    assert response.status == status
    assert response.header(b"content-length") is None
    assert h.output.endswith(b"\r\n\r\n")


def test_keep_alive_serves_several_requests_on_one_connection() -> None:
    h = Harness()
    for stream_id in (1, 3, 5):
        h.feed(GET).respond(stream_id)
    assert [r.status for r in h.responses()] == [200, 200, 200]
    assert not h.closed


def test_client_connection_close_closes_after_the_response() -> None:
    h = Harness().feed(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").respond(1)
    (response,) = h.responses()
    assert response.header(b"connection") == b"close"
    assert h.closed


def test_app_connection_close_closes_after_the_response() -> None:
    h = Harness().feed(GET).respond(1, headers=[(b"connection", b"close")])
    assert h.closed


def test_http10_client_gets_a_closed_connection() -> None:
    h = Harness().feed(b"GET / HTTP/1.0\r\n\r\n")
    h.send(1, start())
    h.send(1, body(b"streamed", more=True))
    h.send(1, body())
    (response,) = h.responses()
    assert response.body == b"streamed" and not response.chunked
    assert h.closed


def test_trailers_are_sent_chunked_when_offered() -> None:
    h = Harness().feed(b"GET / HTTP/1.1\r\nHost: h\r\nTE: trailers\r\n\r\n")
    h.send(1, start(trailers=True))
    h.send(1, body(b"data"))
    h.send(1, {"type": "http.response.trailers", "headers": [(b"x-checksum", b"abc")]})
    (response,) = h.responses()
    assert response.chunked and response.body == b"data"
    assert response.trailers == [(b"x-checksum", b"abc")]


def test_pipelined_responses_come_out_in_request_order() -> None:
    h = Harness().feed(b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n")
    h.respond(1, b"first")
    h.respond(3, b"second")
    assert [r.body for r in h.responses()] == [b"first", b"second"]


def test_the_app_may_keep_running_after_its_response() -> None:
    h = Harness().feed(GET + GET)
    h.send(1, start())
    h.send(1, body(b"done"))
    assert h.stream_ids == [1, 3]  # the next request starts before app 1 returns
    h.respond(3)
    h.finish(1)
    assert [r.status for r in h.responses()] == [200, 200]


def test_graceful_shutdown_closes_idle_at_once_and_busy_after_the_response() -> None:
    idle = Harness().feed(GET)
    idle.respond(1)
    idle.finish(1)
    idle.shutdown()
    assert idle.closed
    busy = Harness().feed(GET)
    busy.shutdown()
    assert not busy.closed
    busy.respond(1)
    (response,) = busy.responses()
    assert response.header(b"connection") == b"close"
    assert busy.closed


@pytest.mark.parametrize("sent", [b"", GET[:10]], ids=["nothing yet", "half a head"])
def test_graceful_shutdown_answers_a_request_on_its_way(sent: bytes) -> None:
    """A connection that has not sent its first request yet (a worker that drains accepted
    it a moment ago), or whose head is half here, is not cut: closing it would fail a request
    the client has sent; it is answered with Connection: close."""
    h = Harness().feed(sent) if sent else Harness()
    h.shutdown()
    assert not h.closed
    h.feed(GET[len(sent) :])
    h.respond(1)
    (response,) = h.responses()
    assert response.status == 200 and response.header(b"connection") == b"close"
    assert h.closed
