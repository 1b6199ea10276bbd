"""Writes the seed corpus, ``fuzz/corpus/<target>/<name>``: small valid inputs that reach
each protocol's features, for the fuzzer to mutate. Run ``python -m fuzz.seeds`` after
changing it and commit the files.
"""

from __future__ import annotations

import base64
import struct
import zlib
from pathlib import Path

from hpack import Encoder
from hyperframe import frame as hf

from asgi_core.http2 import PREFACE
from fuzz.common import CLOCK, EOF, SHUTDOWN, TIGHT, VARIANT, VARIANT2

CORPUS = Path(__file__).resolve().parent / "corpus"


def seed(flags: int, split: int, payload: bytes) -> bytes:
    """An input: the flags byte, the split seed, then what the client sends."""
    return bytes([flags, split]) + payload


def request(
    target: str = "/",
    method: str = "GET",
    headers: str = "",
    body: bytes = b"",
    version: str = "1.1",
) -> bytes:
    """One HTTP/1.x request; ``headers`` are extra "Name: value" lines."""
    head = f"{method} {target} HTTP/{version}\r\nHost: fuzz\r\n{headers}\r\n"
    return head.encode("latin-1") + body


def chunked(*pieces: bytes, trailer: bytes = b"") -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n" + trailer + b"\r\n"


# -- HTTP/2 frames ----------------------------------------------------------------------------


class H2:
    """Builds a client's frames; one HPACK encoder, as a real client has."""

    def __init__(self) -> None:
        self.encoder = Encoder()

    def headers(
        self,
        stream_id: int,
        path: str = "/",
        method: str = "GET",
        *,
        end: bool = True,
        extra: list[tuple[str, str]] | None = None,
        split: bool = False,
        huffman: bool = True,
    ) -> bytes:
        fields = [
            (":method", method),
            (":scheme", "http"),
            (":authority", "fuzz"),
            (":path", path),
            *(extra or []),
        ]
        block = self.encoder.encode(fields, huffman=huffman)
        if split and len(block) > 2:
            first = hf.HeadersFrame(stream_id, block[:2], flags=["END_STREAM"] if end else [])
            rest = hf.ContinuationFrame(stream_id, block[2:], flags=["END_HEADERS"])
            return first.serialize() + rest.serialize()
        flags = ["END_HEADERS", *(["END_STREAM"] if end else [])]
        return hf.HeadersFrame(stream_id, block, flags=flags).serialize()


def frames(*items: hf.Frame) -> bytes:
    return b"".join(item.serialize() for item in items)


def data(stream_id: int, payload: bytes, end: bool = False, pad: int = 0) -> bytes:
    frame = hf.DataFrame(stream_id, payload, flags=["END_STREAM"] if end else [])
    if pad:
        frame.flags.add("PADDED")
        frame.pad_length = pad
    return frame.serialize()


SETTINGS = frames(hf.SettingsFrame(0, settings={hf.SettingsFrame.ENABLE_PUSH: 1}))
SETTINGS_ACK = frames(hf.SettingsFrame(0, flags=["ACK"]))


# -- WebSocket frames -------------------------------------------------------------------------


def ws_frame(opcode: int, payload: bytes, *, fin: bool = True, rsv1: bool = False) -> bytes:
    """A masked client frame (RFC 6455 section 5.2)."""
    mask = b"\x37\xfa\x21\x3d"
    first = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    size = len(payload)
    if size < 126:
        head = bytes([first, 0x80 | size])
    elif size < 1 << 16:
        head = bytes([first, 0x80 | 126]) + size.to_bytes(2, "big")
    else:
        head = bytes([first, 0x80 | 127]) + size.to_bytes(8, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def deflated(message: bytes) -> bytes:
    """A permessage-deflate payload (RFC 7692 section 7.2.1)."""
    compressor = zlib.compressobj(wbits=-15)
    return (compressor.compress(message) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]


def close(code: int, reason: bytes = b"") -> bytes:
    return ws_frame(8, code.to_bytes(2, "big") + reason)


WS_HANDSHAKE = request(
    "/ws",
    headers="Upgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n",
)


def h2c_upgrade(method: str = "GET", body: bytes = b"") -> bytes:
    settings = hf.SettingsFrame(0, settings={hf.SettingsFrame.MAX_CONCURRENT_STREAMS: 10})
    value = base64.urlsafe_b64encode(settings.serialize_body()).rstrip(b"=").decode()
    length = f"Content-Length: {len(body)}\r\n" if body else ""
    headers = f"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: {value}\r\n"
    return request("/?s", method, headers + length, body)


def corpus() -> dict[str, dict[str, bytes]]:
    """Every seed, by target and name."""
    http11 = {
        "get": seed(0, 0, request()),
        "get-eof": seed(EOF, 3, request("/?e")),
        "pipelined": seed(
            EOF,
            0,
            request("/?s")
            + request("/", "HEAD")
            + request("/?t", "POST", "TE: trailers\r\nContent-Length: 3\r\n", b"abc"),
        ),
        "chunked-body": seed(
            0,
            5,
            request(
                "/?st",
                "POST",
                "Transfer-Encoding: chunked\r\nTE: trailers\r\n",
                chunked(b"hello", b" world", trailer=b"X: 1\r\n"),
            ),
        ),
        "content-length-body": seed(
            TIGHT, 9, request("/", "PUT", "Content-Length: 600\r\n", b"x" * 600)
        ),
        "expect-continue": seed(
            0, 0, request("/", "POST", "Expect: 100-continue\r\nContent-Length: 4\r\n", b"body")
        ),
        "http10": seed(EOF, 0, request("/?s", version="1.0")),
        "early-answer": seed(0, 0, request("/?x", "POST", "Content-Length: 5\r\n", b"12345")),
        "slow-app": seed(
            TIGHT | CLOCK,
            17,
            request("/?w", "POST", "Content-Length: 300\r\n", b"y" * 300) + request(),
        ),
        "idle-timeouts": seed(CLOCK | SHUTDOWN, 2, request("/a?b=c") + request("/")),
        "bad-request": seed(0, 0, b"GET /\x01 HTTP/1.1\r\n\r\n"),
        "oversized-head": seed(TIGHT, 0, request(headers="X-Big: " + "a" * 600 + "\r\n")),
        "websocket": seed(EOF, 0, WS_HANDSHAKE + ws_frame(1, b"hi")),
        "websocket-subprotocol": seed(
            0,
            0,
            WS_HANDSHAKE.replace(b"\r\n\r\n", b"\r\nSec-WebSocket-Protocol: chat\r\n\r\n")
            + ws_frame(2, b"quit"),
        ),
        "websocket-denied": seed(0, 0, WS_HANDSHAKE.replace(b"/ws", b"/ws?d")),
    }
    get = H2().headers(1, "/?s")
    post = H2().headers(3, "/?t", "POST", end=False, extra=[("content-length", "10")])
    http2 = {
        "get": seed(0, 0, SETTINGS + get),
        "get-sniffed": seed(VARIANT, 4, SETTINGS + H2().headers(1, "/?e")),
        "post-body": seed(
            0,
            7,
            SETTINGS + SETTINGS_ACK + post + data(3, b"hello") + data(3, b"world", end=True, pad=4),
        ),
        "many-streams": seed(
            TIGHT,
            0,
            SETTINGS
            + b"".join(H2().headers(i, "/?w") for i in range(1, 14, 2))
            + frames(hf.WindowUpdateFrame(0, window_increment=9)),
        ),
        "control-frames": seed(
            EOF,
            0,
            SETTINGS
            + frames(
                hf.PingFrame(0, b"12345678"),
                hf.PriorityFrame(1, depends_on=0, stream_weight=3),
                hf.WindowUpdateFrame(0, window_increment=100),
            )
            + H2().headers(1, split=True)
            + frames(hf.RstStreamFrame(1, error_code=8), hf.GoAwayFrame(0, error_code=0)),
        ),
        "literal-fields": seed(
            0, 0, SETTINGS + H2().headers(1, "/caf%C3%A9?q=1", "PATCH", huffman=False)
        ),
        "push-and-hint": seed(CLOCK, 0, SETTINGS + H2().headers(1, "/?ph")),
        "websocket": seed(
            0,
            0,
            SETTINGS
            + H2().headers(
                1,
                "/ws",
                "CONNECT",
                end=False,
                extra=[(":protocol", "websocket"), ("sec-websocket-version", "13")],
            )
            + data(1, ws_frame(1, b"hi"))
            + data(1, ws_frame(8, b"\x03\xe8"), end=True),
        ),
        "shutdown": seed(
            SHUTDOWN | EOF,
            2,
            SETTINGS + H2().headers(1, "/?x", "POST", end=False) + data(1, b"abc", end=True),
        ),
    }
    websocket = {
        "text": seed(0, 0, ws_frame(1, b"hello")),
        "binary-eof": seed(EOF, 0, ws_frame(2, b"\x00\x01\x02")),
        "ping-pong-close": seed(0, 3, ws_frame(9, b"p") + ws_frame(10, b"") + close(1000, b"ok")),
        "fragmented": seed(
            0,
            6,
            ws_frame(1, b"hel", fin=False)
            + ws_frame(9, b"")
            + ws_frame(0, b"lo", fin=False)
            + ws_frame(0, b"!"),
        ),
        "app-closes": seed(0, 0, ws_frame(1, b"close") + close(1000)),
        "app-returns": seed(0, 0, ws_frame(2, b"quit")),
        "deflate": seed(
            VARIANT,
            0,
            ws_frame(1, deflated(b"a" * 300), rsv1=True)
            + ws_frame(2, deflated(b"b" * 10), rsv1=True),
        ),
        "slow-app": seed(
            VARIANT2 | TIGHT | CLOCK, 11, b"".join(ws_frame(1, b"m%d" % i) for i in range(10))
        ),
        "big-message": seed(TIGHT, 0, ws_frame(2, b"z" * 2000)),
        "bad-utf8": seed(0, 0, ws_frame(1, b"\xff\xfe")),
        "keepalive": seed(CLOCK, 1, ws_frame(1, b"a")),
        "shutdown": seed(SHUTDOWN, 1, ws_frame(1, b"a") + ws_frame(1, b"b")),
    }
    sniff = {
        "http11": seed(EOF, 0, request("/?s")),
        "preface": seed(0, 0, PREFACE + SETTINGS + H2().headers(1)),
        "preface-split": seed(0, 3, PREFACE + SETTINGS + H2().headers(1, "/?t")),
        "h2c-get": seed(0, 0, h2c_upgrade() + PREFACE + SETTINGS),
        "h2c-post": seed(0, 4, h2c_upgrade("POST", b"data") + PREFACE + SETTINGS + H2().headers(3)),
        "not-quite-preface": seed(0, 0, b"PRI * HTTP/1.1\r\nHost: x\r\n\r\n"),
    }
    return {"http11": http11, "http2": http2, "websocket": websocket, "h2c_and_sniffing": sniff,
            "proxy": proxy_seeds()}  # fmt: skip


def proxy_seeds() -> dict[str, bytes]:
    """PROXY v1 and v2 headers (doc/proxy-protocol.txt) and proxy header values."""
    block = bytes([203, 0, 113, 9, 192, 0, 2, 1]) + struct.pack("!HH", 50000, 443)
    ssl = b"\x20" + struct.pack("!H", 15) + b"\x01\0\0\0\0\x21\x00\x07TLSv1.3"

    def v2(command: int, family: int, body: bytes) -> bytes:
        return (b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x20 | command, family])
                + struct.pack("!H", len(body)) + body)  # fmt: skip

    return {
        "v1-tcp4": b"\x07PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n",
        "v1-tcp6": b"\x00PROXY TCP6 2001:db8::1 2001:db8::2 1 2\r\n",
        "v1-unknown": b"\x03PROXY UNKNOWN\r\n",
        "v2-tcp4-ssl": b"\x09" + v2(1, 0x11, block + ssl) + b"\x16\x03\x01",
        "v2-local": b"\x00" + v2(0, 0x00, b""),
        "v2-unix": b"\x11" + v2(1, 0x31, b"/a".ljust(108, b"\0") + b"/b".ljust(108, b"\0")),
        "forwarded": b'\x00for=1.1.1.1;proto=https, for="[2001:db8::1]:80";host=example.com\n'
        b"198.51.100.1, 10.0.0.1\nhttps\nexample.com\n8443\n/api",
    }


def main() -> None:
    for target, seeds in corpus().items():
        folder = CORPUS / target
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in seeds.items():
            (folder / name).write_bytes(content)
        print(f"{target}: {len(seeds)} seeds")


if __name__ == "__main__":
    main()
