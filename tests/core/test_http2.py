"""HTTP/2 in the pure core (RFC 9113, RFC 8441, ASGI HTTP and websocket specs).

An h2 client (``H2Peer``) talks to ``ServerConnection`` in memory on a virtual clock.
Frame-level conformance lives in tests/conformance/test_rfc9113.py; this module checks the
ASGI mapping, flow control, the three ways in, shutdown and the abuse limits.
"""

from __future__ import annotations

import base64

import h2.config
import h2.connection
import h2.events
import pytest
from h2.errors import ErrorCodes
from h2.settings import SettingCodes
from helpers.harness import H2Peer, Harness
from hyperframe.frame import (
    ContinuationFrame,
    DataFrame,
    Frame,
    GoAwayFrame,
    HeadersFrame,
    PingFrame,
    RstStreamFrame,
    SettingsFrame,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from asgi_core import ClientDisconnected, Config

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def start(config: Config | None = None, **peer: object) -> tuple[Harness, H2Peer]:
    h = Harness(config)
    return h, H2Peer(h, **peer)  # type: ignore[arg-type]


def body_of(h: Harness, stream_id: int, peer: H2Peer | None = None) -> bytes:
    """Receive the whole request body as the app would (the peer sends as windows open)."""
    chunks = []
    for _ in range(1000):
        h.receive(stream_id)
        if peer is not None:
            peer.flush()
        message = h.received[stream_id][-1]
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)
    raise AssertionError("the body never ended")


def body_waits_for_the_window(window: int, body: bytes) -> tuple[Harness, H2Peer, int]:
    """A client whose stream window is ``window`` bytes and that does not read; the app sends
    the response head and ``body`` (more to come), and that send() waits (returns False)."""
    h, peer = start(settings={SettingCodes.INITIAL_WINDOW_SIZE: window})
    peer.read = False
    sid = peer.request("/")
    h.send(sid, {"type": "http.response.start", "status": 200})
    assert h.send(sid, {"type": "http.response.body", "body": body, "more_body": True}) is False
    peer.flush()
    return h, peer, sid


def parse_frames(data: bytes) -> list[Frame]:
    """Frames as written (for where an h2 client refuses to read on, as after a GOAWAY)."""
    frames = []
    while len(data) >= 9:
        frame, length = Frame.parse_frame_header(memoryview(data[:9]))
        frame.parse_body(memoryview(data[9 : 9 + length]))
        frames.append(frame)
        data = data[9 + length :]
    return frames


# -- the ways in -----------------------------------------------------------------------------


def test_prior_knowledge_request_becomes_an_http_2_scope() -> None:
    """RFC 9113 section 3.3 (prior knowledge); ASGI HTTP scope: pseudo-headers removed,
    :authority becomes host; section 8.2.3: cookie crumbs are joined with "; "."""
    h, peer = start()
    sid = peer.request(
        "/caf%C3%A9?q=1",
        headers=[(b"cookie", b"a=1"), (b"accept", b"*/*"), (b"cookie", b"b=2")],
    )
    scope = h.scopes[sid]
    expected = {
        "type": "http",
        "http_version": "2",
        "method": "GET",
        "path": "/café",
        "raw_path": b"/caf%C3%A9",
        "query_string": b"q=1",
        "headers": [(b"host", b"example.com"), (b"accept", b"*/*"), (b"cookie", b"a=1; b=2")],
    }
    assert {key: scope[key] for key in expected} == expected
    assert set(scope["extensions"]) >= {
        "http.response.trailers",
        "http.response.early_hint",
        "http.response.push",
        "http.response.pathsend",
    }


def test_response_head_gets_length_server_and_date_and_loses_connection_fields() -> None:
    """RFC 9113 section 8.2.2: connection-specific fields must not be sent; the app's
    HTTP/1.1 habits (connection, transfer-encoding) are dropped, not turned into errors."""
    h, peer = start()
    sid = peer.request("/")
    headers = [(b"connection", b"keep-alive"), (b"transfer-encoding", b"chunked"),
               (b"x-app", b"1")]  # fmt: skip
    h.respond(sid, b"hello", headers=headers)
    peer.flush()
    got = peer.response_headers(sid)
    assert got[b":status"] == b"200"
    assert got[b"content-length"] == b"5"
    assert got[b"x-app"] == b"1"
    assert b"server" in got and b"date" in got
    assert b"connection" not in got and b"transfer-encoding" not in got
    assert bytes(peer.data[sid]) == b"hello"
    assert sid in peer.ended


@settings(max_examples=30, deadline=None)
@given(cuts=st.lists(st.integers(min_value=1, max_value=len(PREFACE) + 20), max_size=6))
def test_preface_is_recognised_however_it_is_split(cuts: list[int]) -> None:
    """RFC 9113 section 3.4: the preface may arrive in any pieces."""
    client = h2.connection.H2Connection(h2.config.H2Configuration(header_encoding=None))
    client.initiate_connection()
    client.send_headers(1, [(b":method", b"GET"), (b":scheme", b"http"),
                            (b":authority", b"a"), (b":path", b"/x")], end_stream=True)  # fmt: skip
    data = client.data_to_send()
    h = Harness()
    last = 0
    for cut in sorted(set(cuts)):
        h.feed(data[last:cut])
        last = max(last, cut)
    h.feed(data[last:])
    assert h.scopes[1]["path"] == "/x"
    assert h.scopes[1]["http_version"] == "2"


def test_http11_is_still_served_on_the_same_port() -> None:
    """Sniffing the preface must not change HTTP/1.1, even for a method starting with P."""
    h = Harness()
    h.feed(b"PUT /p HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")
    assert h.scopes[1]["http_version"] == "1.1"
    assert h.scopes[1]["method"] == "PUT"


def h2c_request(body: bytes = b"", extra: bytes = b"") -> tuple[h2.connection.H2Connection, bytes]:
    client = h2.connection.H2Connection(h2.config.H2Configuration(header_encoding=None))
    settings_header = client.initiate_upgrade_connection()
    request = (
        b"POST /up HTTP/1.1\r\nHost: example\r\nConnection: Upgrade, HTTP2-Settings\r\n"
        b"Upgrade: h2c\r\nHTTP2-Settings: " + settings_header + b"\r\n" + extra
        + b"Content-Length: %d\r\n\r\n" % len(body) + body
    )  # fmt: skip
    return client, request


def test_h2c_upgrade_with_a_body_becomes_stream_1() -> None:
    """RFC 7540 section 3.2: 101, then the server preface; the request is stream 1 and its
    body (read over HTTP/1.1 first) reaches the app."""
    client, request = h2c_request(b"hello")
    h = Harness()
    h.feed(request + client.data_to_send())
    assert bytes(h.output).startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    scope = h.scopes[1]
    assert scope["http_version"] == "2"
    assert all(name not in (b"upgrade", b"http2-settings") for name, _ in scope["headers"])
    assert body_of(h, 1) == b"hello"
    h.respond(1, b"upgraded")
    out = bytes(h.output)
    events = client.receive_data(out[out.index(b"\r\n\r\n") + 4 :])
    data = b"".join(e.data for e in events if isinstance(e, h2.events.DataReceived))
    assert data == b"upgraded"
    assert any(isinstance(e, h2.events.StreamEnded) for e in events)


def test_h2c_upgraded_request_is_not_cut_by_the_idle_timer() -> None:
    """RFC 7540 section 3.2: after the 101 the request is stream 1, an active stream; the
    connection is not idle while its app works, even if the client sends nothing more."""
    client, request = h2c_request()
    h = Harness(Config(keep_alive_timeout=5.0))
    h.feed(request)  # the client's preface has not come yet
    assert 1 in h.scopes
    h.advance(30)
    assert not h.conn.closed
    h.feed(client.data_to_send())
    h.respond(1, b"late")
    out = bytes(h.output)
    events = client.receive_data(out[out.index(b"\r\n\r\n") + 4 :])
    assert b"".join(e.data for e in events if isinstance(e, h2.events.DataReceived)) == b"late"


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda r: r.replace(b"Content-Length: 0", b"Transfer-Encoding: chunked"),
            id="chunked-body",
        ),
        pytest.param(
            lambda r: r.replace(b"HTTP2-Settings: ", b"HTTP2-Settings: !!"), id="bad-settings"
        ),
        pytest.param(
            lambda r: r.replace(b"Upgrade, HTTP2-Settings", b"Upgrade"),
            id="settings-not-in-connection",
        ),
    ],
)
def test_h2c_upgrade_declined_is_served_over_http11(change: object) -> None:
    """RFC 7540 section 3.2: a server may ignore the upgrade; it answers over HTTP/1.1."""
    _, request = h2c_request()
    h = Harness()
    h.feed(change(request))  # type: ignore[operator]
    if h.scopes:
        assert h.scopes[1]["http_version"] == "1.1"
    assert not bytes(h.output).startswith(b"HTTP/1.1 101")


def test_no_h2c_upgrade_over_tls_or_when_http2_is_off() -> None:
    """RFC 7540 section 3.2: h2c is for cleartext; Config.http2=False turns HTTP/2 off."""
    for harness in (Harness(alpn="http/1.1", scheme="https"), Harness(Config(http2=False))):
        _, request = h2c_request()
        harness.feed(request)
        assert harness.scopes[1]["http_version"] == "1.1"
    h = Harness(Config(http2=False))
    h.feed(PREFACE)
    assert bytes(h.output).startswith(b"HTTP/1.1 505") or bytes(h.output).startswith(
        b"HTTP/1.1 400"
    )


def test_alpn_h2_speaks_http2_at_once_and_is_refused_when_http2_is_off() -> None:
    """RFC 9113 section 3.2: "h2" selected by ALPN means HTTP/2 from the first byte."""
    h = Harness(alpn="h2", scheme="https", tls={"tls_version": 0x0304})
    peer = H2Peer(h)
    sid = peer.request("/")
    assert h.scopes[sid]["scheme"] == "https"
    assert h.scopes[sid]["extensions"]["tls"] == {"tls_version": 0x0304}
    with pytest.raises(ValueError, match="h2"):
        Harness(Config(http2=False), alpn="h2")


# -- streams ----------------------------------------------------------------------------------


def test_streams_are_independent_and_answered_in_any_order() -> None:
    """RFC 9113 section 5: streams interleave; each is one ASGI scope."""
    h, peer = start()
    first = peer.request("/1")
    second = peer.request("/2", "POST", body=b"two")
    assert body_of(h, second) == b"two"
    h.respond(second, b"second")
    h.respond(first, b"first")
    peer.flush()
    assert bytes(peer.data[first]) == b"first"
    assert bytes(peer.data[second]) == b"second"
    assert {first, second} <= peer.ended


def test_an_app_error_resets_only_its_own_stream() -> None:
    """One stream's failure never takes the connection: 500 before the response began,
    RST_STREAM(INTERNAL_ERROR) after."""
    h, peer = start()
    early = peer.request("/early")
    late = peer.request("/late")
    healthy = peer.request("/ok")
    h.finish(early, RuntimeError("boom"))
    h.send(late, {"type": "http.response.start", "status": 200})
    h.send(late, {"type": "http.response.body", "body": b"part", "more_body": True})
    h.finish(late, RuntimeError("boom"))
    h.respond(healthy, b"fine")
    peer.flush()
    assert peer.status(early) == 500
    assert b"connection" not in peer.response_headers(early)
    assert peer.resets[late] == ErrorCodes.INTERNAL_ERROR
    assert bytes(peer.data[healthy]) == b"fine"
    assert not h.closed and peer.goaway is None


def test_client_reset_disconnects_the_app() -> None:
    """ASGI HTTP spec: after the client is gone, receive() gives http.disconnect and send()
    raises an OSError (ClientDisconnected)."""
    h, peer = start()
    sid = peer.request("/", "POST", end=False)
    peer.h2.reset_stream(sid, ErrorCodes.CANCEL)
    peer.flush()
    h.receive(sid)
    assert h.received[sid][-1] == {"type": "http.disconnect"}
    with pytest.raises(ClientDisconnected):
        h.send(sid, {"type": "http.response.start", "status": 200})


def test_each_client_reset_is_a_limit_hit_for_the_metrics() -> None:
    """RFC 9113 section 6.4: RST_STREAM from the client ends its stream. Each one counts
    (LimitHit "client_reset"), as the server's own refusals do; the server's resets do not."""
    h, peer = start(Config(h2_max_concurrent_streams=1))
    reset = peer.request("/", "POST", end=False)
    peer.h2.reset_stream(reset, ErrorCodes.CANCEL)
    peer.flush()
    failed = peer.request("/")
    assert peer.resets[failed] == ErrorCodes.REFUSED_STREAM  # the reset stream's app runs on
    h.finish(reset)
    cut = peer.request("/")
    h.send(cut, {"type": "http.response.start", "status": 200})
    h.send(cut, {"type": "http.response.body", "body": b"part", "more_body": True})
    h.finish(cut, RuntimeError("boom"))
    peer.flush()
    assert peer.resets[cut] == ErrorCodes.INTERNAL_ERROR
    assert h.limits == ["client_reset", "refused_stream"]


def test_head_and_204_have_no_body_on_the_wire() -> None:
    """RFC 9110 sections 9.3.2 and 15.3.5."""
    h, peer = start()
    head = peer.request("/", "HEAD")
    h.respond(head, b"ignored", headers=[(b"content-length", b"7")])
    empty = peer.request("/")
    h.respond(empty, b"", status=204)
    peer.flush()
    assert peer.response_headers(head)[b"content-length"] == b"7"
    assert bytes(peer.data[head]) == b"" and head in peer.ended
    assert bytes(peer.data[empty]) == b"" and empty in peer.ended


def test_a_body_longer_than_its_content_length_resets_the_stream() -> None:
    h, peer = start()
    sid = peer.request("/")
    h.send(sid, {"type": "http.response.start", "status": 200,
                 "headers": [(b"content-length", b"2")]})  # fmt: skip
    with pytest.raises(Exception, match="longer than its content-length"):
        h.send(sid, {"type": "http.response.body", "body": b"three"})
    peer.flush()
    assert peer.resets[sid] == ErrorCodes.INTERNAL_ERROR


# -- flow control -----------------------------------------------------------------------------


def test_request_body_window_reopens_only_as_the_app_reads() -> None:
    """RFC 9113 section 5.2: WINDOW_UPDATE goes out as the app consumes, so a slow app
    holds at most one window of body (max_buffered_body_size)."""
    config = Config(max_buffered_body_size=16384)
    h, peer = start(config)
    sid = peer.request("/", "POST", end=False)
    peer.send_body(sid, b"x" * 100_000)
    sent_before = 100_000 - len(peer.unsent[sid][0])
    assert sent_before <= 16384
    peer.flush()
    assert 100_000 - len(peer.unsent[sid][0]) == sent_before  # nothing more without a read
    assert body_of(h, sid, peer) == b"x" * 100_000


def test_send_waits_while_the_client_window_is_shut() -> None:
    """RFC 9113 section 6.9: no more DATA than the peer's window; the app's send() waits
    (returns False) until a WINDOW_UPDATE lets the rest out (SendAllowed)."""
    h, peer, sid = body_waits_for_the_window(1000, b"a" * 5000)
    assert len(peer.data[sid]) == 1000
    assert h.send_allowed == []
    peer.h2.acknowledge_received_data(1000, sid)
    peer.h2.increment_flow_control_window(10_000, sid)
    peer.flush()
    assert len(peer.data[sid]) == 5000
    assert h.send_allowed == [sid]
    assert h.send(sid, {"type": "http.response.body", "body": b"!"}) is True
    peer.flush()
    assert sid in peer.ended


def test_trailers_follow_the_body() -> None:
    """ASGI http.response.trailers; RFC 9113 section 8.1: a trailing HEADERS ends the stream."""
    h, peer = start()
    sid = peer.request("/")
    assert "http.response.trailers" in h.scopes[sid]["extensions"]
    h.send(sid, {"type": "http.response.start", "status": 200, "trailers": True})
    h.send(sid, {"type": "http.response.body", "body": b"data"})
    h.send(sid, {"type": "http.response.trailers", "headers": [(b"x-sum", b"abc")]})
    peer.flush()
    assert peer.headers[sid][-1] == [(b"x-sum", b"abc")]
    assert sid in peer.ended and bytes(peer.data[sid]) == b"data"


def test_early_hints_go_before_the_response() -> None:
    """ASGI http.response.early_hint; RFC 8297: a 103 with the Link fields."""
    h, peer = start()
    sid = peer.request("/")
    h.send(sid, {"type": "http.response.early_hint", "links": [b"</s.css>; rel=preload"]})
    h.respond(sid, b"page")
    peer.flush()
    assert peer.headers[sid][0] == [(b":status", b"103"), (b"link", b"</s.css>; rel=preload")]
    assert peer.status(sid) == 200


def test_an_early_hint_after_the_start_goes_before_the_held_head() -> None:
    """The ASGI extension's order: "at any time (and multiple times) after the Response Start
    message but before the final Response Body message". The core holds the head until the
    first body, so the 103 still precedes it (this raised AppProtocolError, a 500)."""
    h, peer = start()
    sid = peer.request("/")
    h.send(sid, {"type": "http.response.start", "status": 200, "headers": []})
    h.send(sid, {"type": "http.response.early_hint", "links": [b"</a.css>; rel=preload"]})
    h.send(sid, {"type": "http.response.early_hint", "links": [b"</b.js>; rel=preload"]})
    h.send(sid, {"type": "http.response.body", "body": b"page"})
    peer.flush()
    assert [fields[0] for fields in peer.headers[sid]] == [
        (b":status", b"103"), (b":status", b"103"), (b":status", b"200")]  # fmt: skip
    assert bytes(peer.data[sid]) == b"page"


def test_an_early_hint_once_the_head_has_gone_is_ignored() -> None:
    h, peer = start()
    sid = peer.request("/")
    h.send(sid, {"type": "http.response.start", "status": 200, "headers": []})
    h.send(sid, {"type": "http.response.body", "body": b"pa", "more_body": True})
    h.send(sid, {"type": "http.response.early_hint", "links": [b"</late.css>; rel=preload"]})
    h.send(sid, {"type": "http.response.body", "body": b"ge"})
    h.finish(sid)
    peer.flush()
    assert [fields[0] for fields in peer.headers[sid]] == [(b":status", b"200")]
    assert bytes(peer.data[sid]) == b"page"


def test_server_push_starts_a_new_stream_for_the_promised_request() -> None:
    """ASGI http.response.push; RFC 9113 section 8.4: PUSH_PROMISE, then the pushed
    response on a server stream, served by a new app instance."""
    h, peer = start()
    sid = peer.request("/page")
    h.send(sid, {"type": "http.response.start", "status": 200})
    h.send(sid, {"type": "http.response.push", "path": "/style.css",
                 "headers": [(b"accept", b"text/css")]})  # fmt: skip
    peer.flush()
    [pushed] = peer.pushes
    assert pushed % 2 == 0
    assert dict(peer.pushes[pushed])[b":path"] == b"/style.css"
    assert dict(peer.pushes[pushed])[b":authority"] == b"example.com"
    assert h.scopes[pushed]["path"] == "/style.css"
    assert h.scopes[pushed]["method"] == "GET"
    h.respond(pushed, b"css")
    h.send(sid, {"type": "http.response.body", "body": b"html"})
    peer.flush()
    assert bytes(peer.data[pushed]) == b"css"
    assert bytes(peer.data[sid]) == b"html"


def test_no_push_when_the_client_disabled_it() -> None:
    """RFC 9113 section 6.5.2: SETTINGS_ENABLE_PUSH 0; the scope does not offer it."""
    h, peer = start(settings={SettingCodes.ENABLE_PUSH: 0})
    sid = peer.request("/")
    assert "http.response.push" not in h.scopes[sid]["extensions"]


# -- WebSocket over HTTP/2 (RFC 8441) ---------------------------------------------------------


def ws_connect(peer: H2Peer, **extra: bytes) -> int:
    headers = [(b":protocol", b"websocket"), (b"sec-websocket-version", b"13")]
    headers += [(k.replace("_", "-").encode(), v) for k, v in extra.items()]
    return peer.request("/chat", "CONNECT", headers=headers, end=False)


def test_websocket_over_http2_accepts_echoes_and_closes() -> None:
    """RFC 8441 sections 4-5: extended CONNECT; a 200 accepts; DATA carries the frames."""
    import wsproto.connection as wsconn
    import wsproto.events as wsevents

    h, peer = start()
    assert peer.h2.remote_settings.enable_connect_protocol == 1
    sid = ws_connect(peer, sec_websocket_protocol=b"chat")
    scope = h.scopes[sid]
    assert scope["type"] == "websocket" and scope["http_version"] == "2"
    assert scope["subprotocols"] == ["chat"]
    h.receive(sid)
    assert h.received[sid] == [{"type": "websocket.connect"}]
    h.send(sid, {"type": "websocket.accept", "subprotocol": "chat"})
    peer.flush()
    assert peer.status(sid) == 200
    assert peer.response_headers(sid)[b"sec-websocket-protocol"] == b"chat"
    assert b"sec-websocket-accept" not in peer.response_headers(sid)
    client = wsconn.Connection(wsconn.ConnectionType.CLIENT)
    peer.h2.send_data(sid, client.send(wsevents.TextMessage("ping")))
    peer.flush()
    h.receive(sid)
    assert h.received[sid][-1] == {"type": "websocket.receive", "text": "ping"}
    h.send(sid, {"type": "websocket.send", "text": "pong"})
    h.send(sid, {"type": "websocket.close", "code": 1000})
    peer.flush()
    client.receive_data(bytes(peer.data[sid]))
    events = list(client.events())
    assert events[0] == wsevents.TextMessage(data="pong")
    assert isinstance(events[1], wsevents.CloseConnection) and events[1].code == 1000


def test_websocket_over_http2_close_before_accept_is_403() -> None:
    """ASGI websocket spec: close before accept is an HTTP 403."""
    h, peer = start()
    sid = ws_connect(peer)
    h.send(sid, {"type": "websocket.close"})
    peer.flush()
    assert peer.status(sid) == 403
    assert sid in peer.ended


def test_plain_connect_is_refused_on_its_stream_only() -> None:
    """RFC 9113 section 8.5: we are not a proxy; the stream gets 501, the connection lives."""
    h, peer = start()
    sid = peer.h2.get_next_available_stream_id()
    peer.h2.send_headers(sid, [(b":method", b"CONNECT"), (b":authority", b"example.com:443")])
    peer.flush()
    assert peer.status(sid) == 501
    assert sid not in h.scopes
    assert peer.goaway is None
    other = peer.request("/")
    assert other in h.scopes


# -- limits and abuse -------------------------------------------------------------------------


def test_request_body_over_the_limit_is_413() -> None:
    """Config.max_request_body_size, by content-length and by counting DATA."""
    h, peer = start(Config(max_request_body_size=1000))
    declared = peer.request("/", "POST", headers=[(b"content-length", b"5000")], end=False)
    assert peer.status(declared) == 413
    assert declared not in h.scopes
    counted = peer.request("/", "POST", body=b"x" * 5000)
    assert counted in h.scopes
    peer.flush()
    assert peer.status(counted) == 413


def send_all(peer: H2Peer, sid: int) -> None:
    """Flush until the stream's body is out or stops moving (a flush sends one frame a turn)."""
    left = -1
    while sid in peer.unsent and len(peer.unsent[sid][0]) != left:
        left = len(peer.unsent[sid][0])
        peer.flush()


def test_the_rest_of_a_refused_body_is_dropped_not_reset() -> None:
    """RFC 9113 section 8.1: the 413 ends the stream; what the client still sends is read and
    dropped (its windows reopen), so a client busy uploading can read the answer; no reset."""
    h, peer = start(Config(max_request_body_size=1000))
    sid = peer.request("/", "POST", headers=[(b"content-length", b"200000")], end=False)
    peer.send_body(sid, b"x" * 200_000)
    send_all(peer, sid)
    assert peer.status(sid) == 413
    assert sid not in peer.resets and sid not in peer.unsent  # all of it was taken
    assert not h.closed


def test_a_refused_body_that_goes_on_past_the_discard_limit_is_reset() -> None:
    from asgi_core.http2.connection import DISCARD_LIMIT

    _h, peer = start(Config(max_request_body_size=1000))
    sid = peer.request("/", "POST", end=False)
    peer.send_body(sid, b"x" * (DISCARD_LIMIT + 100_000), end=False)
    send_all(peer, sid)
    assert peer.status(sid) == 413
    assert peer.resets[sid] == ErrorCodes.NO_ERROR


def test_a_refused_body_that_stalls_is_reset_after_the_body_timeout() -> None:
    h, peer = start(Config(max_request_body_size=1000, request_body_timeout=5.0))
    sid = peer.request("/", "POST", headers=[(b"content-length", b"5000")], end=False)
    assert peer.status(sid) == 413 and sid not in peer.resets
    h.advance(5)
    peer.flush()
    assert peer.resets[sid] == ErrorCodes.NO_ERROR


def test_rapid_reset_is_answered_with_enhance_your_calm() -> None:
    """CVE-2023-44487: streams opened and reset at once; past Config.h2_reset_budget the
    connection ends with GOAWAY(ENHANCE_YOUR_CALM)."""
    h, peer = start(Config(h2_reset_budget=20))
    for _ in range(25):
        if peer.goaway is not None:
            break
        sid = peer.request("/", end=False)
        peer.h2.reset_stream(sid, ErrorCodes.CANCEL)
        peer.flush()
    assert peer.goaway is not None
    assert peer.goaway.error_code == ErrorCodes.ENHANCE_YOUR_CALM
    assert h.closed
    assert all(message == {"type": "http.disconnect"}
               for sid in h.scopes for message in h.receive(sid).received[sid])  # fmt: skip


def test_reset_streams_count_until_their_apps_finish() -> None:
    """Reset streams whose apps still run count against h2_max_concurrent_streams: new
    streams are refused (REFUSED_STREAM), so a client cannot pile up work by resetting."""
    h, peer = start(Config(h2_max_concurrent_streams=3, h2_reset_budget=1000))
    for _ in range(3):
        sid = peer.request("/", end=False)
        peer.h2.reset_stream(sid, ErrorCodes.CANCEL)
        peer.flush()
    refused = peer.request("/")
    assert peer.resets[refused] == ErrorCodes.REFUSED_STREAM
    assert refused not in h.scopes
    for sid in list(h.scopes):
        h.finish(sid)
    accepted = peer.request("/")
    assert accepted in h.scopes


def test_made_you_reset_counts_resets_the_server_is_provoked_into() -> None:
    """CVE-2025-8671: frames that make the server reset a stream (here DATA after
    END_STREAM, RFC 9113 section 5.1: STREAM_CLOSED) disconnect the app and spend the reset
    budget like the client's own resets."""
    h, peer = start(Config(h2_reset_budget=5))
    for _ in range(10):
        if peer.goaway is not None:
            break
        sid = peer.request("/")
        frame = DataFrame(sid)
        frame.data = b"x"
        h.feed(frame.serialize())
        peer.pull()
        assert peer.resets[sid] == ErrorCodes.STREAM_CLOSED
    assert peer.goaway is not None
    assert peer.goaway.error_code == ErrorCodes.ENHANCE_YOUR_CALM
    h.receive(1)
    assert h.received[1][-1] == {"type": "http.disconnect"}


def test_continuation_flood_is_cut_off_at_the_header_list_size() -> None:
    """CVE-2024-27316: an endless header block (CONTINUATION without END_HEADERS) is held
    only up to Config.h2_max_header_list_size, then GOAWAY."""
    h, peer = start(Config(h2_max_header_list_size=16384))
    headers = HeadersFrame(1)
    headers.data = b"\x82"  # :method GET, from the static table
    h.feed(headers.serialize())
    sent = 0
    for _ in range(40):
        if h.closed:
            break
        frame = ContinuationFrame(1)
        frame.data = b"\x00" * 16384
        h.feed(frame.serialize())
        sent += 16384
    assert h.closed
    assert sent <= 2 * 16384
    peer.pull()
    assert peer.goaway is not None


@pytest.mark.parametrize("flood", ["ping", "settings"])
def test_control_frame_floods_get_enhance_your_calm(flood: str) -> None:
    """CVE-2019-9512 (PING) and CVE-2019-9515 (SETTINGS): past Config.h2_control_frame_budget
    frames in 10 s, GOAWAY(ENHANCE_YOUR_CALM)."""
    h, peer = start(Config(h2_control_frame_budget=50))
    frame = PingFrame(0, opaque_data=b"12345678") if flood == "ping" else SettingsFrame(0)
    for _ in range(60):
        h.feed(frame.serialize())
    peer.pull()
    assert peer.goaway is not None
    assert peer.goaway.error_code == ErrorCodes.ENHANCE_YOUR_CALM
    assert h.closed


def test_control_frame_budget_refills_over_time() -> None:
    """A client that pings now and then is never cut off."""
    h, peer = start(Config(h2_control_frame_budget=50))
    for _ in range(10):
        for _ in range(40):
            h.feed(PingFrame(0, opaque_data=b"12345678").serialize())
        h.advance(10)
    peer.pull()
    assert peer.goaway is None or peer.goaway.error_code == ErrorCodes.NO_ERROR


def test_zero_window_reader_does_not_grow_server_memory() -> None:
    """A client that never opens its window: the app's send() waits, so the core holds at
    most the one message the app passed, however long the app keeps sending."""
    h, peer, sid = body_waits_for_the_window(0, b"a" * 10_000)
    assert len(peer.data[sid]) == 0
    assert len(h.output) < 2000  # SETTINGS, headers: no body


def test_idle_connection_gets_goaway_after_keep_alive_timeout() -> None:
    """An idle HTTP/2 connection is closed with GOAWAY(NO_ERROR); not while a stream runs."""
    h, peer = start(Config(keep_alive_timeout=5))
    sid = peer.request("/")
    h.advance(60)
    assert not h.closed
    h.respond(sid)
    h.advance(4.9)
    assert not h.closed
    h.advance(0.2)
    peer.pull()
    assert h.closed
    assert peer.goaway is not None and peer.goaway.error_code == ErrorCodes.NO_ERROR


def test_graceful_shutdown_finishes_in_flight_streams_and_refuses_new_ones() -> None:
    """RFC 9113 section 6.8: GOAWAY carries the last stream id; streams up to it complete,
    later ones are not processed; the connection closes when the last one ends."""
    h, peer = start()
    sid = peer.request("/")
    h.shutdown()
    peer.pull()
    assert peer.goaway is not None
    assert peer.goaway.last_stream_id == sid
    assert not h.closed
    late = sid + 2  # h2 will not send after a GOAWAY: the frame is written by hand
    frame = HeadersFrame(late, flags=["END_HEADERS", "END_STREAM"])
    frame.data = peer.h2.encoder.encode([(b":method", b"GET"), (b":scheme", b"http"),
                                         (b":authority", b"a"), (b":path", b"/")])  # fmt: skip
    seen = len(h.output)
    h.feed(frame.serialize())
    assert late not in h.scopes
    h.respond(sid, b"last")
    frames = parse_frames(bytes(h.output[seen:]))
    assert (RstStreamFrame, late, ErrorCodes.REFUSED_STREAM) in [
        (type(f), f.stream_id, getattr(f, "error_code", None)) for f in frames
    ]
    assert b"".join(f.data for f in frames if isinstance(f, DataFrame)) == b"last"
    assert h.closed


def test_upgrade_settings_header_is_applied() -> None:
    """RFC 7540 section 3.2.1: HTTP2-Settings carries the client's SETTINGS."""
    frame = SettingsFrame(0, settings={SettingCodes.INITIAL_WINDOW_SIZE: 10})
    settings_header = base64.urlsafe_b64encode(frame.serialize_body()).rstrip(b"=")
    h = Harness()
    h.feed(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\n"
           b"Upgrade: h2c\r\nHTTP2-Settings: " + settings_header + b"\r\n\r\n")  # fmt: skip
    h.send(1, {"type": "http.response.start", "status": 200})
    assert h.send(1, {"type": "http.response.body", "body": b"y" * 100}) is False


# -- streams interleaved at random --------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    bodies=st.lists(st.binary(max_size=40_000), min_size=1, max_size=5),
    answers=st.lists(st.integers(min_value=0, max_value=60_000), min_size=5, max_size=5),
    order=st.lists(st.integers(min_value=0, max_value=1000), max_size=100),
    window=st.sampled_from([4096, 65535]),
)
def test_interleaved_streams_each_get_their_own_bytes(
    bodies: list[bytes], answers: list[int], order: list[int], window: int
) -> None:
    """Any interleaving of uploads, reads, response pieces and window updates: every app
    reads exactly its body, every response arrives whole and in order, and a send() told
    to wait (False) is released exactly once."""
    h, peer = start(Config(max_buffered_body_size=16384),
                    settings={SettingCodes.INITIAL_WINDOW_SIZE: window})  # fmt: skip
    sids = [peer.request(f"/{i}", "POST", end=False) for i in range(len(bodies))]
    for sid, body in zip(sids, bodies, strict=True):
        peer.send_body(sid, body)
    received = {sid: bytearray() for sid in sids}
    body_done = dict.fromkeys(sids, False)
    sent = dict.fromkeys(sids, 0)
    waiting: set[int] = set()
    started: set[int] = set()
    reading: set[int] = set()  # a receive() is pending
    consumed = dict.fromkeys(sids, 0)

    def step(choice: int) -> None:
        sid = sids[choice % len(sids)]
        if choice // len(sids) % 2 == 0 and not body_done[sid]:
            if sid not in reading:
                reading.add(sid)
                h.receive(sid)
        elif sid not in waiting and sent[sid] < answers[sids.index(sid)]:
            if sid not in started:
                h.send(sid, {"type": "http.response.start", "status": 200})
                started.add(sid)
            size = min(20_000, answers[sids.index(sid)] - sent[sid])
            if sent[sid] + size == answers[sids.index(sid)] and not body_done[sid]:
                return  # the last piece waits for the whole body (after it: http.disconnect)
            piece = bytes([sid % 251]) * size
            sent[sid] += size
            more = sent[sid] < answers[sids.index(sid)]
            if not h.send(sid, {"type": "http.response.body", "body": piece, "more_body": more}):
                waiting.add(sid)
        peer.flush()
        for sid in sids:  # what the pending receive() calls got
            for message in h.received[sid][consumed[sid] :]:
                received[sid] += message["body"]
                body_done[sid] = not message["more_body"]
                reading.discard(sid)
            consumed[sid] = len(h.received[sid])
        for released in h.send_allowed:
            assert released in waiting, "SendAllowed for a send() that did not wait"
            waiting.discard(released)
        h.send_allowed.clear()

    for choice in order:
        step(choice)
    for _ in range(2000):  # then finish everything, round-robin
        if (
            all(body_done.values())
            and not waiting
            and all(sent[s] == answers[i] for i, s in enumerate(sids))
        ):
            break
        for i in range(2 * len(sids)):
            step(i)
    for sid in sids:
        if sid not in started:
            h.send(sid, {"type": "http.response.start", "status": 200})
            h.send(sid, {"type": "http.response.body", "body": b""})
        h.finish(sid)
    peer.flush()
    for i, sid in enumerate(sids):
        assert bytes(received[sid]) == bodies[i]
        assert bytes(peer.data[sid]) == bytes([sid % 251]) * answers[i]
        assert sid in peer.ended
    assert not h.closed


def test_settings_advertise_the_configured_limits() -> None:
    """RFC 9113 section 6.5.2: the Config limits are what the client is told."""
    config = Config(h2_max_concurrent_streams=7, h2_max_header_list_size=9000,
                    h2_max_header_table_size=1024, max_buffered_body_size=30000)  # fmt: skip
    _, peer = start(config)
    remote = peer.h2.remote_settings
    assert remote.max_concurrent_streams == 7
    assert remote.max_header_list_size == 9000
    assert remote.header_table_size == 1024
    assert remote.initial_window_size == 30000
    assert remote.enable_connect_protocol == 1


def test_header_list_over_the_limit_never_reaches_the_app() -> None:
    """Config.h2_max_header_list_size (SETTINGS_MAX_HEADER_LIST_SIZE): a larger request head
    ends the connection before any app runs."""
    h, peer = start(Config(h2_max_header_list_size=1024))
    peer.request("/", headers=[(b"x-big", b"v" * 2000)])
    assert h.scopes == {}
    assert peer.goaway is not None and h.closed


def test_websocket_window_is_withheld_while_the_app_lags() -> None:
    """RFC 8441 over flow control: past Config.ws_max_queue unread messages the stream's
    window stays shut (HTTP/1.1 stops reading instead); reading reopens it."""
    import wsproto.connection as wsconn
    import wsproto.events as wsevents

    h, peer = start(Config(ws_max_queue=2, max_buffered_body_size=16384))
    sid = ws_connect(peer)
    h.receive(sid)
    h.send(sid, {"type": "websocket.accept"})
    client = wsconn.Connection(wsconn.ConnectionType.CLIENT)
    frames = b"".join(client.send(wsevents.BytesMessage(bytes([i]) * 3000)) for i in range(12))
    peer.send_body(sid, frames, end=False)
    held = len(peer.unsent[sid][0])
    assert held > 12 * 3000 - 16384  # the window did not come back past two messages
    for _ in range(13):
        h.receive(sid)
        peer.flush()
    assert [m["bytes"][0] for m in h.received[sid][1:]] == list(range(12))
    assert sid not in peer.unsent


def test_websocket_over_http2_ping_timeout_and_shutdown() -> None:
    """Keepalive as over HTTP/1.1: an unanswered ping closes with 1011; a shutdown closes
    an open WebSocket with 1001 (RFC 6455 section 7.4.1)."""
    h, peer = start(Config(ws_ping_interval=1, ws_ping_timeout=1))
    silent = ws_connect(peer)
    h.send(silent, {"type": "websocket.accept"})
    h.advance(1.0)  # ping goes out
    h.advance(1.0)  # and is not answered
    h.receive(silent).receive(silent)
    assert h.received[silent][-1]["code"] == 1011
    peer.flush()
    assert silent in peer.ended
    other = ws_connect(peer)
    h.send(other, {"type": "websocket.accept"})
    peer.flush()
    seen = len(h.output)
    h.shutdown()
    frames = parse_frames(bytes(h.output[seen:]))
    assert any(isinstance(f, GoAwayFrame) for f in frames)
    data = b"".join(f.data for f in frames if isinstance(f, DataFrame) and f.stream_id == other)
    assert data[:1] == b"\x88" and data[2:4] == b"\x03\xe9"  # a close frame with code 1001


def test_a_stalled_upload_times_out_on_its_stream_only() -> None:
    """Config.request_body_timeout over HTTP/2: an app waiting that long for body that does
    not come gets http.disconnect and the client a 408 (RST_STREAM once a response began);
    progress restarts the wait, and other streams go on."""
    config = Config(request_body_timeout=10, keep_alive_timeout=5, min_request_body_rate=None)
    h, peer = start(config)
    stalled = peer.request("/", "POST", body=b"part", end=False)
    h.receive(stalled)
    h.receive(stalled)  # waits for more
    h.advance(6)
    peer.h2.send_data(stalled, b"more")
    peer.flush()
    h.receive(stalled)
    h.advance(9)
    assert stalled not in peer.ended
    other = peer.request("/")
    h.advance(1.5)
    peer.flush()
    assert peer.status(stalled) == 408
    assert h.received[stalled][-1] == {"type": "http.disconnect"}
    h.respond(other, b"fine")
    peer.flush()
    assert bytes(peer.data[other]) == b"fine"
    assert not h.closed


def test_ws_none_offers_no_extended_connect() -> None:
    """Config.ws "none": SETTINGS_ENABLE_CONNECT_PROTOCOL is 0 (RFC 8441 section 3), and an
    extended CONNECT for a WebSocket gets 501 like any CONNECT."""
    h, peer = start(Config(ws="none"))
    assert peer.h2.remote_settings.enable_connect_protocol == 0
    sid = peer.h2.get_next_available_stream_id()
    fields = [(b":method", b"CONNECT"), (b":protocol", b"websocket"), (b":scheme", b"http"),
              (b":path", b"/ws"), (b":authority", b"example.com"),
              (b"sec-websocket-version", b"13")]  # fmt: skip
    peer.h2.send_headers(sid, fields)  # a client that asks regardless
    peer.flush()
    assert sid not in h.scopes
    assert peer.status(sid) == 501
