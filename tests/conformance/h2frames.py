"""A raw-frame HTTP/2 client for conformance tests: frames in, frames out, nothing hidden.

``RawClient`` writes whatever frames a test builds (``hyperframe.frame`` objects or raw bytes
from ``raw_frame``, for frames hyperframe refuses to build) to a ``ServerConnection`` driven
in memory by ``Harness``, and parses everything the server writes back into frames, so a test
can assert the exact frame, flags and error code. A tiny application answers every request
once its body has ended: status 200, body b"ok".
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any

from h2.errors import ErrorCodes
from helpers.harness import Harness
from hpack import Decoder, Encoder
from hyperframe import frame as hf

from asgi_core import Config

#: The client connection preface (RFC 9113 section 3.4).
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# Frame type codes (RFC 9113 section 6).
DATA = 0x0
HEADERS = 0x1
PRIORITY = 0x2
RST_STREAM = 0x3
SETTINGS = 0x4
PUSH_PROMISE = 0x5
PING = 0x6
GOAWAY = 0x7
WINDOW_UPDATE = 0x8
CONTINUATION = 0x9

# Flags.
END_STREAM = 0x1
ACK = 0x1
END_HEADERS = 0x4
PADDED = 0x8
PRIORITY_FLAG = 0x20

# SETTINGS identifiers (RFC 9113 section 6.5.2, RFC 8441 section 3).
HEADER_TABLE_SIZE = 0x1
ENABLE_PUSH = 0x2
MAX_CONCURRENT_STREAMS = 0x3
INITIAL_WINDOW_SIZE = 0x4
MAX_FRAME_SIZE = 0x5
MAX_HEADER_LIST_SIZE = 0x6
ENABLE_CONNECT_PROTOCOL = 0x8

Fields = list[tuple[bytes, bytes]]


def raw_frame(frame_type: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    """One frame exactly as given: any type, flags, stream id (reserved bit included) and
    payload, even ones no conforming library would build."""
    length = len(payload)
    return struct.pack(">BHBBL", length >> 16, length & 0xFFFF, frame_type, flags, stream_id) + (
        payload
    )


def settings_payload(*pairs: tuple[int, int]) -> bytes:
    """A SETTINGS payload with the pairs in order (repeats allowed, unlike a dict)."""
    return b"".join(struct.pack(">HL", identifier, value) for identifier, value in pairs)


def request_fields(
    path: bytes = b"/", method: bytes = b"GET", authority: bytes = b"example.com"
) -> Fields:
    return [(b":method", method), (b":scheme", b"http"), (b":authority", authority),
            (b":path", path)]  # fmt: skip


class FrameReader:
    """Cuts a byte stream into parsed frames; keeps an incomplete frame for the next feed.

    ``headers`` keeps each frame's 9 header octets as written: hyperframe drops undefined
    flags and the reserved bit, which a test may want to see.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.headers: list[bytes] = []

    def feed(self, data: bytes) -> list[hf.Frame]:
        self._buffer += data
        frames = []
        while len(self._buffer) >= 9:
            frame, length = hf.Frame.parse_frame_header(memoryview(bytes(self._buffer[:9])))
            if len(self._buffer) < 9 + length:
                break
            frame.parse_body(memoryview(bytes(self._buffer[9 : 9 + length])))
            self.headers.append(bytes(self._buffer[:9]))
            del self._buffer[: 9 + length]
            frames.append(frame)
        return frames

    @property
    def pending(self) -> bytes:
        return bytes(self._buffer)


class RawClient:
    """A hand-driven HTTP/2 client on a ``Harness``: every frame it sends is the test's own.

    ``connect()`` sends the preface and a SETTINGS frame and takes the server's SETTINGS and
    its ACK; after that, ``send()`` returns the frames the server wrote in answer.
    """

    def __init__(self, config: Config | None = None, *, app: bool = True, **harness: Any) -> None:
        self.h = Harness(config, **harness)
        self.encoder = Encoder()
        self.reader = FrameReader()
        self.frames: list[hf.Frame] = []  # every frame the server wrote, in order
        self.app = app  # False: the test answers requests itself
        self.bodies: dict[int, bytearray] = {}  # request body the app received, per stream
        self.answered: set[int] = set()
        self.server_settings: dict[int, int] = {}
        self.decoder = Decoder()
        self.blocks: list[tuple[int, Fields]] = []  # decoded HEADERS blocks, in order
        self.promises: dict[int, Fields] = {}  # promised stream id: its request's fields
        self._block: list[Any] = []  # a field block still waiting for CONTINUATION
        self.highest_stream_id = 0  # the highest stream a HEADERS frame of ours opened
        self.mark = 0  # how many frames the handshake took: what came later is the test's
        self._seen = 0
        self._asked: dict[int, int] = {}  # per stream: receive() messages already handled

    # -- the conversation ---------------------------------------------------------------------

    def connect(self, settings: dict[int, int] | None = None) -> list[hf.Frame]:
        """Preface, our SETTINGS; the server's SETTINGS is ACKed. Returns the server's frames."""
        frames = self.send(PREFACE + hf.SettingsFrame(0, settings=settings or {}).serialize())
        first = frames[0]
        assert isinstance(first, hf.SettingsFrame) and "ACK" not in first.flags, frames
        self.server_settings = dict(first.settings)
        ack = hf.SettingsFrame(0)
        ack.flags.add("ACK")
        frames += self.send(ack)
        self.mark = len(self.frames)
        return frames

    def send(self, *frames: hf.Frame | bytes) -> list[hf.Frame]:
        """Write frames (all in one read, as one TCP segment would carry them); return what
        the server wrote in answer, after the application had its turn."""
        data = b"".join(f if isinstance(f, bytes) else f.serialize() for f in frames)
        self._track(data[len(PREFACE) :] if data.startswith(PREFACE) else data)
        self.h.feed(data)
        self._run_app()
        return self.read()

    def send_each(self, *frames: hf.Frame | bytes) -> list[hf.Frame]:
        """Write frames one read at a time."""
        out: list[hf.Frame] = []
        for frame in frames:
            out += self.send(frame)
        return out

    def _track(self, data: bytes) -> None:
        """Follow the stream ids our HEADERS frames use (frame headers only: the bodies may be
        deliberately broken)."""
        while len(data) >= 9:
            length = int.from_bytes(data[:3], "big")
            if data[3] == HEADERS:
                stream_id = int.from_bytes(data[5:9], "big") & 0x7FFFFFFF
                self.highest_stream_id = max(self.highest_stream_id, stream_id)
            data = data[9 + length :]

    def read(self) -> list[hf.Frame]:
        """Frames the server wrote since the last call."""
        new = bytes(self.h.output[self._seen :])
        self._seen = len(self.h.output)
        frames = self.reader.feed(new)
        self.frames += frames
        for frame in frames:
            self._decode(frame)
        return frames

    def _decode(self, frame: hf.Frame) -> None:
        """Decode every field block in order, so the decoder's table follows the server's."""
        if isinstance(frame, (hf.HeadersFrame, hf.PushPromiseFrame)):
            self._block = [frame, bytearray(frame.data)]
        elif isinstance(frame, hf.ContinuationFrame) and self._block:
            self._block[1] += frame.data
        else:
            return
        if "END_HEADERS" in frame.flags:
            first, data = self._block
            self._block = []
            fields = self.decoder.decode(bytes(data), raw=True)
            if isinstance(first, hf.PushPromiseFrame):
                self.promises[first.promised_stream_id] = fields
            else:
                self.blocks.append((first.stream_id, fields))

    # -- building frames ----------------------------------------------------------------------

    def block(self, fields: Iterable[tuple[bytes, bytes]]) -> bytes:
        """An HPACK field block from our encoder (whose dynamic table the server mirrors)."""
        return bytes(self.encoder.encode(list(fields)))

    def headers(
        self,
        stream_id: int,
        fields: Iterable[tuple[bytes, bytes]] | None = None,
        *,
        end_stream: bool = True,
        end_headers: bool = True,
    ) -> hf.HeadersFrame:
        frame = hf.HeadersFrame(
            stream_id, self.block(request_fields() if fields is None else fields)
        )
        if end_stream:
            frame.flags.add("END_STREAM")
        if end_headers:
            frame.flags.add("END_HEADERS")
        return frame

    def request(
        self, stream_id: int, fields: Fields | None = None, body: bytes = b""
    ) -> list[hf.Frame]:
        """A whole request: HEADERS, and DATA with END_STREAM when there is a body."""
        if not body:
            return self.send(self.headers(stream_id, fields))
        data = hf.DataFrame(stream_id, body)
        data.flags.add("END_STREAM")
        return self.send(self.headers(stream_id, fields, end_stream=False), data)

    # -- the application ----------------------------------------------------------------------

    def _run_app(self) -> None:
        """Read each request's body to its end, then answer 200 "ok" and return."""
        if not self.app:
            return
        for _ in range(100):
            progressed = False
            for stream_id, scope in list(self.h.scopes.items()):
                if stream_id in self.answered or scope["type"] != "http":
                    continue
                if stream_id not in self._asked:
                    self._asked[stream_id] = 0
                    self.bodies[stream_id] = bytearray()
                    self.h.receive(stream_id)
                messages = self.h.received[stream_id]
                while self._asked[stream_id] < len(messages) and stream_id not in self.answered:
                    message = messages[self._asked[stream_id]]
                    self._asked[stream_id] += 1
                    progressed = True
                    if message["type"] == "http.disconnect":
                        self.answered.add(stream_id)
                        self.h.finish(stream_id)
                    elif message.get("more_body"):
                        self.bodies[stream_id] += message.get("body", b"")
                        self.h.receive(stream_id)
                    else:
                        self.bodies[stream_id] += message.get("body", b"")
                        self.answered.add(stream_id)
                        try:
                            self.h.respond(stream_id, b"ok")
                        except OSError as exc:  # the client went away meanwhile
                            self.h.finish(stream_id, exc)
            if not progressed:
                return
        raise AssertionError("the application never settled")

    # -- what came back -----------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """The server emitted CloseConnection: the driver closes the socket."""
        return self.h.closed

    def goaways(self) -> list[hf.GoAwayFrame]:
        return [f for f in self.frames if isinstance(f, hf.GoAwayFrame)]

    def resets(self, stream_id: int | None = None) -> list[hf.RstStreamFrame]:
        return [f for f in self.frames if isinstance(f, hf.RstStreamFrame)
                and (stream_id is None or f.stream_id == stream_id)]  # fmt: skip

    def serves(self) -> bool:
        """The connection still serves requests: a new one on the next stream gets 200 "ok"."""
        if self.closed:
            return False
        stream_id = self.highest_stream_id + 2 if self.highest_stream_id else 1
        stream_id |= 1
        self.send(self.headers(stream_id))
        if not self.app and stream_id in self.h.scopes:
            self.h.respond(stream_id, b"ok")
            self.read()
        fields, body, ended = self.response(stream_id)
        return (b":status", b"200") in fields and body == b"ok" and ended

    def ping_alive(self, opaque: bytes = b"alive!!!") -> bool:
        """The connection still answers: a PING comes back ACKed with its data."""
        if self.closed:
            return False
        answers = self.send(hf.PingFrame(0, opaque))
        return any(isinstance(f, hf.PingFrame) and "ACK" in f.flags and f.opaque_data == opaque
                   for f in answers)  # fmt: skip

    def response(self, stream_id: int) -> tuple[Fields, bytes, bool]:
        """The response on a stream so far: its decoded fields, DATA bytes, and whether the
        stream ended."""
        fields: Fields = []
        body = bytearray()
        ended = False
        for frame in self.frames:
            if frame.stream_id != stream_id:
                continue
            if isinstance(frame, hf.DataFrame):
                body += frame.data
            if isinstance(frame, (hf.DataFrame, hf.HeadersFrame)) and "END_STREAM" in frame.flags:
                ended = True
        for block_stream, block in self.blocks:
            if block_stream == stream_id:
                fields += block
        return fields, bytes(body), ended

    def status(self, stream_id: int) -> int | None:
        for name, value in self.response(stream_id)[0]:
            if name == b":status" and not value.startswith(b"1"):
                return int(value)
        return None


def error_name(code: int) -> str:
    try:
        return ErrorCodes(code).name
    except ValueError:
        return hex(code)


def describe(frames: Iterable[hf.Frame]) -> str:
    """Frames in a line, for assertion messages: GOAWAY(PROTOCOL_ERROR, last=1), ..."""
    out = []
    for frame in frames:
        name = type(frame).__name__.removesuffix("Frame").upper()
        if isinstance(frame, hf.GoAwayFrame):
            out.append(f"GOAWAY({error_name(frame.error_code)}, last={frame.last_stream_id})")
        elif isinstance(frame, hf.RstStreamFrame):
            out.append(f"RST_STREAM({frame.stream_id}, {error_name(frame.error_code)})")
        else:
            flags = "|".join(sorted(frame.flags))
            out.append(f"{name}({frame.stream_id}{', ' + flags if flags else ''})")
    return ", ".join(out) or "nothing"
