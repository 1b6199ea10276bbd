"""What the application may send when (ASGI HTTP spec, "Response Start/Body", "Disconnected
Client"): a broken rule raises an error naming it, and the client gets a 500 or a close."""

from __future__ import annotations

import pytest
from helpers.harness import Harness

from asgi_core import AppProtocolError, ClientDisconnected

GET = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"
START = {"type": "http.response.start", "status": 200, "headers": []}


def started() -> Harness:
    return Harness().feed(GET)


@pytest.mark.parametrize(
    ("message", "rule"),
    [
        ({"type": "http.response.body", "body": b"x"}, "expected 'http.response.start'"),
        ({"type": "websocket.accept"}, "expected 'http.response.start'"),
        ("not a dict", "must be a dict"),
        ({"type": "http.response.start", "status": "200"}, "int 'status'"),
        ({"type": "http.response.start", "status": 99}, "from 200 to 599"),
        ({"type": "http.response.start", "status": True}, "int 'status'"),
        ({"type": "http.response.start", "status": 200, "headers": [("x", "y")]}, "must be bytes"),
        (
            {"type": "http.response.start", "status": 200, "headers": [(b"x", b"a\r\nb: c")]},
            "control character",
        ),
        (
            {"type": "http.response.start", "status": 200, "headers": [(b"x y", b"1")]},
            "not an RFC 9110 token",
        ),
        ({"type": "http.response.start", "status": 200, "headers": [(b"x",)]}, "pair"),
        ({"type": "http.response.start", "status": 200, "headers": 5}, "iterable"),
        ({"type": "http.response.start", "status": 200, "trailers": True}, "does not offer"),
    ],
)
def test_invalid_first_message_raises_and_answers_500(message: object, rule: str) -> None:
    h = started()
    with pytest.raises(AppProtocolError, match=rule) as raised:
        h.send(1, message)
    # One error, so the log shows one traceback (not a copy chained to the rule's own).
    error = raised.value
    assert error.__context__ is None or error.__suppress_context__
    (response,) = h.responses()
    assert response.status == 500
    assert response.body == b"Internal Server Error"


def test_str_body_is_refused() -> None:
    h = started()
    h.send(1, START)
    with pytest.raises(AppProtocolError, match=r"needs bytes in 'body', got str"):
        h.send(1, {"type": "http.response.body", "body": "text"})
    assert h.responses()[0].status == 500


def test_start_twice_is_refused() -> None:
    h = started()
    h.send(1, START)
    with pytest.raises(AppProtocolError, match=r"expected 'http\.response\.body'"):
        h.send(1, START)


def test_error_after_the_head_went_out_closes_without_a_fake_end() -> None:
    h = started()
    h.send(1, START)
    h.send(1, {"type": "http.response.body", "body": b"part", "more_body": True})
    with pytest.raises(AppProtocolError):
        h.send(1, {"type": "http.response.body", "body": 42})
    assert h.closed
    assert not h.output.endswith(b"0\r\n\r\n")  # no terminating chunk: the client sees a cut


def test_send_after_the_response_is_complete_is_refused() -> None:
    h = started()
    h.send(1, START)
    h.send(1, {"type": "http.response.body", "body": b"x"})
    with pytest.raises(AppProtocolError, match="after the response was complete"):
        h.send(1, {"type": "http.response.body", "body": b"y"})


def test_body_longer_than_declared_content_length_is_an_app_error() -> None:
    h = started()
    h.send(1, {**START, "headers": [(b"content-length", b"2")]})
    with pytest.raises(AppProtocolError, match="longer than its content-length"):
        h.send(1, {"type": "http.response.body", "body": b"too long"})
    assert h.closed


def test_body_shorter_than_declared_content_length_is_an_app_error() -> None:
    h = started()
    h.send(1, {**START, "headers": [(b"content-length", b"10")]})
    h.send(1, {"type": "http.response.body", "body": b"short", "more_body": True})
    with pytest.raises(AppProtocolError, match="shorter than its content-length"):
        h.send(1, {"type": "http.response.body", "body": b""})
    assert h.closed


def test_app_raising_before_the_response_gives_500() -> None:
    h = started().finish(1, RuntimeError("boom"))
    (response,) = h.responses()
    assert response.status == 500


def test_app_returning_without_a_response_gives_500() -> None:
    h = started().finish(1)
    assert h.responses()[0].status == 500


def test_app_raising_after_the_head_closes_the_connection() -> None:
    h = started()
    h.send(1, START)
    h.send(1, {"type": "http.response.body", "body": b"part", "more_body": True})
    h.finish(1, RuntimeError("boom"))
    assert h.closed
    assert not h.output.endswith(b"0\r\n\r\n")


def test_start_alone_is_not_flushed_so_an_error_can_still_become_500() -> None:
    # ASGI spec: servers need not flush the start until the first body message.
    h = started()
    h.send(1, START)
    assert h.output == b""
    h.finish(1, RuntimeError("boom"))
    assert h.responses()[0].status == 500


def test_send_after_the_client_left_raises_an_oserror() -> None:
    # ASGI HTTP spec 2.4: send() on a closed connection raises an OSError subclass.
    h = started().eof()
    with pytest.raises(ClientDisconnected) as info:
        h.send(1, START)
    assert isinstance(info.value, OSError)


def test_500_after_an_app_error_closes_and_other_streams_are_unaffected() -> None:
    h = Harness().feed(GET)
    h.finish(1, RuntimeError("boom"))
    assert h.closed
    other = Harness().feed(GET).respond(1)
    assert other.responses()[0].status == 200


def test_pathsend_accepts_the_file_as_body_messages_after_it() -> None:
    # ASGI extensions, "Path Send": the driver streams the file through the core as body.
    h = started()
    h.send(1, {**START, "headers": [(b"content-length", b"4")]})
    h.send(1, {"type": "http.response.pathsend", "path": "/srv/file"})
    h.send(1, {"type": "http.response.body", "body": b"da", "more_body": True})
    h.send(1, {"type": "http.response.body", "body": b"ta"})
    (response,) = h.responses()
    assert (response.status, response.body) == (200, b"data")


@pytest.mark.parametrize("path", ["relative/file", b"/bytes/path", None])
def test_pathsend_needs_an_absolute_str_path(path: object) -> None:
    h = started()
    h.send(1, START)
    with pytest.raises(AppProtocolError, match="absolute 'path'"):
        h.send(1, {"type": "http.response.pathsend", "path": path})
    assert h.responses()[0].status == 500


@pytest.mark.parametrize("protocol", ["HTTP/1.1", "HTTP/2"])
@pytest.mark.parametrize("body", [b"", b"part"], ids=["body-complete", "body-coming"])
@pytest.mark.parametrize("waiting", [False, True], ids=["app-busy", "app-in-receive"])
def test_a_response_start_alone_asks_nothing_of_the_driver(
    protocol: str, body: bytes, waiting: bool
) -> None:
    """The drivers skip their pump after an ``http.response.start`` that queued no event:
    the head waits for the first body (ASGI HTTP spec, "Response Start": "the server ...
    does not need to send the headers until the first body"), so the start alone writes
    nothing and moves no timer nor the reading state."""
    h = Harness(alpn="h2" if protocol == "HTTP/2" else "http/1.1")
    if protocol == "HTTP/2":
        from helpers.harness import H2Peer

        peer = H2Peer(h)
        fields = [(b":method", b"POST"), (b":scheme", b"http"), (b":path", b"/"),
                  (b":authority", b"h"), (b"content-length", b"8")]  # fmt: skip
        peer.h2.send_headers(1, fields)
        peer.h2.send_data(1, body)
        peer.flush()
    else:
        h.feed(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 8\r\n\r\n" + body)
    if waiting:
        h.receive(1)
    conn = h.conn
    before = (conn.next_deadline, conn.reading_paused, conn.closed)
    assert conn.app_send(1, START, h.clock)
    assert not conn.pending_events
    assert conn.data_to_send() == b""
    assert (conn.next_deadline, conn.reading_paused, conn.closed) == before
