"""The WebSocket fast path (asgi_core/websocket_frames.py) against wsproto alone.

A whole, final, masked text or binary frame in one read is read by the core itself; every
other frame goes to wsproto. The differential properties feed the same frames, cut the same
way, to a WebSocket on the fast path and to one with wsproto alone: the app must get the same
messages and the client the same bytes.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from helpers.harness import Harness, WebSocketPeer
from hypothesis import given, settings
from hypothesis import strategies as st
from wsproto.events import AcceptConnection, CloseConnection
from wsproto.extensions import PerMessageDeflate
from wsproto.frame_protocol import FrameProtocol

from asgi_core import AppProtocolError, ClientDisconnected, Config, websocket_frames
from asgi_core.testing.strategies import split
from asgi_core.websocket_frames import BINARY, RAW, TEXT, FrameSplitter, message_frame

MASK = b"\x37\xfa\x21\x3d"  # the key of RFC 6455 section 5.7's examples


def frame(
    payload: bytes,
    *,
    opcode: int = TEXT,
    fin: bool = True,
    rsv: int = 0,
    masked: bool = True,
    length_bytes: int = 0,
) -> bytes:
    """A client's frame (RFC 6455 section 5.2); ``length_bytes`` 2 or 8 forces a longer length
    field than the payload needs, as a broken or hostile client might send."""
    size = len(payload)
    head = bytes([(0x80 if fin else 0) | rsv << 4 | opcode])
    mask_bit = 0x80 if masked else 0
    if length_bytes == 8 or size > 0xFFFF:
        head += bytes([mask_bit | 127]) + size.to_bytes(8, "big")
    elif length_bytes == 2 or size > 125:
        head += bytes([mask_bit | 126]) + size.to_bytes(2, "big")
    else:
        head += bytes([mask_bit | size])
    if not masked:
        return head + payload
    return head + MASK + bytes(b ^ MASK[i % 4] for i, b in enumerate(payload))


# -- the splitter on RFC 6455's own examples ------------------------------------------------------


def test_a_single_frame_masked_text_message_is_read_by_the_fast_path() -> None:
    # RFC 6455 section 5.7: "A single-frame masked text message ... (contains "Hello")".
    hello = bytes([0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58])
    splitter = FrameSplitter(deflate=False)
    assert splitter.split(hello) == [(TEXT, "Hello")]
    assert splitter.split(hello + frame(b"\x00\xff", opcode=BINARY)) == [
        (TEXT, "Hello"),
        (BINARY, b"\x00\xff"),
    ]


def test_frames_the_fast_path_does_not_read_go_to_wsproto_whole_and_in_order() -> None:
    # Section 5.7's masked Ping response (a Pong), then a message in two fragments (5.4).
    pong = bytes([0x8A, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58])
    fragments = frame(b"Hel", fin=False) + frame(b"lo", opcode=0)
    after = frame(b"!")
    splitter = FrameSplitter(deflate=False)
    assert splitter.split(pong + fragments + after) == [
        (RAW, pong + fragments),
        (TEXT, "!"),
    ]


def test_a_frame_in_pieces_goes_to_wsproto_as_it_arrives() -> None:
    # wsproto checks UTF-8 and sizes as the bytes come; the fast path must not hold them back.
    whole = frame(b"x" * 300)
    splitter = FrameSplitter(deflate=False)
    assert splitter.split(whole[:100]) == [(RAW, whole[:100])]
    assert splitter.split(whole[100:200]) == [(RAW, whole[100:200])]
    assert splitter.split(whole[200:] + frame(b"y")) == [(RAW, whole[200:]), (TEXT, "y")]


def test_a_header_in_pieces_is_kept_until_it_is_whole() -> None:
    whole = frame(b"z" * 200, opcode=BINARY)  # two bytes of extended length, then the key
    splitter = FrameSplitter(deflate=False)
    for cut in range(1, 8):
        assert splitter.split(whole[cut - 1 : cut]) == []
    assert splitter.split(whole[7:]) == [(BINARY, b"z" * 200)]


@pytest.mark.parametrize(
    "bad",
    [
        frame(b"hi", masked=False),  # section 5.1: a client masks every frame
        frame(b"hi", rsv=4),  # section 5.2: RSV1 without an extension that defines it
        frame(b"hi", opcode=3),  # section 5.2: a reserved opcode
        frame(b"hi", opcode=9, fin=False),  # section 5.5: control frames are not fragmented
        # Section 5.2: "the minimal number of bytes MUST be used to encode the length".
        frame(b"hi", length_bytes=2),
        frame(b"x" * 125, opcode=BINARY, length_bytes=2),
        frame(b"x" * 0xFFFF, opcode=BINARY, length_bytes=8),
        # "the most significant bit MUST be 0"
        bytes([0x82, 0xFF]) + (2**63 + 1).to_bytes(8, "big") + MASK,
    ],
)
def test_a_header_wsproto_refuses_hands_it_every_byte_from_there_on(bad: bytes) -> None:
    splitter = FrameSplitter(deflate=False)
    assert splitter.split(frame(b"a") + bad + frame(b"b")) == [
        (TEXT, "a"),
        (RAW, bad + frame(b"b")),
    ]
    assert not splitter.enabled
    assert splitter.split(frame(b"c")) == [(RAW, frame(b"c"))]


@pytest.mark.parametrize("size", [0, 125, 126, 0xFFFF, 0x10000, 70000])
def test_each_length_form_is_read_by_the_fast_path(size: int) -> None:
    # Section 5.2: 7 bits up to 125, then 16 bits up to 65535, then 64 bits.
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    splitter = FrameSplitter(deflate=False)
    assert splitter.split(frame(payload, opcode=BINARY) + frame(b"next")) == [
        (BINARY, payload),
        (TEXT, "next"),
    ]


@pytest.mark.parametrize(
    ("deflate", "head"),
    [
        (False, bytes([0x82, 0xFF]) + (2**63).to_bytes(8, "big")),  # section 5.2
        (False, bytes([0x82, 0xFE, 0x00, 0x7D])),  # section 5.2, 125 in two bytes
        (True, bytes([0x40, 0x85])),  # RFC 7692 section 6.1: RSV1 on a continuation
        (True, bytes([0xC9, 0x85])),  # ... and on a control frame
    ],
)
def test_a_refused_header_is_refused_before_its_masking_key(deflate: bool, head: bytes) -> None:
    # wsproto refuses these as soon as the length has arrived; waiting for the key would leave
    # a client that stops there unanswered.
    splitter = FrameSplitter(deflate=deflate)
    assert splitter.split(head) == [(RAW, head)]
    assert not splitter.enabled


def test_text_that_is_not_utf8_is_left_to_wsproto() -> None:
    # Section 8.1: wsproto fails the connection with 1007; the fast path must not decide it.
    bad = frame(b"\xff\xfe")
    assert FrameSplitter(deflate=False).split(bad) == [(RAW, bad)]


def test_rsv1_marks_a_compressed_message_for_wsproto_under_permessage_deflate() -> None:
    compressed = frame(b"\xf2\x48\xcd\xc9\xc9\x07\x00", rsv=4)  # RFC 7692 section 7.2.3.1
    splitter = FrameSplitter(deflate=True)
    assert splitter.split(compressed + frame(b"plain")) == [(RAW, compressed), (TEXT, "plain")]
    assert splitter.enabled


@pytest.mark.parametrize(
    ("data", "head"),
    [
        # RFC 6455 section 5.7: "A single-frame unmasked text message" (contains "Hello").
        ("Hello", bytes([0x81, 0x05])),
        # "256 bytes binary message in a single unmasked frame": 0x82 0x7E 0x0100.
        (b"\x00" * 256, bytes([0x82, 0x7E, 0x01, 0x00])),
        # "64KiB binary message in a single unmasked frame": 0x82 0x7F 0x0000000000010000.
        (b"\x00" * 65536, bytes([0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0])),
    ],
)
def test_the_server_frames_the_rfcs_examples_byte_for_byte(data: bytes | str, head: bytes) -> None:
    payload = data.encode() if isinstance(data, str) else data
    assert message_frame(data) == head + payload


# -- the same frames on the fast path and through wsproto alone --------------------------------


@contextmanager
def wsproto_only() -> Iterator[None]:
    websocket_frames.FAST_PATH = False
    try:
        yield
    finally:
        websocket_frames.FAST_PATH = True


def run(pieces: list[bytes], config: Config, deflate: bool) -> tuple[Any, ...]:
    """Accept a WebSocket, feed it the pieces, echo what the app gets; everything observed."""
    h = Harness(config, alpn="http/1.1")
    peer = WebSocketPeer(h, extensions=[PerMessageDeflate()] if deflate else [])
    h.receive(1)
    h.send(1, {"type": "websocket.accept"})
    assert isinstance(peer.events()[0], AcceptConnection)
    refused: list[str] = []
    echoed = 1  # the app's messages so far, after websocket.connect
    for piece in pieces:
        h.feed(piece)
        for _ in range(3):
            h.receive(1)
        for message in h.received[1][echoed:]:
            echoed += 1
            if message["type"] != "websocket.receive":
                continue
            reply = {k: v for k, v in message.items() if k in ("text", "bytes")}
            try:
                h.send(1, {"type": "websocket.send", **reply})
            except (AppProtocolError, ClientDisconnected) as error:
                refused.append(type(error).__name__)
    frames = bytes(h.output).partition(b"\r\n\r\n")[2]  # after the 101 (its key is random)
    return frames, h.closed, refused, h.received[1], h.limits


def both(pieces: list[bytes], config: Config, deflate: bool = False) -> None:
    fast = run(pieces, config, deflate)
    with wsproto_only():
        alone = run(pieces, config, deflate)
    assert fast == alone


PAYLOADS = st.one_of(
    st.text(max_size=40).map(str.encode),
    st.binary(max_size=40),
    st.binary(min_size=126, max_size=400),
    st.sampled_from([b"\xff\xfe", b"\xe2\x82", b"\x03\xe8bye", b"\x03\xe8", b"\x00"]),
)
FRAMES = st.builds(
    frame,
    PAYLOADS,
    opcode=st.sampled_from([TEXT, TEXT, BINARY, BINARY, 0, 8, 9, 10, 3, 11]),
    fin=st.sampled_from([True, True, True, False]),
    rsv=st.sampled_from([0, 0, 0, 0, 0, 4, 2]),
    masked=st.sampled_from([True] * 9 + [False]),
    length_bytes=st.sampled_from([0, 0, 0, 0, 0, 2, 8]),
)


def fragmented(payload: bytes, opcode: int, cuts: list[int], ping: bool) -> bytes:
    """One message in fragments (RFC 6455 section 5.4), with a ping between two of them."""
    bounds = [0, *sorted({min(cut, len(payload)) for cut in cuts}), len(payload)]
    parts = [payload[a:b] for a, b in itertools.pairwise(bounds)]
    frames = [
        frame(part, opcode=opcode if i == 0 else 0, fin=i == len(parts) - 1)
        for i, part in enumerate(parts)
    ]
    if ping and len(frames) > 1:
        frames.insert(1, frame(b"ping", opcode=9))
    return b"".join(frames)


WHOLE = st.builds(frame, PAYLOADS, opcode=st.sampled_from([TEXT, BINARY]))
#: The first fragment of a message that the next data frame may wrongly interrupt (5.4).
UNFINISHED = st.builds(frame, PAYLOADS, opcode=st.sampled_from([TEXT, BINARY]), fin=st.just(False))
FRAGMENTED = st.builds(
    fragmented,
    PAYLOADS,
    st.sampled_from([TEXT, BINARY]),
    st.lists(st.integers(0, 400), max_size=3),
    st.booleans(),
)
#: A frame with one thing wrong with it, each a rule of RFC 6455 section 5.
BROKEN = st.one_of(
    st.builds(frame, PAYLOADS, masked=st.just(False)),  # 5.1
    st.builds(frame, PAYLOADS, rsv=st.sampled_from([4, 2, 1])),  # 5.2
    st.builds(frame, PAYLOADS, opcode=st.sampled_from([3, 7, 11, 15])),  # 5.2
    st.builds(frame, PAYLOADS, opcode=st.sampled_from([8, 9, 10]), fin=st.just(False)),  # 5.5
    st.builds(frame, st.binary(min_size=126, max_size=130), opcode=st.sampled_from([8, 9])),
    st.builds(frame, PAYLOADS, length_bytes=st.sampled_from([2, 8])),  # 5.2, minimal length
    st.builds(frame, PAYLOADS, opcode=st.just(0)),  # 5.4: a continuation of nothing
    st.builds(frame, st.sampled_from([b"\xff", b"a\xc3", b"\xed\xa0\x80"])),  # 8.1
)
CONTROL = st.builds(
    frame,
    st.one_of(st.binary(max_size=20), st.sampled_from([b"\x03\xe8", b"\x03\xe8bye", b"\x00"])),
    opcode=st.sampled_from([8, 9, 10]),
)
CONFIGS = st.builds(
    Config,
    ws_max_size=st.sampled_from([16 * 2**20, 16 * 2**20, 300, 50]),
    ws_max_fragments=st.sampled_from([None, 128, 3]),
)


@settings(max_examples=300, deadline=None)
@given(
    frames=st.lists(st.one_of(WHOLE, FRAGMENTED, UNFINISHED, CONTROL), max_size=8),
    odd=st.one_of(st.none(), BROKEN, FRAMES),
    where=st.integers(0, 8),
    config=CONFIGS,
    deflate=st.booleans(),
    cut=st.data(),
)
def test_the_fast_path_and_wsproto_alone_give_the_same_messages_and_bytes(
    frames: list[bytes],
    odd: bytes | None,
    where: int,
    config: Config,
    deflate: bool,
    cut: st.DataObject,
) -> None:
    """Differential (RFC 6455 section 5): messages whole and in fragments, control frames, and
    one frame that breaks a rule or is anything at all, cut anywhere, with and without
    permessage-deflate, under small size and fragment limits."""
    if odd is not None:
        frames.insert(where, odd)
    data = b"".join(frames)
    both([data], config, deflate)
    both(list(cut.draw(split(data, max_pieces=12))), config, deflate)


@settings(max_examples=100, deadline=None)
@given(messages=st.lists(st.one_of(st.text(max_size=300), st.binary(max_size=70000)), max_size=4))
def test_what_the_app_sends_is_framed_as_wsproto_frames_it(messages: list[str | bytes]) -> None:
    """Section 5.2's three length forms, for the server's own frames."""
    for data in messages:
        assert message_frame(data) == bytes(
            FrameProtocol(client=False, extensions=[]).send_data(data)
        )


def test_a_flood_of_pipelined_messages_is_read_in_order() -> None:
    h = Harness(Config(), alpn="http/1.1")
    peer = WebSocketPeer(h)
    h.receive(1)
    h.send(1, {"type": "websocket.accept"})
    peer.events()
    h.feed(b"".join(frame(b"%d" % i) for i in range(500)))
    for _ in range(500):
        h.receive(1)
    assert [m["text"] for m in h.received[1][1:]] == [str(i) for i in range(500)]
    peer.send(CloseConnection(code=1000))
    (answer,) = peer.events()  # nothing but the close: the test app echoes nothing
    assert isinstance(answer, CloseConnection) and answer.code == 1000
