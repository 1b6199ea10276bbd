"""Bugs the fuzz targets (fuzz/) found in the core, each pinned by a small, readable test.

The fuzzers' own minimised inputs replay too (tests/test_fuzz_corpus.py); these say what was
wrong in words.
"""

from __future__ import annotations

import wsproto
import wsproto.events
from helpers.harness import H2Peer, Harness

from asgi_core import AppProtocolError, Config

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def test_request_body_is_bytes_not_a_bytearray() -> None:
    """ASGI HTTP spec: ``body`` is a byte string (h11 hands the core bytearrays)."""
    h = Harness(alpn="http/1.1")
    h.feed(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc")
    h.receive(1)
    assert type(h.received[1][0]["body"]) is bytes


def test_an_upgrade_not_taken_does_not_hold_the_connection() -> None:
    """An ``Upgrade`` the server does not switch to (here an unknown protocol) is a plain
    request: after its answer the next request is read (it used to wait forever)."""
    h = Harness(alpn="http/1.1")
    h.feed(b"GET /1 HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: foo/2\r\n\r\n"
           b"GET /2 HTTP/1.1\r\nHost: a\r\n\r\n")  # fmt: skip
    h.respond(1)
    assert h.scopes[3]["path"] == "/2"
    h.respond(3)
    assert [r.status for r in h.responses()] == [200, 200]


def test_an_unread_body_that_stops_coming_times_out() -> None:
    """The app answered without reading the body; the client stops sending the rest: the
    connection is closed after request_body_timeout (it used to have no timer at all)."""
    config = Config(request_body_timeout=10, min_request_body_rate=None)
    h = Harness(config, alpn="http/1.1")
    h.feed(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nabc")
    h.respond(1)
    assert not h.closed and h.conn.next_deadline == 10
    h.advance(5)
    h.feed(b"more")  # progress restarts the wait
    h.advance(9)
    assert not h.closed
    h.advance(1)
    assert h.closed


def test_an_error_answer_to_head_has_no_body() -> None:
    """RFC 9110 section 9.3.2: a 413 (like any answer) to HEAD carries no content."""
    h = Harness(Config(max_request_body_size=10), alpn="http/1.1")
    h.feed(b"HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n")
    assert bytes(h.output).startswith(b"HTTP/1.1 413 ")
    assert bytes(h.output).endswith(b"\r\n\r\n")


def test_a_websocket_subprotocol_must_be_a_token() -> None:
    """RFC 6455 section 4.1: offered subprotocols that are not tokens are not offered; an app
    choosing a non-token gets AppProtocolError (it used to be a UnicodeEncodeError)."""
    h = Harness(alpn="http/1.1")
    client = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
    request = client.send(wsproto.events.Request(host="a", target="/", subprotocols=["chat"]))
    h.feed(request.replace(b"chat", b"ch\xe9t, chat"))
    assert h.scopes[1]["subprotocols"] == ["chat"]
    h.receive(1)
    try:
        h.send(1, {"type": "websocket.accept", "subprotocol": "ch\xe9t"})
    except AppProtocolError as exc:
        assert "token" in str(exc)
    else:
        raise AssertionError("a non-token subprotocol was accepted")


def test_a_closed_websocket_connection_has_no_deadline() -> None:
    """After the client's EOF in the close handshake, no timer is left pending."""
    h = Harness(alpn="http/1.1")
    client = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
    h.feed(client.send(wsproto.events.Request(host="a", target="/")))
    h.receive(1)
    h.send(1, {"type": "websocket.accept"})
    h.send(1, {"type": "websocket.close", "code": 1000})
    assert h.conn.next_deadline is not None  # the close-handshake timeout
    h.eof()
    assert h.closed and h.conn.next_deadline is None


def test_an_http2_method_must_be_a_token() -> None:
    """RFC 9110 section 9.1: a :method with a non-ASCII byte is malformed: the stream is
    reset (it used to raise UnicodeDecodeError from receive_data)."""
    h = Harness()
    peer = H2Peer(h)
    sid = peer.h2.get_next_available_stream_id()
    fields = [(b":method", b"G\xc9T"), (b":scheme", b"http"), (b":authority", b"a"),
              (b":path", b"/")]  # fmt: skip
    peer.h2.send_headers(sid, fields, end_stream=True)
    peer.flush()
    assert sid not in h.scopes
    assert peer.resets[sid] == 1  # PROTOCOL_ERROR


def test_an_rfc8441_stream_ended_before_the_accept_is_reset() -> None:
    """RFC 9113 section 8.1: no bare DATA without a response; the client gave up, so the
    stream is reset and the app sees the disconnect."""
    h = Harness()
    peer = H2Peer(h)
    sid = peer.request("/ws", "CONNECT", headers=[(b":protocol", b"websocket"),
                                                  (b"sec-websocket-version", b"13")])  # fmt: skip
    assert sid in h.scopes
    assert sid in peer.resets
    assert not peer.headers[sid]
    h.receive(sid).receive(sid)
    assert h.received[sid][-1]["type"] == "websocket.disconnect"


def test_eof_in_the_middle_of_the_preface_closes() -> None:
    """On cleartext, EOF after some of the HTTP/2 preface closes the connection (it used to
    be swallowed while the core waited to tell HTTP/1.1 from HTTP/2)."""
    h = Harness()
    h.feed(PREFACE[:10])
    h.eof()
    assert h.closed


def test_no_100_continue_after_the_connection_closed() -> None:
    """An app asking for the body after the connection was refused and closed must not make
    the core write a 100 Continue after the close."""
    h = Harness(Config(max_request_head_size=200), alpn="http/1.1")
    h.feed(b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
    h.eof()
    assert h.closed
    before = bytes(h.output)
    h.receive(1)
    assert bytes(h.output) == before
    assert b"100 Continue" not in before


def test_extension_messages_after_a_reset_raise_client_disconnected() -> None:
    """ASGI: after the client is gone, send() raises an OSError (ClientDisconnected), also
    for http.response.early_hint and http.response.push (they raised AppProtocolError)."""
    from asgi_core import ClientDisconnected

    h = Harness()
    peer = H2Peer(h)
    sid = peer.request("/", end=False)
    peer.h2.reset_stream(sid)
    peer.flush()
    for message in ({"type": "http.response.early_hint", "links": [b"</a>; rel=preload"]},
                    {"type": "http.response.push", "path": "/a"}):  # fmt: skip
        try:
            h.send(sid, message)
        except ClientDisconnected:
            continue
        raise AssertionError(f"{message['type']} after a reset did not raise")


def test_invalid_http2_settings_in_an_h2c_upgrade_are_declined() -> None:
    """RFC 9113 section 6.5.2: HTTP2-Settings with SETTINGS_ENABLE_PUSH 5 is invalid; the
    upgrade is declined and the request served over HTTP/1.1 (h2 used to raise)."""
    import base64

    settings = base64.urlsafe_b64encode(b"\x00\x02\x00\x00\x00\x05").rstrip(b"=")
    h = Harness()
    h.feed(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\n"
           b"Upgrade: h2c\r\nHTTP2-Settings: " + settings + b"\r\n\r\n")  # fmt: skip
    assert h.scopes[1]["http_version"] == "1.1"


def test_an_h2c_upgrade_whose_body_never_comes_times_out() -> None:
    """The body of an ``Upgrade: h2c`` request is read before the switch; if it stops
    coming, request_body_timeout answers 408 (there used to be no timer at all)."""
    h = Harness(Config(request_body_timeout=10))
    h.feed(b"POST / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\n"
           b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAAAK\r\nContent-Length: 7\r\n\r\nabc")  # fmt: skip
    assert h.conn.next_deadline == 10
    h.advance(10)
    assert h.closed
    assert bytes(h.output).startswith(b"HTTP/1.1 408 ")


def test_a_websocket_failed_before_its_accept_sets_no_ping_timer() -> None:
    """RFC 8441: a frame that came before the accept and fails the WebSocket closes it inside
    the accept; no keepalive timer may follow (its ping fired into the closed WebSocket and
    left the deadline in the past: a driver re-arming there would spin)."""
    from h2.settings import SettingCodes

    h = Harness(Config(ws_ping_interval=1, ws_ping_timeout=1))
    peer = H2Peer(h, settings={SettingCodes.INITIAL_WINDOW_SIZE: 1})
    sid = peer.request("/ws", "CONNECT", headers=[(b":protocol", b"websocket"),
                                                  (b"sec-websocket-version", b"13")],
                       end=False)  # fmt: skip
    peer.h2.send_data(sid, b"\x83\x80\x01\x02\x03\x04")  # a reserved opcode: a broken peer
    peer.flush()
    h.receive(sid)
    h.send(sid, {"type": "websocket.accept"})
    for _ in range(4):
        h.advance(1)
        deadline = h.conn.next_deadline
        assert deadline is None or deadline > h.clock
