"""Soaks, kept out of the default run (``pytest -m slow``): 10,000 WebSockets echoing at once,
and 10,000 connections opened at once while a well-behaved client is served. The server runs
in its own process (the test's 10,000 sockets and the server's would not fit one process's
descriptor limit), on every backend."""

from __future__ import annotations

import asyncio
import contextlib
import resource
import socket
import time

import httpx
import pytest
from helpers.server import ServerProcess
from websockets.asyncio.client import connect

pytestmark = pytest.mark.slow

COUNT = 10_000


def _room_for(count: int) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < count + 512:
        pytest.skip(f"the descriptor limit ({hard}) is below {count + 512}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _server(cli_backend: list[str], app: str) -> ServerProcess:
    return ServerProcess(
        app, "--port", "0", "--no-access-log", "--backlog", "4096", "--ws-ping-interval", "0",
        "--keep-alive-timeout", "120", *cli_backend,
    )  # fmt: skip


async def _echo_many(port: int, count: int) -> int:
    """Open ``count`` WebSockets (a few hundred at a time), then echo once on each at once."""
    sockets = []
    limit = asyncio.Semaphore(256)

    async def open_one() -> None:
        async with limit:
            sockets.append(await connect(f"ws://127.0.0.1:{port}/ws", open_timeout=60))

    await asyncio.gather(*(open_one() for _ in range(count)))

    async def echo(ws: object, i: int) -> bool:
        await ws.send(f"m{i}")  # type: ignore[attr-defined]
        return await asyncio.wait_for(ws.recv(), 60) == f"m{i}"  # type: ignore[attr-defined]

    try:
        results = await asyncio.gather(*(echo(ws, i) for i, ws in enumerate(sockets)))
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return sum(results)


def test_ten_thousand_websockets_echo_at_once(cli_backend: list[str]) -> None:
    _room_for(COUNT)
    with _server(cli_backend, "helpers.apps:ws_echo") as server:
        assert asyncio.run(_echo_many(server.port, COUNT)) == COUNT


def test_ten_thousand_connections_at_once_and_a_client_is_still_served(
    cli_backend: list[str],
) -> None:
    _room_for(COUNT)
    with _server(cli_backend, "helpers.apps:hello") as server:
        opened = []
        try:
            for _ in range(COUNT):
                sock = socket.socket()
                sock.setblocking(False)
                with contextlib.suppress(BlockingIOError):  # it connects in the background
                    sock.connect(("127.0.0.1", server.port))
                opened.append(sock)
            started = time.monotonic()
            response = httpx.get(f"http://127.0.0.1:{server.port}/", timeout=30)
            assert response.status_code == 200
            print(f"served in {time.monotonic() - started:.3f} s beside {COUNT} connections")
        finally:
            for sock in opened:
                sock.close()
