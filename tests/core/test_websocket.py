"""WebSocket over HTTP/1.1 in the core (RFC 6455, ASGI websocket spec), with a wsproto client."""

from __future__ import annotations

import pytest
from helpers.harness import Harness, WebSocketPeer
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Pong,
    RejectConnection,
    RejectData,
    TextMessage,
)

from asgi_core import AppProtocolError, ClientDisconnected, Config

ACCEPT = {"type": "websocket.accept"}


def connected(config: Config | None = None, **request: object) -> tuple[Harness, WebSocketPeer]:
    h = Harness(config)
    peer = WebSocketPeer(h, **request)
    h.receive(1)
    assert h.received[1] == [{"type": "websocket.connect"}]
    return h, peer


def opened(config: Config | None = None, **request: object) -> tuple[Harness, WebSocketPeer]:
    h, peer = connected(config, **request)
    h.send(1, ACCEPT)
    assert isinstance(peer.events()[0], AcceptConnection)
    return h, peer


def test_scope_has_every_websocket_key() -> None:
    h, _ = connected(subprotocols=["chat", "superchat"])
    scope = h.scopes[1]
    assert scope["type"] == "websocket"
    assert scope["asgi"] == {"version": "3.0", "spec_version": "2.5"}
    assert (scope["http_version"], scope["scheme"], scope["path"]) == ("1.1", "ws", "/ws")
    assert scope["subprotocols"] == ["chat", "superchat"]
    assert "method" not in scope
    assert scope["extensions"] == {"websocket.http.response": {}}
    assert (b"sec-websocket-key" in dict(scope["headers"])) and scope["query_string"] == b""


def test_accept_sends_101_with_the_rfc_accept_token() -> None:
    # RFC 6455 section 1.3: this key's accept value is s3pPLMBiTxaQ9kYGzzhZRbK+xOo=.
    h = Harness().feed(
        b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n"
    )
    h.send(1, ACCEPT)
    assert h.output.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    assert b"sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in h.output


def test_subprotocol_and_extra_headers_on_accept() -> None:
    h, peer = connected(subprotocols=["chat"])
    h.send(1, {**ACCEPT, "subprotocol": "chat", "headers": [(b"x-extra", b"1")]})
    (accepted,) = peer.events()
    assert accepted.subprotocol == "chat"
    assert (b"x-extra", b"1") in accepted.extra_headers


def test_close_before_accept_is_http_403() -> None:
    h, peer = connected()
    h.send(1, {"type": "websocket.close"})
    (rejection, *_) = peer.events()
    assert isinstance(rejection, RejectConnection) and rejection.status_code == 403
    assert h.closed


def test_denial_response_extension() -> None:
    h, peer = connected()
    h.send(
        1,
        {
            "type": "websocket.http.response.start",
            "status": 401,
            "headers": [(b"www-authenticate", b"Bearer")],
        },
    )
    h.send(1, {"type": "websocket.http.response.body", "body": b"who are you?"})
    events = peer.events()
    assert isinstance(events[0], RejectConnection) and events[0].status_code == 401
    assert b"".join(e.data for e in events if isinstance(e, RejectData)) == b"who are you?"
    assert h.closed


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        (b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n", 426),
        (b"Sec-WebSocket-Version: 13\r\n", 400),
        (b"Sec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n", 400),
    ],
)
def test_bad_handshakes_get_an_http_error(headers: bytes, status: int) -> None:
    h = Harness().feed(
        b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + headers
        + b"\r\n"
    )
    assert h.stream_ids == []
    (response,) = h.responses()
    assert response.status == status
    if status == 426:  # RFC 6455 section 4.4
        assert response.header(b"sec-websocket-version") == b"13"


def test_text_and_bytes_both_ways() -> None:
    h, peer = opened()
    peer.send(TextMessage(data="héllo"))
    peer.send(BytesMessage(data=b"\x00\xff"))
    h.receive(1).receive(1)
    assert h.received[1][1:] == [
        {"type": "websocket.receive", "text": "héllo"},
        {"type": "websocket.receive", "bytes": b"\x00\xff"},
    ]
    h.send(1, {"type": "websocket.send", "text": "out"})
    h.send(1, {"type": "websocket.send", "bytes": b"raw"})
    assert [e.data for e in peer.events()] == ["out", b"raw"]


def test_fragmented_messages_are_reassembled() -> None:
    h, peer = opened()
    peer.send(TextMessage(data="frag", message_finished=False))
    peer.send(TextMessage(data="ment", message_finished=True))
    h.receive(1)
    assert h.received[1][-1] == {"type": "websocket.receive", "text": "fragment"}


def test_peer_close_is_answered_reported_and_the_server_closes_first() -> None:
    # RFC 6455 sections 5.5.1 and 7.1.1.
    h, peer = opened()
    peer.send(CloseConnection(code=4001, reason="bye"))
    events = peer.events()
    assert isinstance(events[-1], CloseConnection) and events[-1].code == 4001
    assert h.closed
    h.receive(1)
    assert h.received[1][-1] == {"type": "websocket.disconnect", "code": 4001, "reason": "bye"}


def test_app_close_then_peer_reply_then_disconnect() -> None:
    h, peer = opened()
    h.send(1, {"type": "websocket.close", "code": 4002, "reason": "done"})
    (close,) = peer.events()
    assert (close.code, close.reason) == (4002, "done")
    assert not h.closed  # waits for the peer's close
    peer.send(close.response())
    assert h.closed
    h.receive(1)
    assert h.received[1][-1]["type"] == "websocket.disconnect"
    assert h.received[1][-1]["code"] == 4002


def test_close_handshake_timeout_drops_a_silent_peer() -> None:
    h, _peer = opened(Config(ws_close_timeout=2.0))
    h.send(1, {"type": "websocket.close"})
    h.advance(1.9)
    assert not h.closed
    h.advance(0.1)
    assert h.closed


def test_message_over_the_limit_closes_1009() -> None:
    _h, peer = opened(Config(ws_max_size=10))
    peer.send(BytesMessage(data=b"x" * 11))
    (close,) = peer.events()
    assert close.code == 1009


def test_keepalive_ping_and_timeout_on_a_virtual_clock() -> None:
    h, peer = opened(Config(ws_ping_interval=10.0, ws_ping_timeout=5.0))
    assert h.conn.next_deadline == 10.0
    h.advance(10)
    (ping,) = peer.events()
    assert isinstance(ping, Ping)
    peer.send(ping.response())  # answered: no timeout
    h.advance(5)
    assert not h.closed
    h.advance(5)  # second ping, never answered
    assert isinstance(peer.events()[0], Ping)
    h.advance(5)
    (close,) = peer.events()
    assert close.code == 1011


def test_pings_from_the_peer_are_answered() -> None:
    _h, peer = opened()
    peer.send(Ping(payload=b"are you there"))
    (pong,) = peer.events()
    assert isinstance(pong, Pong) and pong.payload == b"are you there"


def test_invalid_utf8_closes_1007() -> None:
    h, peer = opened()
    # A masked text frame with invalid UTF-8 (0xff), written by hand: wsproto won't send it.
    mask = b"\x01\x02\x03\x04"
    payload = bytes(b ^ mask[i % 4] for i, b in enumerate(b"\xff\xfe"))
    h.feed(b"\x81\x82" + mask + payload)
    (close,) = peer.events()
    assert close.code == 1007


def test_unmasked_client_frame_closes_1002() -> None:
    h, peer = opened()
    h.feed(b"\x81\x02hi")  # RFC 6455 section 5.1: clients must mask
    (close,) = peer.events()
    assert close.code == 1002


def test_app_raising_after_accept_closes_1011_and_before_accept_gets_500() -> None:
    h, peer = opened()
    h.finish(1, RuntimeError("boom"))
    (close,) = peer.events()
    assert close.code == 1011
    h, peer = connected()
    h.finish(1, RuntimeError("boom"))
    (rejection, *_) = peer.events()
    assert rejection.status_code == 500


def test_invalid_app_messages_raise_naming_the_rule() -> None:
    h, _peer = opened()
    with pytest.raises(AppProtocolError, match="exactly one of"):
        h.send(1, {"type": "websocket.send", "text": "a", "bytes": b"b"})
    with pytest.raises(AppProtocolError, match=r"expected 'websocket\.send'"):
        h.send(1, {"type": "http.response.start", "status": 200})
    h.send(1, {"type": "websocket.close"})
    with pytest.raises(AppProtocolError, match="after the app closed the WebSocket"):
        h.send(1, {"type": "websocket.send", "text": "late"})


def test_send_after_the_peer_closed_raises_oserror_not_an_app_error() -> None:
    # The app cannot know the peer's close frame is in: ASGI HTTP spec 2.4's OSError.
    h, peer = opened()
    peer.send(CloseConnection(code=1000))
    with pytest.raises(ClientDisconnected):
        h.send(1, {"type": "websocket.send", "text": "too late"})


def test_send_after_the_peer_vanished_raises_oserror() -> None:
    h, _peer = opened()
    h.eof()
    with pytest.raises(ClientDisconnected):
        h.send(1, {"type": "websocket.send", "text": "anyone?"})
    h.receive(1)
    assert h.received[1][-1] == {"type": "websocket.disconnect", "code": 1006, "reason": ""}


def test_permessage_deflate_is_negotiated_when_offered_and_can_be_turned_off() -> None:
    from wsproto.extensions import PerMessageDeflate

    h, peer = connected(extensions=[PerMessageDeflate()])
    h.send(1, ACCEPT)
    (accepted,) = peer.events()
    assert [e.name for e in accepted.extensions] == ["permessage-deflate"]
    peer.send(TextMessage(data="compressed " * 100))
    h.receive(1)
    assert h.received[1][-1]["text"] == "compressed " * 100
    h.send(1, {"type": "websocket.send", "text": "back " * 100})
    assert peer.events()[0].data == "back " * 100
    h, peer = connected(Config(ws_per_message_deflate=False), extensions=[PerMessageDeflate()])
    h.send(1, ACCEPT)
    assert peer.events()[0].extensions == []


def test_reading_pauses_while_the_app_has_not_taken_its_queue() -> None:
    h, peer = opened(Config(ws_max_queue=2))
    peer.send(TextMessage(data="1"))
    assert not h.conn.reading_paused
    peer.send(TextMessage(data="2"))
    assert h.conn.reading_paused
    h.receive(1)
    assert not h.conn.reading_paused


def test_a_flood_of_tiny_fragments_is_reassembled_without_a_part_per_fragment() -> None:
    # The buffer, with the fragment limit off (the limit has its own test above).
    h, peer = opened(Config(ws_max_fragments=None))
    for _ in range(5000):
        peer.send(BytesMessage(data=b"x", message_finished=False))
    peer.send(BytesMessage(data=b"y", message_finished=True))
    h.receive(1)
    assert h.received[1][-1] == {"type": "websocket.receive", "bytes": b"x" * 5000 + b"y"}


@pytest.mark.parametrize("code", [999, 1004, 1005, 1006, 1015, 2999, 5000])
def test_close_codes_that_may_not_be_sent_are_refused(code: int) -> None:
    # RFC 6455 section 7.4: 1005, 1006 and 1015 are never sent; others are reserved.
    h, _peer = opened()
    with pytest.raises(AppProtocolError, match="may not be sent"):
        h.send(1, {"type": "websocket.close", "code": code})


def test_invalid_accept_answers_500_and_raises() -> None:
    h, peer = connected()
    with pytest.raises(AppProtocolError, match="control character"):
        h.send(1, {**ACCEPT, "headers": [(b"x", b"a\r\nb")]})
    (rejection, *_) = peer.events()
    assert rejection.status_code == 500


def test_no_ping_timeout_keeps_pinging_without_closing() -> None:
    """``ws_ping_timeout`` None (``--ws-ping-timeout 0``) turns the timeout off, as the README
    says: an unanswered ping closes nothing (it used to close 1011 at the first ping)."""
    h, peer = opened(Config(ws_ping_interval=10.0, ws_ping_timeout=None))
    h.advance(10)
    assert isinstance(peer.events()[0], Ping)
    h.advance(25)  # two more pings, none answered
    assert not h.closed
    assert all(isinstance(event, Ping) for event in peer.events())


def test_a_ping_flood_is_closed_with_1008() -> None:
    """Config.ws_control_frame_budget: past it, the peer that floods pings (and never reads
    the pongs) is failed with 1008, policy violation (RFC 6455 section 7.4.1); a well-paced
    ping is still answered."""
    h, peer = opened(Config(ws_control_frame_budget=20))
    peer.send(Ping(payload=b"one"))
    assert isinstance(peer.events()[0], Pong)
    h.feed(b"".join(peer.ws.send(Ping(payload=b"x")) for _ in range(50)))  # one read
    events = peer.events()
    pongs = [e for e in events if isinstance(e, Pong)]
    assert len(pongs) < 20
    assert events[-1].code == 1008 and h.closed


def test_a_message_in_one_byte_fragments_is_closed_with_1008() -> None:
    """Config.ws_max_fragments: a message may come in that many fragments plus one per 64
    bytes; a flood of one-byte fragments is cut at once (it used to cost seconds of CPU)."""
    h, peer = opened(Config(ws_max_fragments=10))
    frames = b"".join(
        peer.ws.send(TextMessage(data="x", message_finished=False)) for _ in range(1000)
    )
    h.feed(frames)
    (close,) = [e for e in peer.events() if not isinstance(e, Ping)]
    assert close.code == 1008 and h.closed
    assert h.received[1] == [{"type": "websocket.connect"}] or all(
        m["type"] != "websocket.receive" for m in h.received[1]
    )


def test_a_message_in_64_byte_fragments_passes_whatever_its_length() -> None:
    """Autobahn 9.3.x sends 4 MiB in 64-byte fragments; each 64 bytes earns a fragment."""
    h, peer = opened(Config(ws_max_fragments=10))
    parts = [peer.ws.send(TextMessage(data="y" * 64, message_finished=False)) for _ in range(500)]
    parts.append(peer.ws.send(TextMessage(data="y" * 64, message_finished=True)))
    h.feed(b"".join(parts))
    h.receive(1)
    h.receive(1)
    assert not h.closed
    assert h.received[1][-1] == {"type": "websocket.receive", "text": "y" * 64 * 501}


def test_no_control_frame_budget_answers_every_ping() -> None:
    h, peer = opened(Config(ws_control_frame_budget=None))
    h.feed(b"".join(peer.ws.send(Ping(payload=b"x")) for _ in range(500)))
    assert len([e for e in peer.events() if isinstance(e, Pong)]) == 500
    assert not h.closed


def test_ws_none_serves_an_upgrade_request_as_plain_http() -> None:
    """Config.ws "none" (uvicorn's --ws none): no WebSocket; the Upgrade request reaches the
    app as an ordinary http scope, which may answer it as it likes."""
    h = Harness(Config(ws="none"))
    WebSocketPeer(h)
    assert h.scopes[1]["type"] == "http"
    assert (b"upgrade", b"websocket") in h.scopes[1]["headers"]
    h.respond(1, b"no websockets here")
    assert h.final_responses()[0].status == 200
