"""WebSocket over HTTP/1.1 end to end with the websockets library, on every backend."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import socket
import time
from typing import Any

import pytest
import websockets
from helpers import apps
from websockets.asyncio.client import connect
from websockets.sync.client import connect as connect_sync


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def url(server: Any, path: str = "/ws") -> str:
    return f"ws://{server.host}:{server.port}{path}"


def test_echo_text_and_bytes(serve: Any) -> None:
    server = serve(apps.ws_echo)

    async def main() -> list[Any]:
        async with connect(url(server)) as ws:
            await ws.send("hello")
            await ws.send(b"\x00\x01\x02")
            return [await ws.recv(), await ws.recv()]

    assert run(main()) == ["hello", b"\x00\x01\x02"]


@pytest.mark.parametrize("size", [1 << 20, 16 << 20], ids=["1MiB", "16MiB"])
def test_large_messages_round_trip(serve: Any, size: int) -> None:
    server = serve(apps.ws_echo)
    payload = os.urandom(size)

    async def main() -> bytes:
        async with connect(url(server), max_size=None) as ws:
            await ws.send(payload)
            return await ws.recv()  # type: ignore[return-value]

    assert run(main()) == payload


def test_message_over_the_limit_is_closed_1009(serve: Any) -> None:
    server = serve(apps.ws_echo, ws_max_size=1000)

    async def main() -> int | None:
        async with connect(url(server)) as ws:
            await ws.send(b"x" * 1001)
            with pytest.raises(websockets.ConnectionClosed) as info:
                await ws.recv()
            return info.value.rcvd.code if info.value.rcvd else None

    assert run(main()) == 1009


def test_subprotocol_is_negotiated(serve: Any) -> None:
    server = serve(apps.ws_echo)

    async def main() -> str | None:
        async with connect(url(server), subprotocols=["v2.chat", "v1.chat"]) as ws:  # type: ignore[list-item]
            return ws.subprotocol

    assert run(main()) == "v2.chat"


def test_denial_response_reaches_the_client(serve: Any) -> None:
    async def app(scope: dict, receive: Any, send: Any) -> None:
        await receive()
        await send(
            {
                "type": "websocket.http.response.start",
                "status": 401,
                "headers": [(b"content-type", b"text/plain")],
            }
        )
        await send({"type": "websocket.http.response.body", "body": b"token expired"})

    server = serve(app)

    async def main() -> tuple[int, bytes]:
        with pytest.raises(websockets.InvalidStatus) as info:
            async with connect(url(server)):
                pass
        response = info.value.response
        return response.status_code, response.body

    assert run(main()) == (401, b"token expired")


def test_close_before_accept_is_403(serve: Any) -> None:
    async def app(scope: dict, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.close"})

    server = serve(app)

    async def main() -> int:
        with pytest.raises(websockets.InvalidStatus) as info:
            async with connect(url(server)):
                pass
        return info.value.response.status_code

    assert run(main()) == 403


def test_close_codes_and_reasons_both_ways(serve: Any) -> None:
    disconnects: list[dict] = []

    async def app(scope: dict, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        message = await receive()
        if message["type"] == "websocket.receive":
            await send({"type": "websocket.close", "code": 4321, "reason": "server says bye"})
        disconnects.append(await receive())

    server = serve(app)

    async def server_closes() -> tuple[int, str]:
        async with connect(url(server)) as ws:
            await ws.send("please close")
            with pytest.raises(websockets.ConnectionClosed) as info:
                await ws.recv()
            assert info.value.rcvd is not None
            return info.value.rcvd.code, info.value.rcvd.reason

    assert run(server_closes()) == (4321, "server says bye")

    async def client_closes() -> None:
        async with connect(url(server)) as ws:
            await ws.close(code=4555, reason="client says bye")

    run(client_closes())
    deadline = time.monotonic() + 5
    while len(disconnects) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert disconnects[1] == {
        "type": "websocket.disconnect",
        "code": 4555,
        "reason": "client says bye",
    }


def test_silent_client_is_closed_by_the_ping_timeout(serve: Any) -> None:
    server = serve(apps.ws_echo, ws_ping_interval=0.3, ws_ping_timeout=0.3)
    key = base64.b64encode(os.urandom(16))
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(
            b"GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        started = time.monotonic()
        received = b""
        while chunk := sock.recv(65536):  # never answers the pings
            received += chunk
    assert received.startswith(b"HTTP/1.1 101 ")
    frames = received[received.index(b"\r\n\r\n") + 4 :]
    assert frames[0] == 0x89  # a ping frame (FIN, opcode 0x9), never answered
    close = frames[2 + frames[1] :]
    assert close[0] == 0x88 and close[2:4] == (1011).to_bytes(2, "big")  # then close 1011
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("compression", ["deflate", None])
def test_compression_negotiated_or_not(serve: Any, compression: str | None) -> None:
    server = serve(apps.ws_echo)

    async def main() -> tuple[str | None, str]:
        async with connect(url(server), compression=compression) as ws:
            await ws.send("squeeze me " * 1000)
            echoed = await ws.recv()
            assert ws.response is not None
            return ws.response.headers.get("Sec-WebSocket-Extensions"), echoed  # type: ignore[return-value]

    extensions, echoed = run(main())
    assert echoed == "squeeze me " * 1000
    if compression:
        assert extensions is not None and extensions.startswith("permessage-deflate")
    else:
        assert extensions is None


def test_ping_flood_from_a_client_that_never_reads_stops_being_read(serve: Any) -> None:
    """Pongs are queued for a peer that reads nothing: reading pauses and memory stays bounded
    (with the control-frame budget off; with it, the flood is cut: the next test)."""
    server = serve(apps.ws_echo, ws_control_frame_budget=None)
    key = base64.b64encode(os.urandom(16))
    ping = b"\x89\x80\x00\x00\x00\x00"  # a masked, empty ping
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(
            b"GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        sock.setblocking(False)
        sent, stalled_since = 0, None
        limit = 64 * 1024 * 1024
        pending = ping * 10_000
        while sent < limit and (stalled_since is None or time.monotonic() - stalled_since < 0.5):
            try:
                accepted = sock.send(pending)
                sent += accepted
                pending = pending[accepted:] or ping * 10_000  # never cut a frame in two
                stalled_since = None
            except BlockingIOError:
                stalled_since = stalled_since or time.monotonic()
                time.sleep(0.01)
    assert sent < limit, f"the server kept reading pings it could not answer: {sent} bytes"


def test_a_ping_flood_is_closed_with_1008_and_others_are_served(serve: Any) -> None:
    """Config.ws_control_frame_budget (default 100 per 10 s): a flood of pings is failed with
    1008, policy violation (RFC 6455 section 7.4.1), while another client is served."""
    server = serve(apps.ws_echo)
    key = base64.b64encode(os.urandom(16))
    ping = b"\x89\x80\x00\x00\x00\x00"  # a masked, empty ping
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(
            b"GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        with contextlib.suppress(OSError):  # the server may close while we still send
            sock.sendall(ping * 1000)
        received = b""
        with contextlib.suppress(OSError):
            while chunk := sock.recv(65536):
                received += chunk
    # The close frame: opcode 8, then the code 1008 (0x03f0) first in its payload.
    assert b"\x88" in received and b"\x03\xf0" in received[received.rindex(b"\x88") :]
    with connect_sync(f"ws://{server.host}:{server.port}/ws", open_timeout=10) as ws:
        ws.send("still here")
        assert ws.recv(timeout=10) == "still here"


def test_app_sending_to_a_client_that_never_reads_is_held_back(serve: Any) -> None:
    """Write backpressure: the app's send() waits; the server does not queue without bound."""
    sent: list[int] = []

    async def app(scope: dict, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        try:
            for i in range(10_000):
                await send({"type": "websocket.send", "bytes": b"x" * 65536})
                sent.append(i)
        except OSError:
            pass

    server = serve(app)
    key = base64.b64encode(os.urandom(16))
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        sock.sendall(
            b"GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        time.sleep(1.0)
        stalled_at = len(sent)
        time.sleep(0.5)
        assert len(sent) == stalled_at, "send() kept returning for a client that reads nothing"
        assert stalled_at * 65536 < 64 * 1024 * 1024
