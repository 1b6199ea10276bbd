"""RFC 9113 (HTTP/2) conformance with raw frames, section by section, in the spirit of h2spec.

A hand-driven client (``h2frames.RawClient``) writes frames built with hyperframe, or raw
bytes where hyperframe refuses to build a broken frame, to ``ServerConnection`` in memory
(``Harness``, no sockets), and every assertion is on the exact frames the server wrote back.
A tiny application answers each request with 200 "ok" once its body has ended.

Where the RFC names a stream error, section 5.4.1 lets an endpoint treat it as a connection
error instead, so both are accepted (as h2spec does), with the error code the RFC names;
either way the answer must be explicit: RST_STREAM with the connection still serving, or
GOAWAY followed by the close. Tests marked xfail record where the core does not yet conform;
each reason says what was sent, what came back and what the RFC requires.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import pytest
from h2.errors import ErrorCodes
from h2frames import (
    ACK,
    CONTINUATION,
    DATA,
    ENABLE_CONNECT_PROTOCOL,
    ENABLE_PUSH,
    END_HEADERS,
    END_STREAM,
    GOAWAY,
    HEADER_TABLE_SIZE,
    HEADERS,
    INITIAL_WINDOW_SIZE,
    MAX_CONCURRENT_STREAMS,
    MAX_FRAME_SIZE,
    PADDED,
    PING,
    PREFACE,
    PRIORITY,
    PRIORITY_FLAG,
    PUSH_PROMISE,
    RST_STREAM,
    SETTINGS,
    WINDOW_UPDATE,
    Fields,
    RawClient,
    describe,
    error_name,
    raw_frame,
    request_fields,
    settings_payload,
)
from hyperframe.frame import (
    DataFrame,
    GoAwayFrame,
    HeadersFrame,
    PingFrame,
    PushPromiseFrame,
    RstStreamFrame,
    SettingsFrame,
    WindowUpdateFrame,
)

from asgi_core import Config

NO_ERROR = ErrorCodes.NO_ERROR
PROTOCOL_ERROR = ErrorCodes.PROTOCOL_ERROR
FLOW_CONTROL_ERROR = ErrorCodes.FLOW_CONTROL_ERROR
STREAM_CLOSED = ErrorCodes.STREAM_CLOSED
FRAME_SIZE_ERROR = ErrorCodes.FRAME_SIZE_ERROR
REFUSED_STREAM = ErrorCodes.REFUSED_STREAM
CANCEL = ErrorCodes.CANCEL
COMPRESSION_ERROR = ErrorCodes.COMPRESSION_ERROR

#: An extension frame type no specification defines (RFC 9113 section 5.5).
UNKNOWN_TYPE = 0x20
#: A setting identifier no specification defines.
UNKNOWN_SETTING = 0xFF
MAX_WINDOW = 2**31 - 1

#: Builds a frame (object or bytes) for a client, which holds the HPACK encoder.
Make = Callable[[RawClient], Any]

# -- helpers --------------------------------------------------------------------------------


def connected(
    config: Config | None = None, settings: dict[int, int] | None = None, *, app: bool = True
) -> RawClient:
    """A client past the preface and the SETTINGS exchange."""
    client = RawClient(config, app=app)
    client.connect(settings)
    return client


def later(client: RawClient) -> str:
    """What the server wrote after the handshake, for assertion messages."""
    return describe(client.frames[client.mark :])


def assert_connection_error(client: RawClient, *codes: int) -> None:
    """RFC 9113 section 5.4.1: GOAWAY with the error code, then the connection is closed."""
    names = " or ".join(error_name(code) for code in codes)
    goaways = client.goaways()
    assert goaways, f"expected GOAWAY({names}); the server wrote: {later(client)}"
    assert goaways[-1].error_code in codes, f"expected GOAWAY({names}); got {later(client)}"
    assert client.frames[-1] is goaways[-1], f"frames after the GOAWAY: {later(client)}"
    assert client.closed, "GOAWAY was sent but the connection was left open"


def assert_stream_error(client: RawClient, stream_id: int, *codes: int) -> None:
    """RFC 9113 section 5.4.2: RST_STREAM with the code, the connection serving on; or a
    connection error with that code (section 5.4.1: any stream error may be escalated)."""
    if client.closed:
        assert_connection_error(client, *codes)
        return
    names = " or ".join(error_name(code) for code in codes)
    resets = client.resets(stream_id)
    assert resets, f"expected RST_STREAM({stream_id}, {names}); the server wrote: {later(client)}"
    assert resets[0].error_code in codes, f"expected {names}; got {later(client)}"
    assert client.serves(), "after the stream error the connection no longer serves requests"


def assert_setting_is_connection_error(setting: int, value: int, *codes: int) -> None:
    """A SETTINGS frame setting ``setting`` to ``value`` is a connection error (``codes``)."""
    client = connected()
    client.send(raw_frame(SETTINGS, 0, 0, settings_payload((setting, value))))
    assert_connection_error(client, *codes)


def assert_ignored(client: RawClient) -> None:
    """No error of any kind, and the connection still answers a PING."""
    assert not client.closed, f"the connection was closed: {later(client)}"
    assert not client.goaways() and not client.resets(), later(client)
    assert client.ping_alive(), "the connection no longer answers PING"


def assert_malformed(client: RawClient, stream_id: int = 1) -> None:
    """RFC 9113 section 8.1.1: a malformed request is a stream error of type PROTOCOL_ERROR
    (or a connection error), and the application never sees it."""
    assert_stream_error(client, stream_id, PROTOCOL_ERROR)
    assert stream_id not in client.h.scopes, "a malformed request reached the application"


def frames_on_a_closed_stream(headers_codes: list[int]) -> list[Any]:
    """DATA, HEADERS and CONTINUATION on stream 1, once closed, with the error codes each may
    get (section 5.1 "closed"); what HEADERS may get depends on how the stream was closed."""
    return [
        pytest.param(lambda c: raw_frame(DATA, END_STREAM, 1, b"test"), [STREAM_CLOSED],
                     id="DATA"),
        pytest.param(lambda c: c.headers(1), headers_codes, id="HEADERS"),
        pytest.param(lambda c: raw_frame(CONTINUATION, END_HEADERS, 1,
                                         c.block([(b"x-a", b"1")])),
                     [STREAM_CLOSED, PROTOCOL_ERROR], id="CONTINUATION"),
    ]  # fmt: skip


def headers_frame(stream_id: int, block: bytes, flags: int = END_STREAM | END_HEADERS) -> bytes:
    return raw_frame(HEADERS, flags, stream_id, block)


def request(client: RawClient, fields: Fields, stream_id: int = 1) -> None:
    """One HEADERS frame with END_STREAM and END_HEADERS carrying exactly ``fields``."""
    client.send(client.headers(stream_id, fields))


def respond_blocked(client: RawClient, stream_id: int, body: bytes) -> bool:
    """The application sends a response head and ``body``; returns what send() returned."""
    client.h.send(stream_id, {"type": "http.response.start", "status": 200, "headers": []})
    return client.h.send(stream_id, {"type": "http.response.body", "body": body})


def data_sent(frames: list, stream_id: int) -> bytes:
    return b"".join(f.data for f in frames if isinstance(f, DataFrame) and f.stream_id == stream_id)


def settings_ack(frames: list) -> bool:
    return any(isinstance(f, SettingsFrame) and "ACK" in f.flags for f in frames)


# -- 3.4 HTTP/2 Connection Preface ----------------------------------------------------------


class Test3_4ConnectionPreface:
    """RFC 9113 section 3.4."""

    def test_server_preface_is_a_settings_frame_sent_first(self) -> None:
        """3.4: the server preface is "a potentially empty SETTINGS frame that MUST be the
        first frame the server sends"."""
        client = RawClient()
        frames = client.send(PREFACE + SettingsFrame(0).serialize())
        assert isinstance(frames[0], SettingsFrame), describe(frames)
        assert "ACK" not in frames[0].flags

    def test_client_settings_are_acknowledged(self) -> None:
        """3.4: "The SETTINGS frames received from a peer as part of the connection preface
        MUST be acknowledged"."""
        client = RawClient()
        settings = SettingsFrame(0, settings={INITIAL_WINDOW_SIZE: 100})
        frames = client.send(PREFACE + settings.serialize())
        assert settings_ack(frames), describe(frames)
        assert not client.closed

    def test_invalid_preface_over_tls_closes_the_connection(self) -> None:
        """3.4: "MUST treat an invalid connection preface as a connection error of type
        PROTOCOL_ERROR. A GOAWAY frame MAY be omitted in this case"."""
        client = RawClient(alpn="h2", scheme="https")
        frames = client.send(b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n" + SettingsFrame(0).serialize())
        assert client.closed, f"an invalid preface left the connection open: {describe(frames)}"
        assert all(f.error_code == PROTOCOL_ERROR for f in client.goaways())
        assert not client.h.scopes

    def test_invalid_preface_in_cleartext_is_refused_and_closed(self) -> None:
        """3.4: an invalid preface is a connection error; on a cleartext port it is not
        taken for HTTP/2, and the HTTP/1.1 side refuses it and closes."""
        client = RawClient()
        client.h.feed(b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n" + SettingsFrame(0).serialize())
        assert client.closed
        assert bytes(client.h.output).startswith((b"HTTP/1.1 4", b"HTTP/1.1 5"))
        assert not client.h.scopes

    def test_preface_not_followed_by_settings_is_a_connection_error(self) -> None:
        """3.4: the preface "MUST be followed by a SETTINGS frame"; an invalid connection
        preface is a connection error of type PROTOCOL_ERROR."""
        client = RawClient()
        client.send(PREFACE + PingFrame(0, b"12345678").serialize())
        assert client.closed, f"the server wrote {describe(client.frames)} and kept reading"
        assert all(f.error_code == PROTOCOL_ERROR for f in client.goaways())


# -- 4.1 Frame Format ----------------------------------------------------------------------


class Test4_1FrameFormat:
    """RFC 9113 section 4.1."""

    def test_unknown_frame_type_is_ignored(self) -> None:
        """4.1: "Implementations MUST ignore and discard frames of unknown types"."""
        client = connected()
        client.send(raw_frame(UNKNOWN_TYPE, 0, 0, b"whatever"))
        assert_ignored(client)

    def test_undefined_flags_on_ping_are_ignored(self) -> None:
        """4.1: "Flags that have no defined semantics for a particular frame type MUST be
        ignored"."""
        client = connected()
        frames = client.send(raw_frame(PING, 0xFE, 0, b"12345678"))
        assert [(type(f), f.flags, f.opaque_data) for f in frames] == [
            (PingFrame, {"ACK"}, b"12345678")
        ], describe(frames)

    def test_undefined_flags_on_headers_and_data_are_ignored(self) -> None:
        """4.1: "Flags that have no defined semantics for a particular frame type MUST be
        ignored"."""
        client = connected()
        block = client.block(request_fields(method=b"POST"))
        client.send(headers_frame(1, block, END_HEADERS | 0xD2))
        client.send(raw_frame(DATA, END_STREAM | 0xF6, 1, b"abc"))
        assert client.status(1) == 200, later(client)
        assert client.bodies[1] == b"abc"

    def test_reserved_bit_in_the_stream_identifier_is_ignored(self) -> None:
        """4.1: the reserved bit "MUST remain unset (0x00) when sending and MUST be ignored
        when receiving"."""
        client = connected()
        client.send(headers_frame(0x80000001, client.block(request_fields())))
        assert client.status(1) == 200, later(client)

    def test_server_leaves_undefined_flags_and_the_reserved_bit_unset(self) -> None:
        """4.1: undefined flags "MUST be left unset (0x00) when sending"; the reserved bit
        "MUST remain unset (0x00) when sending"."""
        defined = {DATA: 0x09, HEADERS: 0x2D, PRIORITY: 0, RST_STREAM: 0, SETTINGS: 0x01,
                   PUSH_PROMISE: 0x0C, PING: 0x01, GOAWAY: 0, WINDOW_UPDATE: 0,
                   CONTINUATION: 0x04}  # fmt: skip
        client = connected()
        client.send(PingFrame(0, b"12345678"))
        client.send(client.headers(1, request_fields(method=b"POST"), end_stream=False))
        client.send(raw_frame(DATA, END_STREAM, 1, b"x" * 100))
        assert client.status(1) == 200
        client.send(raw_frame(PING, 0, 0, b"1234"))  # ends with a GOAWAY
        for header in client.reader.headers:
            frame_type, flags, stream = header[3], header[4], int.from_bytes(header[5:], "big")
            assert not flags & ~defined[frame_type], header.hex()
            assert not stream & 0x80000000, header.hex()


# -- 4.2 Frame Size ------------------------------------------------------------------------


class Test4_2FrameSize:
    """RFC 9113 section 4.2."""

    def test_data_frame_of_16384_octets_is_accepted(self) -> None:
        """4.2: "All implementations MUST be capable of receiving and minimally processing
        frames up to 2^14 octets in length"."""
        client = connected()
        client.send(client.headers(1, request_fields(method=b"POST"), end_stream=False))
        client.send(raw_frame(DATA, END_STREAM, 1, b"x" * 16384))
        assert client.status(1) == 200, later(client)
        assert client.bodies[1] == b"x" * 16384

    def test_data_frame_over_max_frame_size_is_frame_size_error(self) -> None:
        """4.2: "An endpoint MUST send an error code of FRAME_SIZE_ERROR if a frame exceeds
        the size defined in SETTINGS_MAX_FRAME_SIZE"."""
        client = connected()
        assert client.server_settings.get(MAX_FRAME_SIZE, 16384) == 16384
        client.send(client.headers(1, request_fields(method=b"POST"), end_stream=False))
        client.send(raw_frame(DATA, END_STREAM, 1, b"x" * 16385))
        assert_stream_error(client, 1, FRAME_SIZE_ERROR)

    def test_headers_frame_over_max_frame_size_is_a_connection_error(self) -> None:
        """4.2: "A frame size error in a frame that could alter the state of the entire
        connection MUST be treated as a connection error; this includes any frame carrying a
        field block"."""
        client = connected()
        fields = [*request_fields(), (b"x-big", b"a" * 16400)]
        block = bytes(client.encoder.encode(fields, huffman=False))
        client.send(headers_frame(1, block))
        assert_connection_error(client, FRAME_SIZE_ERROR)

    def test_headers_frame_too_small_for_its_pad_length_is_a_connection_error(self) -> None:
        """4.2: FRAME_SIZE_ERROR if a frame "is too small to contain mandatory frame data";
        HEADERS alters connection state, so it is a connection error."""
        client = connected()
        client.send(headers_frame(1, b"", END_STREAM | END_HEADERS | PADDED))
        assert_connection_error(client, FRAME_SIZE_ERROR)

    def test_data_frame_too_small_for_its_pad_length_is_frame_size_error(self) -> None:
        """4.2: FRAME_SIZE_ERROR if a frame "is too small to contain mandatory frame data"."""
        client = connected()
        client.send(client.headers(1, request_fields(method=b"POST"), end_stream=False))
        client.send(raw_frame(DATA, END_STREAM | PADDED, 1, b""))
        assert_stream_error(client, 1, FRAME_SIZE_ERROR)

    @pytest.mark.parametrize("max_frame_size", [None, 20000])
    def test_server_never_sends_frames_over_the_client_max_frame_size(
        self, max_frame_size: int | None
    ) -> None:
        """4.2: "An endpoint MUST NOT send a frame with a length that exceeds the maximum size"
        its peer set (SETTINGS_MAX_FRAME_SIZE, 16384 by default)."""
        settings = {INITIAL_WINDOW_SIZE: 100_000}
        if max_frame_size:
            settings[MAX_FRAME_SIZE] = max_frame_size
        client = connected(settings=settings, app=False)
        client.send(client.headers(1))
        respond_blocked(client, 1, b"x" * 50_000)
        frames = client.read()
        sizes = [len(f.data) for f in frames if isinstance(f, DataFrame)]
        assert sum(sizes) == 50_000
        assert max(sizes) == (max_frame_size or 16384)


# -- 4.3 Field Section Compression and Decompression ------------------------------------------


class Test4_3FieldCompression:
    """RFC 9113 section 4.3 (with RFC 7541, HPACK)."""

    def test_undecodable_field_block_is_compression_error(self) -> None:
        """4.3: "A decoding error in a field block MUST be treated as a connection error of
        type COMPRESSION_ERROR"."""
        client = connected()
        client.send(headers_frame(1, b"\xff\xff\xff\xff"))
        assert_connection_error(client, COMPRESSION_ERROR)

    def test_table_size_update_above_the_setting_is_compression_error(self) -> None:
        """4.3 with RFC 7541 6.3: a size update above the limit "MUST be treated as a decoding
        error", which "MUST be treated as a connection error of type COMPRESSION_ERROR"."""
        client = connected()
        update = b"\x3f\xa1\xb8\x02"  # dynamic table size update: 40000
        client.send(headers_frame(1, update + client.block(request_fields())))
        assert_connection_error(client, COMPRESSION_ERROR)

    def test_table_size_update_after_a_field_is_compression_error(self) -> None:
        """4.3 with RFC 7541 4.2: the size update "MUST occur at the beginning of the first
        header block following the change"; a decoding error is COMPRESSION_ERROR."""
        client = connected()
        client.send(headers_frame(1, client.block(request_fields()) + b"\x20"))
        assert_connection_error(client, COMPRESSION_ERROR)

    @pytest.mark.parametrize(
        "interloper",
        [
            pytest.param(lambda c: raw_frame(PRIORITY, 0, 1, b"\0\0\0\0\x10"), id="PRIORITY"),
            pytest.param(lambda c: c.headers(3), id="HEADERS-other-stream"),
        ],
    )
    def test_field_block_interrupted_by_another_frame_is_protocol_error(
        self, interloper: Make
    ) -> None:
        """4.3: "Field blocks MUST be transmitted as a contiguous sequence of frames, with no
        interleaved frames of any other type or from any other stream"."""
        client = connected()
        first, rest = request_fields()[:2], request_fields()[2:]
        client.send(client.headers(1, first, end_headers=False))
        client.send(interloper(client))
        client.send(raw_frame(CONTINUATION, END_HEADERS, 1, client.block(rest)))
        assert_connection_error(client, PROTOCOL_ERROR)

    def test_server_follows_the_client_header_table_size(self) -> None:
        """4.3 with RFC 7541 4.2: SETTINGS_HEADER_TABLE_SIZE 0 means the server's encoder
        "MUST" signal the new size and never use a dynamic table larger than it."""
        client = connected(settings={HEADER_TABLE_SIZE: 0})
        client.decoder.max_allowed_table_size = 0
        client.send(client.headers(1))
        client.send(client.headers(3))
        blocks = [f.data for f in client.frames if isinstance(f, HeadersFrame)]
        assert blocks[0][:1] == b"\x20", "no size update to 0 at the start of the first block"
        assert client.status(1) == 200 and client.status(3) == 200  # decoded with no table


# -- 5.1 Stream States ---------------------------------------------------------------------


IDLE_FRAMES = {
    "DATA": lambda c, sid: raw_frame(DATA, END_STREAM, sid, b"test"),
    "RST_STREAM": lambda c, sid: RstStreamFrame(sid, CANCEL),
    "WINDOW_UPDATE": lambda c, sid: WindowUpdateFrame(sid, 100),
    "CONTINUATION": lambda c, sid: raw_frame(
        CONTINUATION, END_HEADERS, sid, c.block(request_fields())
    ),
}
IDLE_RST_IGNORED = pytest.mark.xfail(
    strict=True,
    reason="a RST_STREAM on idle stream 3, sent after stream 1 was opened and answered, is "
    "silently ignored (h2 drops RST_STREAM for any stream id above the highest it has seen; "
    "only before the first HEADERS does its connection state machine reject it); RFC 9113 "
    "sections 5.1 and 6.4 require a connection error of type PROTOCOL_ERROR",
)


class Test5_1StreamStates:
    """RFC 9113 section 5.1."""

    @pytest.mark.parametrize(
        ("kind", "after_a_stream"),
        [
            pytest.param(kind, after, id=f"{kind}-{'after-stream-1' if after else 'first'}",
                         marks=[IDLE_RST_IGNORED] if kind == "RST_STREAM" and after else [])
            for kind in IDLE_FRAMES
            for after in (False, True)
        ],
    )  # fmt: skip
    def test_frames_on_an_idle_stream_are_protocol_error(
        self, kind: str, after_a_stream: bool
    ) -> None:
        """5.1 idle: "Receiving any frame other than HEADERS or PRIORITY on a stream in this
        state MUST be treated as a connection error of type PROTOCOL_ERROR" (on the first
        stream, and on stream 3 once stream 1 has come and gone)."""
        client = connected()
        stream_id = 1
        if after_a_stream:
            client.send(client.headers(1))
            assert client.status(1) == 200
            stream_id = 3
        client.send(IDLE_FRAMES[kind](client, stream_id))
        assert_connection_error(client, PROTOCOL_ERROR)

    def test_priority_on_an_idle_stream_is_allowed(self) -> None:
        """5.1 idle / 6.3: "The PRIORITY frame can be sent on a stream in any state, including
        'idle' or 'closed'"; the stream can still be opened afterwards."""
        client = connected()
        client.send(raw_frame(PRIORITY, 0, 3, b"\0\0\0\0\x10"))
        assert_ignored(client)
        client.send(client.headers(3))
        assert client.status(3) == 200

    @pytest.mark.parametrize(
        "frame",
        [
            pytest.param(lambda c: raw_frame(DATA, END_STREAM, 1, b"test"), id="DATA"),
            pytest.param(lambda c: c.headers(1, [(b"x-trailer", b"1")]), id="HEADERS"),
        ],
    )
    def test_frames_on_a_half_closed_remote_stream_are_stream_closed(self, frame: Make) -> None:
        """5.1 half-closed (remote): "If an endpoint receives additional frames, other than
        WINDOW_UPDATE, PRIORITY, or RST_STREAM ... MUST respond with a stream error of type
        STREAM_CLOSED"."""
        client = connected(app=False)
        client.send(client.headers(1))
        client.send(frame(client))
        assert_stream_error(client, 1, STREAM_CLOSED)

    def test_continuation_on_a_half_closed_remote_stream_is_an_error(self) -> None:
        """5.1 half-closed (remote): STREAM_CLOSED; 6.10: a CONTINUATION not preceded by an
        unfinished field block is a connection error of type PROTOCOL_ERROR (h2spec takes
        either)."""
        client = connected(app=False)
        client.send(client.headers(1))
        client.send(raw_frame(CONTINUATION, END_HEADERS, 1, client.block([(b"x-a", b"1")])))
        assert_stream_error(client, 1, STREAM_CLOSED, PROTOCOL_ERROR)

    def test_half_closed_remote_stream_accepts_window_update_and_priority(self) -> None:
        """5.1 half-closed (remote): WINDOW_UPDATE and PRIORITY are the frames the state
        allows; the response then goes out as usual."""
        client = connected(app=False)
        client.send(client.headers(1))
        client.send(WindowUpdateFrame(1, 10), raw_frame(PRIORITY, 0, 1, b"\0\0\0\0\x10"))
        assert_ignored(client)
        client.h.respond(1)
        client.read()
        assert client.status(1) == 200 and client.response(1)[2]

    def test_rst_stream_on_a_half_closed_remote_stream_ends_it_quietly(self) -> None:
        """5.1 half-closed (remote): RST_STREAM is allowed and closes the stream; the
        application sees http.disconnect and nothing more is sent on the stream."""
        client = connected(app=False)
        client.send(client.headers(1))
        client.send(RstStreamFrame(1, CANCEL))
        client.h.receive(1)
        assert client.h.received[1] == [{"type": "http.disconnect"}]
        with pytest.raises(OSError):
            client.h.respond(1)
        assert not client.read()
        assert_ignored(client)

    @pytest.mark.parametrize(("frame", "codes"), frames_on_a_closed_stream([STREAM_CLOSED]))
    def test_frames_after_the_client_reset_the_stream_are_stream_closed(
        self, frame: Make, codes: list[int]
    ) -> None:
        """5.1 closed: "An endpoint that receives any frame other than PRIORITY after receiving
        a RST_STREAM MUST treat that as a stream error of type STREAM_CLOSED" (RFC 7540 text,
        h2spec 5.1)."""
        client = connected()
        client.send(client.headers(1, end_stream=False))
        client.send(RstStreamFrame(1, CANCEL))
        client.send(frame(client))
        assert_stream_error(client, 1, *codes)

    @pytest.mark.parametrize(
        ("frame", "codes"), frames_on_a_closed_stream([STREAM_CLOSED, PROTOCOL_ERROR])
    )
    def test_frames_on_a_stream_closed_by_end_stream_are_errors(
        self, frame: Make, codes: list[int]
    ) -> None:
        """5.1 closed: "An endpoint MAY treat receipt of any other type of frame on a closed
        stream as a connection error of type STREAM_CLOSED"; 6.1: DATA on a stream not open
        "MUST" get STREAM_CLOSED; 5.1.1: reusing a stream identifier is PROTOCOL_ERROR."""
        client = connected()
        client.send(client.headers(1))
        assert client.response(1)[2], "the response did not end the stream"
        client.send(frame(client))
        assert_stream_error(client, 1, *codes)

    def test_priority_on_a_closed_stream_is_allowed(self) -> None:
        """5.1 closed / 6.3: PRIORITY "can be sent on a stream in any state, including ...
        'closed'"."""
        client = connected()
        client.send(client.headers(1))
        assert client.response(1)[2]
        client.send(raw_frame(PRIORITY, 0, 1, b"\0\0\0\0\x10"))
        assert_ignored(client)

    @pytest.mark.xfail(
        strict=True,
        reason="after answering a POST early and sending RST_STREAM(NO_ERROR), the server "
        "answers the client's in-flight DATA on that stream with another "
        "RST_STREAM(STREAM_CLOSED) (one per frame); RFC 9113 section 5.1 says an endpoint that "
        "sent RST_STREAM 'MUST minimally process and then discard' such frames, and section "
        "5.4.2 allows a further RST_STREAM only after more than a round-trip time",
    )
    def test_frames_in_flight_after_a_server_reset_are_discarded(self) -> None:
        """5.1 closed: after sending RST_STREAM, an endpoint "MUST minimally process and then
        discard any frames it receives in this state"."""
        client = connected(app=False)
        client.send(client.headers(1, request_fields(method=b"POST"), end_stream=False))
        client.send(raw_frame(DATA, 0, 1, b"abc"))
        client.h.respond(1, b"done")  # the app answers before the body has ended
        client.read()
        assert [f.error_code for f in client.resets(1)] == [NO_ERROR]
        client.send(raw_frame(DATA, 0, 1, b"def"), raw_frame(DATA, END_STREAM, 1, b"ghi"))
        assert [f.error_code for f in client.resets(1)] == [NO_ERROR], later(client)
        assert_ignored(client)


# -- 5.1.1 Stream Identifiers --------------------------------------------------------------


class Test5_1_1StreamIdentifiers:
    """RFC 9113 section 5.1.1."""

    def test_even_numbered_stream_from_the_client_is_protocol_error(self) -> None:
        """5.1.1: "Streams initiated by a client MUST use odd-numbered stream identifiers";
        "An endpoint that receives an unexpected stream identifier MUST respond with a
        connection error of type PROTOCOL_ERROR"."""
        client = connected()
        client.send(client.headers(2))
        assert_connection_error(client, PROTOCOL_ERROR)
        assert not client.h.scopes

    def test_decreasing_stream_identifier_is_protocol_error(self) -> None:
        """5.1.1: "The identifier of a newly established stream MUST be numerically greater
        than all streams that the initiating endpoint has opened"."""
        client = connected()
        client.send(client.headers(5))
        assert client.status(5) == 200
        client.send(client.headers(3))
        assert_connection_error(client, PROTOCOL_ERROR)
        assert client.goaways()[-1].last_stream_id == 5


# -- 5.1.2 Stream Concurrency --------------------------------------------------------------


class Test5_1_2StreamConcurrency:
    """RFC 9113 section 5.1.2."""

    def test_server_advertises_its_limit(self) -> None:
        """5.1.2 / 6.5.2: SETTINGS_MAX_CONCURRENT_STREAMS carries Config's limit."""
        client = connected(Config(h2_max_concurrent_streams=7))
        assert client.server_settings[MAX_CONCURRENT_STREAMS] == 7

    def test_a_stream_beyond_the_limit_is_refused(self) -> None:
        """5.1.2: a HEADERS frame that exceeds the advertised limit "MUST" be treated as "a
        stream error of type PROTOCOL_ERROR or REFUSED_STREAM"."""
        client = connected(Config(h2_max_concurrent_streams=2), app=False)
        client.send(client.headers(1))
        client.send(client.headers(3))
        assert sorted(client.h.scopes) == [1, 3]
        client.send(client.headers(5))
        assert 5 not in client.h.scopes
        if client.closed:
            assert_connection_error(client, PROTOCOL_ERROR, REFUSED_STREAM)
        else:
            assert [f.error_code for f in client.resets(5)] in ([PROTOCOL_ERROR],
                                                                [REFUSED_STREAM])  # fmt: skip
            for stream_id in (1, 3):
                client.h.respond(stream_id)
            client.read()
            assert client.status(1) == client.status(3) == 200

    def test_a_finished_stream_frees_its_slot(self) -> None:
        """5.1.2: only streams that are open or half-closed count toward the limit."""
        client = connected(Config(h2_max_concurrent_streams=1))
        for stream_id in (1, 3, 5):
            client.send(client.headers(stream_id))
            assert client.status(stream_id) == 200, later(client)

    def test_pushed_streams_respect_the_client_limit(self) -> None:
        """5.1.2: "Endpoints MUST NOT exceed the limit set by their peer"; a pushed stream
        becomes half-closed (remote), which counts, once its HEADERS goes out."""
        client = connected(settings={MAX_CONCURRENT_STREAMS: 0})
        client.app = False
        client.send(client.headers(1))
        client.h.send(1, {"type": "http.response.start", "status": 200, "headers": []})
        client.h.send(1, {"type": "http.response.push", "path": "/style.css", "headers": []})
        client.h.send(1, {"type": "http.response.body", "body": b"hi"})
        for stream_id in sorted(client.h.scopes)[1:]:
            client.h.respond(stream_id)
        client.read()
        opened = [f for f in client.frames if isinstance(f, HeadersFrame) and f.stream_id % 2 == 0]
        assert not opened, f"the server opened pushed streams: {later(client)}"


# -- 5.3 Prioritization --------------------------------------------------------------------


class Test5_3Prioritization:
    """RFC 9113 section 5.3.2 keeps "the mandatory handling" of RFC 7540's priority fields,
    including RFC 7540 section 5.3.1 (h2spec 5.3.1)."""

    def test_headers_depending_on_its_own_stream_is_protocol_error(self) -> None:
        """RFC 7540 5.3.1: "A stream cannot depend on itself. An endpoint MUST treat this as a
        stream error of type PROTOCOL_ERROR"."""
        client = connected()
        priority = b"\0\0\0\x01\x10"  # depends on stream 1, weight 16
        client.send(headers_frame(1, priority + client.block(request_fields()),
                                  END_STREAM | END_HEADERS | PRIORITY_FLAG))  # fmt: skip
        assert_stream_error(client, 1, PROTOCOL_ERROR)

    def test_priority_depending_on_its_own_stream_is_protocol_error(self) -> None:
        """RFC 7540 5.3.1: a stream that depends on itself is "a stream error of type
        PROTOCOL_ERROR"."""
        client = connected()
        client.send(client.headers(1, end_stream=False))
        client.send(raw_frame(PRIORITY, 0, 1, b"\0\0\0\x01\x10"))
        assert_stream_error(client, 1, PROTOCOL_ERROR)


# -- 5.4 Error Handling --------------------------------------------------------------------


class Test5_4ErrorHandling:
    """RFC 9113 section 5.4."""

    def test_connection_error_names_the_last_stream_then_closes(self) -> None:
        """5.4.1: GOAWAY "with the stream identifier of the last stream that it successfully
        received"; "After sending the GOAWAY frame for an error condition, the endpoint MUST
        close the TCP connection"."""
        client = connected()
        client.send(client.headers(1))
        assert client.status(1) == 200
        client.send(raw_frame(PING, 0, 0, b"1234"))
        assert_connection_error(client, FRAME_SIZE_ERROR)
        assert client.goaways()[-1].last_stream_id == 1

    def test_nothing_is_processed_after_a_connection_error(self) -> None:
        """5.4.1: the connection is over: later input gets no answer and starts nothing."""
        client = connected()
        client.send(raw_frame(PING, 0, 1, b"12345678"))
        assert_connection_error(client, PROTOCOL_ERROR)
        count = len(client.h.output)
        client.h.feed(PingFrame(0, b"12345678").serialize() + client.headers(1).serialize())
        assert len(client.h.output) == count and not client.h.scopes

    def test_a_stream_error_leaves_other_streams_alone(self) -> None:
        """5.4.2: "A stream error is an error related to a specific stream that does not
        affect processing of other streams"."""
        client = connected(app=False)
        client.send(client.headers(1))
        client.send(client.headers(3, end_stream=False))
        increment = struct.pack(">L", MAX_WINDOW)
        client.send(raw_frame(WINDOW_UPDATE, 0, 3, increment))
        client.send(raw_frame(WINDOW_UPDATE, 0, 3, increment))
        assert [f.error_code for f in client.resets(3)] == [FLOW_CONTROL_ERROR], later(client)
        client.h.respond(1)
        client.read()
        assert client.status(1) == 200 and not client.closed

    def test_rst_stream_is_never_answered_with_rst_stream(self) -> None:
        """5.4.2: "To avoid looping, an endpoint MUST NOT send a RST_STREAM in response to a
        RST_STREAM frame"."""
        client = connected()
        client.send(client.headers(1, end_stream=False))
        client.send(RstStreamFrame(1, CANCEL))
        client.send(RstStreamFrame(1, CANCEL))
        assert_ignored(client)


# -- 5.5 Extending HTTP/2 ------------------------------------------------------------------


class Test5_5Extensions:
    """RFC 9113 section 5.5."""

    def test_unknown_frame_on_an_open_stream_is_discarded(self) -> None:
        """5.5: "Implementations MUST discard frames that have unknown or unsupported types"."""
        client = connected()
        client.send(client.headers(1, request_fields(method=b"POST"), end_stream=False))
        client.send(raw_frame(UNKNOWN_TYPE, 0xFF, 1, b"zz"), raw_frame(DATA, END_STREAM, 1, b"x"))
        assert client.status(1) == 200 and client.bodies[1] == b"x"
        assert_ignored(client)

    def test_unknown_frame_inside_a_field_block_is_protocol_error(self) -> None:
        """5.5: "extension frames that appear in the middle of a field block ... MUST be treated
        as a connection error of type PROTOCOL_ERROR"."""
        client = connected()
        client.send(client.headers(1, request_fields()[:2], end_headers=False))
        client.send(raw_frame(UNKNOWN_TYPE, 0, 1, b"zz"))
        assert_connection_error(client, PROTOCOL_ERROR)


# -- 6.1 DATA ------------------------------------------------------------------------------


class Test6_1Data:
    """RFC 9113 section 6.1."""

    def test_data_on_stream_0_is_protocol_error(self) -> None:
        """6.1: "If a DATA frame is received whose Stream Identifier field is 0x00, the
        recipient MUST respond with a connection error of type PROTOCOL_ERROR"."""
        client = connected()
        client.send(raw_frame(DATA, 0, 0, b"abc"))
        assert_connection_error(client, PROTOCOL_ERROR)

    @pytest.mark.parametrize("pad_length", [5, 255])
    def test_padding_as_long_as_the_payload_is_protocol_error(self, pad_length: int) -> None:
        """6.1: "If the length of the padding is the length of the frame payload or greater,
        the recipient MUST treat this as a connection error of type PROTOCOL_ERROR"."""
        client = connected()
        client.send(client.headers(1, request_fields(method=b"POST"), end_stream=False))
        client.send(raw_frame(DATA, PADDED | END_STREAM, 1, bytes([pad_length]) + b"abcd"))
        assert_connection_error(client, PROTOCOL_ERROR)

    def test_padding_is_not_part_of_the_body(self) -> None:
        """6.1: padding octets "contain no application semantic value"."""
        client = connected()
        client.send(client.headers(1, request_fields(method=b"POST"), end_stream=False))
        client.send(raw_frame(DATA, PADDED | END_STREAM, 1, b"\x03ab\0\0\0"))
        assert client.bodies[1] == b"ab" and client.status(1) == 200


# -- 6.2 HEADERS ---------------------------------------------------------------------------


class Test6_2Headers:
    """RFC 9113 section 6.2."""

    def test_headers_on_stream_0_is_protocol_error(self) -> None:
        """6.2: "If a HEADERS frame is received whose Stream Identifier field is 0x00, the
        recipient MUST respond with a connection error of type PROTOCOL_ERROR"."""
        client = connected()
        client.send(headers_frame(0, client.block(request_fields())))
        assert_connection_error(client, PROTOCOL_ERROR)

    def test_padding_as_long_as_the_payload_is_protocol_error(self) -> None:
        """6.2: "If the length of the padding is the length of the frame payload or greater,
        the recipient MUST treat this as a connection error of type PROTOCOL_ERROR"."""
        client = connected()
        block = client.block(request_fields())
        client.send(headers_frame(1, b"\xff" + block, END_STREAM | END_HEADERS | PADDED))
        assert_connection_error(client, PROTOCOL_ERROR)

    @pytest.mark.parametrize(
        ("flags", "prefix", "suffix"),
        [
            pytest.param(PADDED, b"\x03", b"\0\0\0", id="PADDED"),
            pytest.param(PRIORITY_FLAG, b"\x80\0\0\0\x10", b"", id="PRIORITY"),
            pytest.param(PADDED | PRIORITY_FLAG, b"\x02\0\0\0\0\xff", b"\0\0", id="both"),
        ],
    )
    def test_padded_and_prioritised_headers_are_served(
        self, flags: int, prefix: bytes, suffix: bytes
    ) -> None:
        """6.2: the Pad Length, priority fields and padding frame the field block fragment."""
        client = connected()
        block = prefix + client.block(request_fields()) + suffix
        client.send(headers_frame(1, block, END_STREAM | END_HEADERS | flags))
        assert client.status(1) == 200, later(client)


# -- 6.3 PRIORITY --------------------------------------------------------------------------


class Test6_3Priority:
    """RFC 9113 section 6.3."""

    def test_priority_on_stream_0_is_protocol_error(self) -> None:
        """6.3: "If a PRIORITY frame is received with a stream identifier of 0x00, the recipient
        MUST respond with a connection error of type PROTOCOL_ERROR"."""
        client = connected()
        client.send(raw_frame(PRIORITY, 0, 0, b"\0\0\0\x01\x10"))
        assert_connection_error(client, PROTOCOL_ERROR)

    @pytest.mark.parametrize("payload", [b"\0\0\0\x03", b"\0\0\0\x03\x10\0"], ids=["4", "6"])
    def test_priority_of_a_length_other_than_5_is_frame_size_error(self, payload: bytes) -> None:
        """6.3: "A PRIORITY frame with a length other than 5 octets MUST be treated as a stream
        error of type FRAME_SIZE_ERROR"."""
        client = connected()
        client.send(client.headers(1, end_stream=False))
        client.send(raw_frame(PRIORITY, 0, 1, payload))
        assert_stream_error(client, 1, FRAME_SIZE_ERROR)


# -- 6.4 RST_STREAM ------------------------------------------------------------------------


class Test6_4RstStream:
    """RFC 9113 section 6.4."""

    def test_rst_stream_on_stream_0_is_protocol_error(self) -> None:
        """6.4: "If a RST_STREAM frame is received with a stream identifier of 0x00, the
        recipient MUST treat this as a connection error of type PROTOCOL_ERROR"."""
        client = connected()
        client.send(raw_frame(RST_STREAM, 0, 0, b"\0\0\0\x08"))
        assert_connection_error(client, PROTOCOL_ERROR)

    def test_rst_stream_on_an_idle_stream_is_protocol_error(self) -> None:
        """6.4: "If a RST_STREAM frame identifying an idle stream is received, the recipient
        MUST treat this as a connection error of type PROTOCOL_ERROR" (h2spec 6.4/2; the
        same frame after another stream is in Test5_1StreamStates)."""
        client = connected()
        client.send(RstStreamFrame(1, CANCEL))
        assert_connection_error(client, PROTOCOL_ERROR)

    @pytest.mark.parametrize("payload", [b"\0\0\x08", b"\0\0\0\x08\0"], ids=["3", "5"])
    def test_rst_stream_of_a_length_other_than_4_is_frame_size_error(self, payload: bytes) -> None:
        """6.4: "A RST_STREAM frame with a length other than 4 octets MUST be treated as a
        connection error of type FRAME_SIZE_ERROR"."""
        client = connected()
        client.send(client.headers(1, end_stream=False))
        client.send(raw_frame(RST_STREAM, 0, 1, payload))
        assert_connection_error(client, FRAME_SIZE_ERROR)

    def test_rst_stream_ends_the_stream_for_the_application(self) -> None:
        """6.4: RST_STREAM "allows for immediate termination of a stream": the application is
        told (http.disconnect) and nothing more is sent on the stream."""
        client = connected(app=False)
        client.send(client.headers(1, request_fields(method=b"POST"), end_stream=False))
        client.h.receive(1)
        client.send(RstStreamFrame(1, CANCEL))
        assert client.h.received[1] == [{"type": "http.disconnect"}]
        with pytest.raises(OSError):
            client.h.respond(1)
        assert not client.read()


# -- 6.5 SETTINGS --------------------------------------------------------------------------


class Test6_5Settings:
    """RFC 9113 sections 6.5, 6.5.2 and 6.5.3."""

    @pytest.mark.xfail(
        strict=True,
        reason="a SETTINGS frame with the ACK flag and a 6-octet payload is answered with "
        "GOAWAY(PROTOCOL_ERROR) (hyperframe raises InvalidDataError, which h2 maps to "
        "PROTOCOL_ERROR); RFC 9113 section 6.5 requires FRAME_SIZE_ERROR",
    )
    def test_settings_ack_with_a_payload_is_frame_size_error(self) -> None:
        """6.5: "Receipt of a SETTINGS frame with the ACK flag set and a length field value
        other than 0 MUST be treated as a connection error of type FRAME_SIZE_ERROR"."""
        client = connected()
        client.send(raw_frame(SETTINGS, ACK, 0, settings_payload((INITIAL_WINDOW_SIZE, 1))))
        assert_connection_error(client, FRAME_SIZE_ERROR)

    def test_settings_on_a_stream_is_protocol_error(self) -> None:
        """6.5: a SETTINGS frame whose stream identifier is not 0x00 "MUST" get "a connection
        error of type PROTOCOL_ERROR"."""
        client = connected()
        client.send(raw_frame(SETTINGS, 0, 1, settings_payload((INITIAL_WINDOW_SIZE, 1))))
        assert_connection_error(client, PROTOCOL_ERROR)

    @pytest.mark.parametrize("length", [3, 7])
    def test_settings_length_not_a_multiple_of_6_is_frame_size_error(self, length: int) -> None:
        """6.5: "A SETTINGS frame with a length other than a multiple of 6 octets MUST be
        treated as a connection error of type FRAME_SIZE_ERROR"."""
        client = connected()
        payload = (settings_payload((INITIAL_WINDOW_SIZE, 1)) + b"\0")[:length]
        client.send(raw_frame(SETTINGS, 0, 0, payload))
        assert_connection_error(client, FRAME_SIZE_ERROR)

    def test_every_settings_frame_is_acknowledged(self) -> None:
        """6.5.3: "Once all values have been processed, the recipient MUST immediately emit a
        SETTINGS frame with the ACK flag set"."""
        client = connected()
        frames = client.send(SettingsFrame(0, settings={INITIAL_WINDOW_SIZE: 1000}))
        assert settings_ack(frames), describe(frames)
        frames = client.send(SettingsFrame(0))
        assert settings_ack(frames), describe(frames)

    @pytest.mark.parametrize("value", [2, 0xFFFFFFFF])
    def test_enable_push_other_than_0_or_1_is_protocol_error(self, value: int) -> None:
        """6.5.2 SETTINGS_ENABLE_PUSH: "Any value other than 0 or 1 MUST be treated as a
        connection error of type PROTOCOL_ERROR"."""
        assert_setting_is_connection_error(ENABLE_PUSH, value, PROTOCOL_ERROR)

    def test_initial_window_size_above_the_maximum_is_flow_control_error(self) -> None:
        """6.5.2 SETTINGS_INITIAL_WINDOW_SIZE: "Values above the maximum flow-control window
        size of 2^31-1 MUST be treated as a connection error of type FLOW_CONTROL_ERROR"."""
        assert_setting_is_connection_error(INITIAL_WINDOW_SIZE, 2**31, FLOW_CONTROL_ERROR)

    @pytest.mark.parametrize("value", [16383, 2**24])
    def test_max_frame_size_out_of_range_is_protocol_error(self, value: int) -> None:
        """6.5.2 SETTINGS_MAX_FRAME_SIZE: "Values outside this range MUST be treated as a
        connection error of type PROTOCOL_ERROR"."""
        assert_setting_is_connection_error(MAX_FRAME_SIZE, value, PROTOCOL_ERROR)

    def test_unknown_setting_is_ignored(self) -> None:
        """6.5.2: "An endpoint that receives a SETTINGS frame with any unknown or unsupported
        identifier MUST ignore that setting"."""
        client = connected()
        frames = client.send(raw_frame(SETTINGS, 0, 0, settings_payload((UNKNOWN_SETTING, 1))))
        assert settings_ack(frames)
        assert_ignored(client)
        assert client.serves()

    def test_values_are_processed_in_order(self) -> None:
        """6.5.3: "The values in the SETTINGS frame MUST be processed in the order they appear":
        INITIAL_WINDOW_SIZE 100 then 1 leaves a window of 1 octet."""
        client = connected()
        payload = settings_payload((INITIAL_WINDOW_SIZE, 100), (INITIAL_WINDOW_SIZE, 1))
        client.send(raw_frame(SETTINGS, 0, 0, payload))
        client.send(client.headers(1))
        assert data_sent(client.frames, 1) == b"o", later(client)

    def test_server_does_not_enable_push(self) -> None:
        """6.5.2 SETTINGS_ENABLE_PUSH: "A server MUST NOT explicitly set this value to 1 ...
        if a server does include a value, it MUST be 0"."""
        client = connected()
        assert client.server_settings.get(ENABLE_PUSH, 0) == 0


# -- 6.7 PING ------------------------------------------------------------------------------


class Test6_7Ping:
    """RFC 9113 section 6.7."""

    def test_ping_is_acknowledged_with_the_same_payload(self) -> None:
        """6.7: receivers "MUST send a PING frame with the ACK flag set in response, with an
        identical frame payload"."""
        client = connected()
        frames = client.send(PingFrame(0, b"\x00h2\xffspec"))
        assert len(frames) == 1, describe(frames)
        assert isinstance(frames[0], PingFrame) and "ACK" in frames[0].flags
        assert frames[0].opaque_data == b"\x00h2\xffspec"

    def test_ping_ack_is_not_answered(self) -> None:
        """6.7: "An endpoint MUST NOT respond to PING frames containing this flag"."""
        client = connected()
        assert not client.send(raw_frame(PING, ACK, 0, b"unwanted"))
        assert_ignored(client)

    def test_ping_on_a_stream_is_protocol_error(self) -> None:
        """6.7: a PING whose stream identifier is not 0x00 "MUST" get "a connection error of
        type PROTOCOL_ERROR"."""
        client = connected()
        client.send(raw_frame(PING, 0, 1, b"12345678"))
        assert_connection_error(client, PROTOCOL_ERROR)

    @pytest.mark.parametrize("length", [6, 9])
    def test_ping_of_a_length_other_than_8_is_frame_size_error(self, length: int) -> None:
        """6.7: "Receipt of a PING frame with a length field value other than 8 MUST be treated
        as a connection error of type FRAME_SIZE_ERROR"."""
        client = connected()
        client.send(raw_frame(PING, 0, 0, b"123456789"[:length]))
        assert_connection_error(client, FRAME_SIZE_ERROR)


# -- 6.8 GOAWAY ----------------------------------------------------------------------------


class Test6_8GoAway:
    """RFC 9113 section 6.8."""

    def test_goaway_on_a_stream_is_protocol_error(self) -> None:
        """6.8: "An endpoint MUST treat a GOAWAY frame with a stream identifier other than 0x00
        as a connection error of type PROTOCOL_ERROR"."""
        client = connected()
        client.send(raw_frame(GOAWAY, 0, 1, b"\0\0\0\0\0\0\0\0"))
        assert_connection_error(client, PROTOCOL_ERROR)

    def test_graceful_shutdown_finishes_streams_up_to_the_last_stream_id(self) -> None:
        """6.8: GOAWAY "allows an endpoint to gracefully stop accepting new streams while still
        finishing processing of previously established streams"."""
        client = connected(app=False)
        client.send(client.headers(1))
        client.h.shutdown()
        goaways = [f for f in client.read() if isinstance(f, GoAwayFrame)]
        assert [(g.error_code, g.last_stream_id) for g in goaways] == [(NO_ERROR, 1)]
        client.send(client.headers(3))
        assert 3 not in client.h.scopes, "a stream above the last stream id was processed"
        assert all(f.error_code == REFUSED_STREAM for f in client.resets(3))
        client.h.respond(1)
        client.read()
        assert client.status(1) == 200 and client.response(1)[2]
        assert client.closed

    def test_client_goaway_lets_its_open_requests_finish(self) -> None:
        """6.8: GOAWAY is a graceful shutdown: the sender still finishes "previously established
        streams"; its last stream id concerns only streams the receiver (server) initiates."""
        client = connected(app=False)
        client.send(client.headers(1))
        client.send(GoAwayFrame(0, last_stream_id=0, error_code=NO_ERROR))
        assert not client.closed, "the client's GOAWAY closed the connection at once"
        client.h.respond(1)
        client.read()
        assert client.status(1) == 200 and client.response(1)[2]


# -- 6.9 WINDOW_UPDATE ---------------------------------------------------------------------


def window_update(stream_id: int, increment: int) -> bytes:
    """A WINDOW_UPDATE with any increment, 0 included (hyperframe serialises only valid ones
    through its class)."""
    return raw_frame(WINDOW_UPDATE, 0, stream_id, struct.pack(">L", increment))


class Test6_9WindowUpdate:
    """RFC 9113 sections 6.9, 6.9.1 and 6.9.2."""

    def test_zero_increment_on_the_connection_is_protocol_error(self) -> None:
        """6.9: a zero increment is PROTOCOL_ERROR; "errors on the connection flow-control
        window MUST be treated as a connection error"."""
        client = connected()
        client.send(window_update(0, 0))
        assert_connection_error(client, PROTOCOL_ERROR)

    def test_zero_increment_on_a_stream_is_protocol_error(self) -> None:
        """6.9: "A receiver MUST treat the receipt of a WINDOW_UPDATE frame with a flow-control
        window increment of 0 as a stream error of type PROTOCOL_ERROR"."""
        client = connected()
        client.send(client.headers(1, end_stream=False))
        client.send(window_update(1, 0))
        assert_stream_error(client, 1, PROTOCOL_ERROR)

    @pytest.mark.parametrize("payload", [b"\0\0\x01", b"\0\0\0\x01\0"], ids=["3", "5"])
    def test_window_update_of_a_length_other_than_4_is_frame_size_error(
        self, payload: bytes
    ) -> None:
        """6.9: "A WINDOW_UPDATE frame with a length other than 4 octets MUST be treated as a
        connection error of type FRAME_SIZE_ERROR"."""
        client = connected()
        client.send(raw_frame(WINDOW_UPDATE, 0, 0, payload))
        assert_connection_error(client, FRAME_SIZE_ERROR)

    def test_connection_window_above_the_maximum_is_flow_control_error(self) -> None:
        """6.9.1: for a window above 2^31-1 on the connection, "a GOAWAY frame with an error
        code of FLOW_CONTROL_ERROR is sent"."""
        client = connected()
        client.send(window_update(0, MAX_WINDOW))
        assert_connection_error(client, FLOW_CONTROL_ERROR)

    def test_stream_window_above_the_maximum_is_flow_control_error(self) -> None:
        """6.9.1: "For streams, the sender sends a RST_STREAM with an error code of
        FLOW_CONTROL_ERROR"."""
        client = connected()
        client.send(client.headers(1, end_stream=False))
        client.send(window_update(1, MAX_WINDOW))
        assert_stream_error(client, 1, FLOW_CONTROL_ERROR)

    def test_server_respects_the_client_stream_window(self) -> None:
        """6.9.1: "A sender MUST NOT send a flow-controlled frame with a length that exceeds the
        space available": with INITIAL_WINDOW_SIZE 1, one octet, then a wait for
        WINDOW_UPDATE (send() is held back meanwhile)."""
        client = connected(settings={INITIAL_WINDOW_SIZE: 1}, app=False)
        client.send(client.headers(1))
        assert respond_blocked(client, 1, b"hello") is False
        frames = client.read()
        assert data_sent(frames, 1) == b"h" and not client.response(1)[2]
        assert client.h.send_allowed == []
        frames = client.send(WindowUpdateFrame(1, 2))
        assert data_sent(frames, 1) == b"el" and not client.response(1)[2]
        frames = client.send(WindowUpdateFrame(1, 10))
        assert data_sent(frames, 1) == b"lo" and client.response(1)[2]
        assert client.h.send_allowed == [1]

    def test_server_respects_the_client_connection_window(self) -> None:
        """6.9.1: the connection window (65,535 octets at first) bounds all streams together."""
        client = connected(settings={INITIAL_WINDOW_SIZE: 100_000}, app=False)
        client.send(client.headers(1))
        assert respond_blocked(client, 1, b"x" * 70_000) is False
        assert len(data_sent(client.read(), 1)) == 65_535
        frames = client.send(WindowUpdateFrame(0, 10_000))
        assert len(data_sent(frames, 1)) == 70_000 - 65_535 and client.response(1)[2]

    def test_client_data_beyond_the_server_window_is_flow_control_error(self) -> None:
        """6.9.1: a sender "MUST NOT" exceed the window; the receiver may answer with "a stream
        error or connection error of type FLOW_CONTROL_ERROR"."""
        client = connected(app=False)
        window = client.server_settings.get(INITIAL_WINDOW_SIZE, 65_535)
        client.send(client.headers(1, request_fields(method=b"POST"), end_stream=False))
        for _ in range(window // 16_384):
            client.send(raw_frame(DATA, 0, 1, b"x" * 16_384))
        client.send(raw_frame(DATA, 0, 1, b"x" * (window % 16_384 + 1)))
        assert_stream_error(client, 1, FLOW_CONTROL_ERROR)

    def test_a_new_initial_window_size_applies_to_open_streams(self) -> None:
        """6.9.2: a change to SETTINGS_INITIAL_WINDOW_SIZE adjusts "the size of all stream
        flow-control windows that it maintains"."""
        client = connected(settings={INITIAL_WINDOW_SIZE: 0})
        client.send(client.headers(1))
        assert client.status(1) == 200 and data_sent(client.frames, 1) == b""
        frames = client.send(SettingsFrame(0, settings={INITIAL_WINDOW_SIZE: 5}))
        assert data_sent(frames, 1) == b"ok" and client.response(1)[2]

    def test_a_negative_window_is_tracked(self) -> None:
        """6.9.2: "A sender MUST track the negative flow-control window and MUST NOT send new
        flow-controlled frames until it receives WINDOW_UPDATE frames that cause the
        flow-control window to become positive"."""
        client = connected(settings={INITIAL_WINDOW_SIZE: 3}, app=False)
        client.send(client.headers(1))
        respond_blocked(client, 1, b"hello")
        assert data_sent(client.read(), 1) == b"hel"
        client.send(SettingsFrame(0, settings={INITIAL_WINDOW_SIZE: 1}))  # window: 1 - 3 = -2
        assert data_sent(client.send(WindowUpdateFrame(1, 2)), 1) == b""  # window: 0
        assert data_sent(client.send(WindowUpdateFrame(1, 1)), 1) == b"l"
        assert data_sent(client.send(WindowUpdateFrame(1, 1)), 1) == b"o"
        assert client.response(1)[2]

    def test_initial_window_change_overflowing_a_stream_window_is_flow_control_error(
        self,
    ) -> None:
        """6.9.2: "An endpoint MUST treat a change to SETTINGS_INITIAL_WINDOW_SIZE that causes
        any flow-control window to exceed the maximum size as a connection error of type
        FLOW_CONTROL_ERROR"."""
        client = connected(app=False)
        client.send(client.headers(1))
        client.send(WindowUpdateFrame(1, MAX_WINDOW - 65_535))
        client.send(SettingsFrame(0, settings={INITIAL_WINDOW_SIZE: 65_536}))
        assert_connection_error(client, FLOW_CONTROL_ERROR)


# -- 6.10 CONTINUATION ---------------------------------------------------------------------


class Test6_10Continuation:
    """RFC 9113 section 6.10."""

    @pytest.mark.parametrize("one_read", [True, False], ids=["one-read", "frame-per-read"])
    def test_a_field_block_split_over_continuations_is_served(self, one_read: bool) -> None:
        """6.10: CONTINUATION frames carry the rest of a field block, until END_HEADERS."""
        client = connected()
        fields = request_fields()
        frames = [client.headers(1, fields[:1], end_headers=False),
                  raw_frame(CONTINUATION, 0, 1, client.block(fields[1:3])),
                  raw_frame(CONTINUATION, END_HEADERS, 1, client.block(fields[3:]))]  # fmt: skip
        (client.send if one_read else client.send_each)(*frames)
        assert client.status(1) == 200, later(client)

    @pytest.mark.parametrize(
        "interloper",
        [
            pytest.param(lambda c: raw_frame(DATA, 0, 1, b"x"), id="DATA"),
            pytest.param(lambda c: PingFrame(0, b"12345678"), id="PING"),
            pytest.param(lambda c: raw_frame(CONTINUATION, END_HEADERS, 3,
                                             c.block(request_fields()[2:])),
                         id="CONTINUATION-other-stream"),
        ],
    )  # fmt: skip
    def test_any_other_frame_inside_a_field_block_is_protocol_error(self, interloper: Make) -> None:
        """6.2/6.10: a field block without END_HEADERS "MUST be followed by a CONTINUATION frame
        for the same stream. A receiver MUST treat the receipt of any other type of frame or a
        frame on a different stream as a connection error of type PROTOCOL_ERROR"."""
        client = connected()
        client.send(client.headers(1, request_fields()[:2], end_headers=False))
        client.send(interloper(client))
        assert_connection_error(client, PROTOCOL_ERROR)

    def test_continuation_on_stream_0_is_protocol_error(self) -> None:
        """6.10: "If a CONTINUATION frame is received with a Stream Identifier field of 0x00,
        the recipient MUST respond with a connection error of type PROTOCOL_ERROR"."""
        client = connected()
        client.send(client.headers(1, request_fields()[:2], end_headers=False))
        client.send(raw_frame(CONTINUATION, END_HEADERS, 0, client.block(request_fields()[2:])))
        assert_connection_error(client, PROTOCOL_ERROR)

    @pytest.mark.parametrize(
        "before",
        [
            pytest.param(lambda c: [c.headers(1, end_stream=False)], id="HEADERS-END_HEADERS"),
            pytest.param(lambda c: [c.headers(1, request_fields()[:2], end_stream=False,
                                              end_headers=False),
                                    raw_frame(CONTINUATION, END_HEADERS, 1,
                                              c.block(request_fields()[2:]))],
                         id="CONTINUATION-END_HEADERS"),
            pytest.param(lambda c: [c.headers(1, end_stream=False), raw_frame(DATA, 0, 1, b"x")],
                         id="DATA"),
        ],
    )  # fmt: skip
    def test_continuation_without_an_open_field_block_is_protocol_error(self, before: Make) -> None:
        """6.10: "A CONTINUATION frame MUST be preceded by a HEADERS, PUSH_PROMISE or
        CONTINUATION frame without the END_HEADERS flag set. A recipient that observes violation
        of this rule MUST respond with a connection error of type PROTOCOL_ERROR"."""
        client = connected()
        client.send(*before(client))
        client.send(raw_frame(CONTINUATION, END_HEADERS, 1, client.block([(b"x-a", b"1")])))
        assert_connection_error(client, PROTOCOL_ERROR)


# -- 7 Error Codes -------------------------------------------------------------------------


class Test7ErrorCodes:
    """RFC 9113 section 7."""

    def test_unknown_error_code_in_rst_stream_triggers_nothing_special(self) -> None:
        """7: "Unknown or unsupported error codes MUST NOT trigger any special behavior"."""
        client = connected()
        client.send(client.headers(1, end_stream=False))
        client.send(raw_frame(RST_STREAM, 0, 1, b"\0\0\0\xff"))
        assert_ignored(client)
        assert client.serves()

    def test_unknown_error_code_in_goaway_triggers_nothing_special(self) -> None:
        """7: "Unknown or unsupported error codes MUST NOT trigger any special behavior"."""
        client = connected()
        frames = client.send(GoAwayFrame(0, last_stream_id=0, error_code=0xFF),
                             PingFrame(0, b"12345678"))  # fmt: skip
        # The PING is answered; a GOAWAY back may only be the graceful answer to the client's
        # own GOAWAY (NO_ERROR, with nothing in flight), never an error about the code.
        assert any(isinstance(f, PingFrame) and "ACK" in f.flags for f in frames)
        assert all(g.error_code == 0 for g in client.goaways()), later(client)


# -- 8.1 HTTP Message Framing --------------------------------------------------------------


def post_with_length(client: RawClient, length: bytes) -> None:
    fields = [*request_fields(method=b"POST"), (b"content-length", length)]
    client.send(client.headers(1, fields, end_stream=False))


class Test8_1MessageFraming:
    """RFC 9113 sections 8.1 and 8.1.1."""

    def test_trailers_without_end_stream_are_malformed(self) -> None:
        """8.1: "An endpoint that receives a HEADERS frame without the END_STREAM flag set after
        receiving the HEADERS frame that opens a request ... MUST treat the corresponding
        request ... as malformed"."""
        client = connected()
        client.send(client.headers(1, request_fields(method=b"POST"), end_stream=False))
        client.send(raw_frame(DATA, 0, 1, b"body"))
        client.send(client.headers(1, [(b"x-trailer", b"1")], end_stream=False))
        assert_stream_error(client, 1, PROTOCOL_ERROR)

    def test_request_trailers_end_the_request(self) -> None:
        """8.1: a request is a header section, DATA, then "optionally, one HEADERS frame ...
        containing the trailer section" with END_STREAM."""
        client = connected()
        client.send(client.headers(1, request_fields(method=b"POST"), end_stream=False))
        client.send(raw_frame(DATA, 0, 1, b"body"), client.headers(1, [(b"x-trailer", b"1")]))
        assert client.status(1) == 200 and client.bodies[1] == b"body"

    @pytest.mark.parametrize(
        ("length", "pieces"),
        [
            pytest.param(b"5", [b"abc"], id="shorter"),
            pytest.param(b"2", [b"abc"], id="longer"),
            pytest.param(b"4", [b"abc", b"abc"], id="longer-over-frames"),
        ],
    )
    def test_content_length_other_than_the_data_is_malformed(
        self, length: bytes, pieces: list[bytes]
    ) -> None:
        """8.1.1: a request is malformed "if the value of a content-length header field does not
        equal the sum of the DATA frame payload lengths"; malformed requests are "a stream
        error of type PROTOCOL_ERROR"."""
        client = connected()
        post_with_length(client, length)
        *middle, last = pieces
        client.send(
            *[raw_frame(DATA, 0, 1, p) for p in middle], raw_frame(DATA, END_STREAM, 1, last)
        )
        assert_stream_error(client, 1, PROTOCOL_ERROR)
        assert client.status(1) is None, "a malformed request was answered as if valid"

    @pytest.mark.parametrize("ending", ["headers", "trailers"])
    def test_content_length_is_checked_however_the_request_ends(self, ending: str) -> None:
        """8.1.1: content-length must "equal the sum of the DATA frame payload lengths", also
        when END_STREAM comes on the HEADERS frame (a sum of 0) or on trailers."""
        client = connected()
        fields = [*request_fields(method=b"POST"), (b"content-length", b"5")]
        if ending == "headers":
            client.send(client.headers(1, fields))
        else:
            client.send(client.headers(1, fields, end_stream=False))
            client.send(raw_frame(DATA, 0, 1, b"abc"), client.headers(1, [(b"x-trailer", b"1")]))
        assert_stream_error(client, 1, PROTOCOL_ERROR)
        assert client.status(1) is None, "a malformed request was answered as if valid"

    def test_a_complete_early_response_may_stop_the_request_with_no_error(self) -> None:
        """8.1: a server that answered before the request ended "MAY request that the client
        abort transmission of a request without error by sending a RST_STREAM with an error
        code of NO_ERROR after sending a complete response"."""
        client = connected(app=False)
        client.send(client.headers(1, request_fields(method=b"POST"), end_stream=False))
        client.h.respond(1, b"early")
        frames = client.read()
        assert client.response(1)[1:] == (b"early", True)
        resets = [f for f in frames if isinstance(f, RstStreamFrame)]
        assert [f.error_code for f in resets] in ([], [NO_ERROR]), describe(frames)
        if resets:
            assert frames.index(resets[0]) == len(frames) - 1, "RST_STREAM before the response"


# -- 8.2 HTTP Fields -----------------------------------------------------------------------


class Test8_2Fields:
    """RFC 9113 sections 8.2, 8.2.1, 8.2.2 and 8.2.3."""

    @pytest.mark.parametrize(
        "name",
        [b"X-Upper", b"sp ace", b"\x01ctl", b"\x7fdel", "inválid".encode(), b"co:lon"],
        ids=["uppercase", "space", "control", "DEL", "non-ASCII", "colon"],
    )
    def test_invalid_field_name_is_malformed(self, name: bytes) -> None:
        """8.2.1: "A field name MUST NOT contain characters in the ranges 0x00-0x20, 0x41-0x5a,
        or 0x7f-0xff"; names "MUST NOT include a colon"; such a request "MUST be treated as
        malformed"."""
        client = connected()
        request(client, [*request_fields(), (name, b"value")])
        assert_malformed(client)

    @pytest.mark.parametrize(
        "value",
        [b"oh\0no", b"oh\rno", b"oh\nno", b" leading", b"trailing\t"],
        ids=["NUL", "CR", "LF", "leading-SP", "trailing-HTAB"],
    )
    def test_invalid_field_value_is_malformed(self, value: bytes) -> None:
        """8.2.1: "A field value MUST NOT contain the zero value (ASCII NUL, 0x00), line feed
        ... or carriage return" and "MUST NOT start or end with an ASCII whitespace
        character"."""
        client = connected()
        request(client, [*request_fields(), (b"x-field", value)])
        assert_malformed(client)

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            (b"connection", b"keep-alive"),
            (b"proxy-connection", b"keep-alive"),
            (b"keep-alive", b"timeout=5"),
            (b"transfer-encoding", b"chunked"),
            (b"upgrade", b"h2c"),
        ],
        ids=lambda v: v.decode(),
    )
    def test_connection_specific_field_is_malformed(self, name: bytes, value: bytes) -> None:
        """8.2.2: "Any message containing connection-specific header fields MUST be treated as
        malformed"."""
        client = connected()
        request(client, [*request_fields(), (name, value)])
        assert_malformed(client)

    @pytest.mark.parametrize("value", [b"gzip", b"trailers, deflate"])
    def test_te_other_than_trailers_is_malformed(self, value: bytes) -> None:
        """8.2.2: TE "MAY be present in an HTTP/2 request; when it is, it MUST NOT contain any
        value other than 'trailers'"."""
        client = connected()
        request(client, [*request_fields(), (b"te", value)])
        assert_malformed(client)

    def test_a_malformed_request_is_a_stream_error_and_the_next_is_served(self) -> None:
        """8.1.1: malformed requests "MUST be treated as a stream error (Section 5.4.2) of type
        PROTOCOL_ERROR": the connection goes on."""
        client = connected()
        request(client, [*request_fields(), (b"x-field", b"oh\nno")])
        request(client, request_fields(), stream_id=3)
        assert [reset.error_code for reset in client.resets(1)] == [PROTOCOL_ERROR]
        assert not client.closed and not client.goaways()
        assert client.status(3) == 200

    def test_malformed_trailers_reach_the_app_as_a_disconnect(self) -> None:
        """8.1.1 and 8.2.1: trailers with a bad field make the request malformed; its app,
        already running, is told the client is gone."""
        client = connected(app=False)
        client.send(client.headers(1, request_fields(method=b"POST"), end_stream=False))
        client.send(raw_frame(DATA, 0, 1, b"body"), client.headers(1, [(b"x-bad", b" lead")]))
        client.h.receive(1)
        assert client.h.received[1][-1] == {"type": "http.disconnect"}
        assert [reset.error_code for reset in client.resets(1)] == [PROTOCOL_ERROR]

    def test_te_trailers_is_allowed(self) -> None:
        """8.2.2: the TE header field with the value "trailers" is the one exception."""
        client = connected()
        request(client, [*request_fields(), (b"te", b"trailers")])
        assert client.status(1) == 200

    def test_cookie_crumbs_are_joined(self) -> None:
        """8.2.3: multiple cookie fields "MUST be concatenated into a single octet string using
        the two-octet delimiter of 0x3b, 0x20 ('; ')" before leaving HTTP/2."""
        client = connected()
        request(client, [*request_fields(), (b"cookie", b"a=1"), (b"cookie", b"b=2")])
        cookies = [v for n, v in client.h.scopes[1]["headers"] if n == b"cookie"]
        assert cookies == [b"a=1; b=2"]


# -- 8.3 HTTP Control Data (pseudo-header fields) ------------------------------------------


REQUEST = request_fields()


class Test8_3PseudoHeaders:
    """RFC 9113 sections 8.3 and 8.3.1."""

    @pytest.mark.parametrize(
        "extra", [(b":custom", b"x"), (b":status", b"200")], ids=["undefined", "response-only"]
    )
    def test_undefined_or_response_pseudo_header_is_malformed(
        self, extra: tuple[bytes, bytes]
    ) -> None:
        """8.3: "Endpoints MUST NOT generate pseudo-header fields other than those defined";
        "pseudo-header fields defined for responses MUST NOT appear in requests"; such a field
        block "MUST be treated as malformed"."""
        client = connected()
        request(client, [*REQUEST, extra])
        assert_malformed(client)

    def test_pseudo_header_after_a_regular_field_is_malformed(self) -> None:
        """8.3: "All pseudo-header fields MUST appear in a field block before all regular field
        lines"."""
        client = connected()
        request(client, [*REQUEST[:2], (b"x-field", b"1"), *REQUEST[2:]])
        assert_malformed(client)

    @pytest.mark.parametrize("index", range(4), ids=[n.decode() for n, _ in REQUEST])
    def test_duplicated_pseudo_header_is_malformed(self, index: int) -> None:
        """8.3: "The same pseudo-header field name MUST NOT appear more than once in a field
        block"."""
        client = connected()
        request(client, [*REQUEST, REQUEST[index]])
        assert_malformed(client)

    @pytest.mark.parametrize("name", [b":method", b":scheme", b":path"], ids=lambda n: n.decode())
    def test_missing_pseudo_header_is_malformed(self, name: bytes) -> None:
        """8.3.1: "All HTTP/2 requests MUST include exactly one valid value for the ':method',
        ':scheme', and ':path' pseudo-header fields, unless they are CONNECT requests"."""
        client = connected()
        request(client, [pair for pair in REQUEST if pair[0] != name])
        assert_malformed(client)

    def test_empty_path_is_malformed(self) -> None:
        """8.3.1 :path: "This pseudo-header field MUST NOT be empty for 'http' or 'https'
        URIs"."""
        client = connected()
        request(client, [*REQUEST[:3], (b":path", b"")])
        assert_malformed(client)

    def test_pseudo_header_in_trailers_is_malformed(self) -> None:
        """8.3: "Pseudo-header fields MUST NOT appear in a trailer section"."""
        client = connected()
        client.send(client.headers(1, request_fields(method=b"POST"), end_stream=False))
        client.send(raw_frame(DATA, 0, 1, b"body"), client.headers(1, [(b":method", b"GET")]))
        assert_stream_error(client, 1, PROTOCOL_ERROR)
        assert client.status(1) is None

    def test_host_other_than_authority_is_malformed(self) -> None:
        """8.3.1: "A server SHOULD treat a request as malformed if it contains a Host header
        field that identifies an entity that differs from the entity in the ':authority'
        pseudo-header field"."""
        client = connected()
        request(client, [*REQUEST, (b"host", b"other.example")])
        assert_malformed(client)


# -- 8.4 Server Push -----------------------------------------------------------------------


class Test8_4ServerPush:
    """RFC 9113 sections 8.4 and 6.6."""

    @pytest.mark.parametrize("stream_id", [1, 0])
    def test_push_promise_from_a_client_is_protocol_error(self, stream_id: int) -> None:
        """8.4: "A client cannot push. Thus, servers MUST treat the receipt of a PUSH_PROMISE
        frame as a connection error of type PROTOCOL_ERROR"."""
        client = connected()
        client.send(client.headers(1, end_stream=False))
        promise = b"\0\0\0\x02" + client.block(request_fields(b"/pushed"))
        client.send(raw_frame(PUSH_PROMISE, END_HEADERS, stream_id, promise))
        assert_connection_error(client, PROTOCOL_ERROR)

    def test_push_promise_goes_first_on_the_request_stream_for_a_safe_request(self) -> None:
        """8.4: PUSH_PROMISE only "on a peer-initiated stream that is in either the 'open' or
        'half-closed (remote)' state"; 8.4.1: promised requests "MUST be safe" and carry
        ":authority"; 5.1.1: server streams are even and increasing."""
        client = connected(app=False)
        client.send(client.headers(1))
        client.h.send(1, {"type": "http.response.start", "status": 200, "headers": []})
        for path in ("/a.css", "/b.js"):
            client.h.send(1, {"type": "http.response.push", "path": path, "headers": []})
        client.h.send(1, {"type": "http.response.body", "body": b"page"})
        client.h.finish(1)
        for stream_id in (2, 4):
            client.h.respond(stream_id, b"pushed")
        frames = client.read()
        promises = [f for f in frames if isinstance(f, PushPromiseFrame)]
        assert [(p.stream_id, p.promised_stream_id) for p in promises] == [(1, 2), (1, 4)]
        end_of_1 = next(i for i, f in enumerate(frames) if f.stream_id == 1 and "END_STREAM"
                        in f.flags)  # fmt: skip
        assert all(frames.index(p) < end_of_1 for p in promises)
        for stream_id, path in ((2, b"/a.css"), (4, b"/b.js")):
            assert dict(client.promises[stream_id]) == {
                b":method": b"GET", b":scheme": b"http", b":authority": b"example.com",
                b":path": path,
            }  # fmt: skip
            assert client.response(stream_id)[1:] == (b"pushed", True)

    def test_no_push_when_the_client_disabled_it(self) -> None:
        """6.6: "PUSH_PROMISE MUST NOT be sent if the SETTINGS_ENABLE_PUSH setting of the peer
        endpoint is set to 0"."""
        client = connected(settings={ENABLE_PUSH: 0}, app=False)
        client.send(client.headers(1))
        assert "http.response.push" not in client.h.scopes[1]["extensions"]
        client.h.send(1, {"type": "http.response.start", "status": 200, "headers": []})
        client.h.send(1, {"type": "http.response.push", "path": "/a.css", "headers": []})
        client.h.send(1, {"type": "http.response.body", "body": b"page"})
        frames = client.read()
        assert not [f for f in frames if isinstance(f, PushPromiseFrame)], describe(frames)
        assert client.response(1)[1:] == (b"page", True)


# -- 8.5 The CONNECT Method ----------------------------------------------------------------


CONNECT = [(b":method", b"CONNECT"), (b":authority", b"example.com:443")]


class Test8_5Connect:
    """RFC 9113 section 8.5."""

    def test_plain_connect_is_answered_on_its_stream_only(self) -> None:
        """8.5: a well-formed CONNECT is an HTTP request; a server that is not a proxy answers
        it with a status on that stream, and the connection goes on."""
        client = connected()
        client.send(client.headers(1, CONNECT, end_stream=False))
        status = client.status(1)
        assert status is not None and 400 <= status < 600, later(client)
        assert client.response(1)[2] and 1 not in client.h.scopes
        assert not client.goaways()
        assert all(f.error_code == NO_ERROR for f in client.resets(1))
        assert client.serves()

    @pytest.mark.parametrize(
        "extra", [[(b":scheme", b"https")], [(b":path", b"/")]], ids=[":scheme", ":path"]
    )
    def test_connect_with_scheme_or_path_is_malformed(self, extra: Fields) -> None:
        """8.5: "The ':scheme' and ':path' pseudo-header fields MUST be omitted"; "A CONNECT
        request that does not conform to these restrictions is malformed"."""
        client = connected()
        client.send(client.headers(1, CONNECT + extra, end_stream=False))
        assert_malformed(client)

    def test_connect_without_authority_is_malformed(self) -> None:
        """8.5: "The ':authority' pseudo-header field contains the host and port to connect
        to"; without it the CONNECT request is malformed."""
        client = connected()
        client.send(client.headers(1, CONNECT[:1], end_stream=False))
        assert_malformed(client)


# -- RFC 8441 Bootstrapping WebSockets with HTTP/2 -----------------------------------------


def extended_connect(protocol: bytes = b"websocket", path: bool = True) -> Fields:
    fields = [(b":method", b"CONNECT"), (b":protocol", protocol), (b":scheme", b"http")]
    fields += [(b":path", b"/chat")] if path else []
    return [*fields, (b":authority", b"example.com"), (b"sec-websocket-version", b"13")]


class TestRfc8441ExtendedConnect:
    """RFC 8441 sections 3, 4 and 5."""

    def test_server_enables_the_connect_protocol(self) -> None:
        """RFC 8441 section 3: a server that supports extended CONNECT sends
        SETTINGS_ENABLE_CONNECT_PROTOCOL with the value 1."""
        client = connected()
        assert client.server_settings.get(ENABLE_CONNECT_PROTOCOL) == 1

    def test_protocol_without_connect_is_malformed(self) -> None:
        """RFC 8441 section 4: :protocol belongs to extended CONNECT; RFC 9113 8.3: a field
        block with an invalid pseudo-header field "MUST be treated as malformed"."""
        client = connected()
        request(client, [*REQUEST, (b":protocol", b"websocket")])
        assert_malformed(client)

    def test_extended_connect_without_path_is_malformed(self) -> None:
        """RFC 8441 section 4: "On requests that contain the :protocol pseudo-header field, the
        :scheme and :path pseudo-header fields of the target URI MUST also be included"."""
        client = connected()
        client.send(client.headers(1, extended_connect(path=False), end_stream=False))
        assert_malformed(client)

    def test_extended_connect_opens_a_websocket(self) -> None:
        """RFC 8441 section 5: the server accepts with a 2xx status and the stream stays open
        to carry the WebSocket."""
        client = connected()
        client.send(client.headers(1, extended_connect(), end_stream=False))
        scope = client.h.scopes[1]
        assert scope["type"] == "websocket" and scope["path"] == "/chat"
        client.h.send(1, {"type": "websocket.accept"})
        client.read()
        fields, _, ended = client.response(1)
        assert (b":status", b"200") in fields and not ended
        assert_ignored(client)
