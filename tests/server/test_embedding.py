"""serve() embedded in a program's own event loop, on every backend: ready with its addresses,
then a clean exit on cancellation that lets in-flight requests finish first and leaves no task
behind."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx
import pytest
from helpers import apps

from asgi_core.backends import ServerConfig

Stop = Callable[[], Awaitable[None]]


async def start_server(
    backend: str, app: Any, config: ServerConfig, group: Any
) -> tuple[tuple[str, int], Stop]:
    """Start ``serve`` of ``backend`` the way its users embed it; return address and a stop."""
    family = backend.partition("+")[0]
    if family == "asyncio":
        from asgi_core.backends.asyncio import serve as serve_asyncio

        ready: asyncio.Future[list[tuple[str, int]]] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(serve_asyncio(app, config, on_ready=ready.set_result))

        async def stop_task() -> None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            assert task.cancelled()

        return (await ready)[0], stop_task
    if family == "trio":
        from asgi_core.backends.trio import serve
    else:
        from asgi_core.backends.anyio import serve  # type: ignore[assignment]
    scope = anyio.CancelScope()
    finished = anyio.Event()

    async def run(*, task_status: Any) -> None:
        with scope:
            await serve(app, config, task_status=task_status)
        finished.set()

    addresses = await group.start(run)

    async def stop_scope() -> None:
        scope.cancel()
        await finished.wait()

    return addresses[0], stop_scope


def config_for(backend: str, **options: Any) -> ServerConfig:
    """A port of the system's choosing, no access log, ``backend``'s driver, and ``options``."""
    family = backend.partition("+")[0]
    return ServerConfig(port=0, access_log=False, backend=family, **options)  # type: ignore[arg-type]


def run_on(backend: str, main: Callable[[Any], Awaitable[Any]]) -> Any:
    family, _, loop = backend.partition("+")
    runtime = "trio" if "trio" in (family, loop) else "asyncio"
    options = {"use_uvloop": True} if loop == "uvloop" else {}

    async def wrapper() -> Any:
        async with anyio.create_task_group() as group:
            return await main(group)

    return anyio.run(wrapper, backend=runtime, backend_options=options)


def test_cancelled_serve_finishes_in_flight_requests_then_returns(backend: str) -> None:
    config = config_for(backend, lifespan="off", graceful_timeout=10)

    async def main(group: Any) -> tuple[int, str, bool]:
        (host, port), stop = await start_server(backend, apps.slow, config, group)
        result: list[httpx.Response] = []
        async with httpx.AsyncClient() as client, anyio.create_task_group() as requests:

            async def get() -> None:
                result.append(await client.get(f"http://{host}:{port}/?seconds=0.5"))

            requests.start_soon(get)
            await anyio.sleep(0.2)
            await stop()
        try:
            socket.create_connection((host, port), timeout=1).close()
            listening = True
        except OSError:
            listening = False
        return result[0].status_code, result[0].text, listening

    assert run_on(backend, main) == (200, "finally", False)


def test_serve_leaves_no_task_behind(backend: str) -> None:
    config = config_for(backend, lifespan="auto", graceful_timeout=0.2)

    async def main(group: Any) -> list[str]:
        before = {task.id for task in anyio.get_running_tasks()}
        (host, port), stop = await start_server(backend, apps.lifespan_state, config, group)
        # One request finished, one connection left mid-head, one idle keep-alive client.
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"http://{host}:{port}/")).status_code == 200
            stream = await anyio.connect_tcp(host, port)
            await stream.send(b"GET / HTTP/1.1\r\nHost: h\r\n")
            await anyio.sleep(0.1)
            await stop()
        # No socket is leaked: the half-sent request's connection was closed by the server.
        with anyio.fail_after(5), pytest.raises((anyio.EndOfStream, anyio.BrokenResourceError)):
            await stream.receive()
        await stream.aclose()
        return [t.name for t in anyio.get_running_tasks() if t.id not in before]

    assert run_on(backend, main) == []
