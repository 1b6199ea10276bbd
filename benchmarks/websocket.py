"""WebSocket echo benchmark: asgi-core beside uvicorn and hypercorn, in one run.

Each server (pinned to CPU 0) serves benchmarks/ws_echo.py; a client process pinned to CPU 1
keeps N connections each sending a message and awaiting its echo, and counts echoes per
second. Compression is off on both sides so the protocol path is what is measured.

    python benchmarks/websocket.py [--duration 10] [--rounds 3] [--connections 16] [--size 64]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time

import common  # type: ignore[import-not-found]


def servers(port: int) -> list[common.Server]:
    py = sys.executable
    app = "ws_echo:app"
    quiet = ["--no-access-log", "--log-level", "warning"]
    found = [
        common.Server(f"asgi-core ({name})",
                      [py, "-m", "asgi_core", app, "--port", str(port), *flags, *quiet,
                       "--no-ws-per-message-deflate"])
        for name, flags in (
            ("asyncio", ["--backend", "asyncio", "--loop", "asyncio"]),
            ("uvloop", ["--backend", "asyncio", "--loop", "uvloop"]),
            ("trio", ["--backend", "trio"]),
        )
    ]  # fmt: skip
    for ws in ("websockets", "wsproto"):
        found.append(
            common.Server(f"uvicorn {ws} (asyncio)",
                          [py, "-m", "uvicorn", app, "--port", str(port), "--loop", "asyncio",
                           "--ws", ws, "--ws-per-message-deflate", "false", *quiet])
        )  # fmt: skip
    found.append(
        common.Server("hypercorn (asyncio)",
                      [py, "-m", "hypercorn", app, "--bind", f"127.0.0.1:{port}",
                       "--worker-class", "asyncio", "--log-level", "warning"])
    )  # fmt: skip
    return found


async def client(port: int, connections: int, size: int, duration: float) -> float:
    from websockets.asyncio.client import connect

    payload = b"x" * size
    count = 0
    stop_at = 0.0

    async def one() -> None:
        nonlocal count
        async with connect(f"ws://127.0.0.1:{port}/", compression=None, max_size=None) as ws:
            while time.monotonic() < stop_at:
                await ws.send(payload)
                await ws.recv()
                count += 1

    stop_at = time.monotonic() + duration
    started = time.monotonic()
    await asyncio.gather(*(one() for _ in range(connections)))
    return count / (time.monotonic() - started)


def run_client(port: int, connections: int, size: int, duration: float) -> float:
    out = subprocess.run(
        ["taskset", "-c", "1", sys.executable, __file__, "--client", str(port),
         "--connections", str(connections), "--size", str(size), "--duration", str(duration)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return float(out.strip().splitlines()[-1])


def main() -> None:
    args = common.parse_args(
        __doc__,
        8766,
        ("--connections", 16, None),
        ("--size", 64, None),
        ("--client", None, argparse.SUPPRESS),
    )
    if args.client:
        print(asyncio.run(client(args.client, args.connections, args.size, args.duration)))
        return
    chosen = [s for s in servers(args.port) if args.only in s.name]
    for round_number in range(1, args.rounds + 1):
        for server in chosen:
            with common.running(server, args.port) as proc:
                run_client(args.port, args.connections, args.size, 1)  # warm-up
                rate, cpu = common.cpu_during(
                    proc.pid,
                    lambda: run_client(args.port, args.connections, args.size, args.duration),
                )
            server.rps.append(rate)
            server.rps_per_cpu.append(common.per_cpu_second(rate, args.duration, cpu))
            print(f"round {round_number}: {server.name:26} {rate:9.0f} echoes/s", file=sys.stderr)
    common.print_table(
        f"WebSocket echo, {args.connections} connections, {args.size}-byte messages, "
        f"{args.duration:g}s x {args.rounds} rounds (median); server CPU 0, client CPU 1",
        f"{'server':26} {'echoes/s':>9} {'echoes/CPU-s':>13}",
        (
            f"{server.name:26} {statistics.median(server.rps):9.0f} "
            f"{statistics.median(server.rps_per_cpu):13.0f}"
            for server in chosen
        ),
    )


if __name__ == "__main__":
    main()
