"""serve() embedded in a program's own event loop: ready with its addresses, then a clean exit
on cancellation that lets in-flight requests finish first."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx
import pytest
from asgi_core.backends import ServerConfig
from asgi_core.backends.asyncio import serve
from helpers import apps


def run(main: Any, backend: str) -> Any:
    if backend == "asyncio+uvloop":
        import uvloop

        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


def test_cancelled_serve_finishes_in_flight_requests_then_returns(backend: str) -> None:
    async def main() -> tuple[int, str, bool]:
        ready: asyncio.Future[list[tuple[str, int]]] = asyncio.get_running_loop().create_future()
        config = ServerConfig(port=0, lifespan="off", access_log=False, graceful_timeout=10)
        server = asyncio.create_task(serve(apps.slow, config, on_ready=ready.set_result))
        (host, port), *_ = await ready
        async with httpx.AsyncClient() as client:
            request = asyncio.create_task(client.get(f"http://{host}:{port}/?seconds=0.5"))
            await asyncio.sleep(0.2)
            server.cancel()
            response = await request
        with pytest.raises(asyncio.CancelledError):
            await server
        try:
            socket.create_connection((host, port), timeout=1).close()
            still_listening = True
        except OSError:
            still_listening = False
        return response.status_code, response.text, still_listening

    assert run(main, backend) == (200, "finally", False)


def test_serve_leaves_no_task_behind(backend: str) -> None:
    async def main() -> set[asyncio.Task[Any]]:
        ready: asyncio.Future[list[tuple[str, int]]] = asyncio.get_running_loop().create_future()
        config = ServerConfig(port=0, lifespan="auto", access_log=False, graceful_timeout=0.2)
        server = asyncio.create_task(serve(apps.lifespan_state, config, on_ready=ready.set_result))
        (host, port), *_ = await ready
        # One request finished, one connection left idle, one request that never finishes.
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"http://{host}:{port}/")).status_code == 200
        _reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"GET / HTTP/1.1\r\nHost: h\r\n")
        await writer.drain()
        await asyncio.sleep(0.1)
        server.cancel()
        with pytest.raises(asyncio.CancelledError):
            await server
        writer.close()
        return {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}

    assert run(main, backend) == set()
