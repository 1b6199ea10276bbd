"""WebSocket echo benchmark: asgi-core beside uvicorn, granian and hypercorn, in one run.

Each server (pinned to CPU 0) serves benchmarks/ws_echo.py; a client process pinned to CPU 1
keeps N connections each sending a message and awaiting its echo, and counts echoes per
second. The client is Node's ``ws`` (benchmarks/ws_client.cjs; npm installs ``ws`` under
benchmarks/.node on first use): the websockets library's client (``--python-client``) is
slower than the servers, so it measured itself. Compression is off on both sides so the
protocol path is what is measured. Printed per server: echoes/s and echoes per
server-CPU-second (medians of the rounds), then the ratios of asgi-core to the peers;
``--json FILE`` writes every round's figures for benchmarks/plot.py.

    python benchmarks/websocket.py [--duration 10] [--rounds 3] [--connections 16] [--size 64]
                                   [--python-client] [--only NAME] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import common  # type: ignore[import-not-found]


def servers(port: int) -> list[common.Server]:
    py = sys.executable
    app = "ws_echo:app"
    quiet = ["--no-access-log", "--log-level", "warning"]
    found = [
        common.Server(f"asgi-core {name}",
                      [py, "-m", "asgi_core", app, "--port", str(port), *flags, *quiet,
                       "--no-ws-per-message-deflate"])
        for name, flags in (
            ("asyncio", ["--backend", "asyncio", "--loop", "asyncio"]),
            ("uvloop", ["--backend", "asyncio", "--loop", "uvloop"]),
            ("trio", ["--backend", "trio"]),
        )
    ]  # fmt: skip
    for ws, http, loop in (
        ("websockets", "h11", "asyncio"),
        ("wsproto", "h11", "asyncio"),
        ("websockets", "httptools", "uvloop"),
    ):
        found.append(
            common.Server(f"uvicorn {ws} ({loop})",
                          [py, "-m", "uvicorn", app, "--port", str(port), "--loop", loop,
                           "--http", http, "--ws", ws, "--ws-per-message-deflate", "false",
                           *quiet])
        )  # fmt: skip
    if common.importable("granian"):  # granian's WebSockets do not compress
        found.append(
            common.Server("granian (uvloop)",
                          [py, "-m", "granian", "--interface", "asgi", "--loop", "uvloop",
                           "--http", "1", "--workers", "1", "--host", "127.0.0.1", "--port",
                           str(port), "--log-level", "warning", "--no-access-log", app])
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


NODE_PREFIX = Path(__file__).resolve().parent / ".node"


def node_client() -> list[str]:
    """Node's ``ws`` client (benchmarks/ws_client.cjs), installed under benchmarks/.node."""
    if not (NODE_PREFIX / "node_modules" / "ws").is_dir():
        subprocess.run(["npm", "install", "--silent", "--no-save", "--prefix", str(NODE_PREFIX),
                        "ws@8"], check=True)  # fmt: skip
    return ["node", str(Path(__file__).resolve().parent / "ws_client.cjs")]


def run_client(
    port: int, connections: int, size: int, duration: float, node: list[str] | None
) -> float:
    if node is not None:
        command = [*node, str(port), str(connections), str(size), str(duration)]
    else:
        command = [sys.executable, __file__, "--client", str(port), "--connections",
                   str(connections), "--size", str(size), "--duration", str(duration)]  # fmt: skip
    env = {**os.environ, "NODE_PATH": str(NODE_PREFIX / "node_modules")}
    out = subprocess.run(
        ["taskset", "-c", "1", *command], capture_output=True, text=True, check=True, env=env
    ).stdout
    return float(out.strip().splitlines()[-1])


def main() -> None:
    args = common.parse_args(
        __doc__,
        8766,
        ("--connections", 16, None),
        ("--size", 64, None),
        ("--client", None, argparse.SUPPRESS),
        ("--python-client", False, "the websockets library's client instead of Node's ws"),
    )
    if args.client:
        print(asyncio.run(client(args.client, args.connections, args.size, args.duration)))
        return
    node = None if args.python_client else node_client()
    chosen = [s for s in servers(args.port) if args.only in s.name]
    for round_number in range(1, args.rounds + 1):
        for server in chosen:
            with common.running(server, args.port) as proc:
                run_client(args.port, args.connections, args.size, 1, node)  # warm-up
                rate, cpu = common.cpu_during(
                    proc.pid,
                    lambda: run_client(args.port, args.connections, args.size, args.duration, node),
                )
            server.rps.append(rate)
            server.rps_per_cpu.append(common.per_cpu_second(rate, args.duration, cpu))
            print(f"round {round_number}: {server.name:26} {rate:9.0f} echoes/s", file=sys.stderr)
    title = (
        f"WebSocket echo, {args.connections} connections, {args.size}-byte messages, "
        f"{args.duration:g}s x {args.rounds} rounds (median); server CPU 0, client CPU 1"
    )
    common.print_table(
        title,
        f"{'server':30} {'echoes/s':>9} {'echoes/CPU-s':>13}",
        (
            f"{server.name:30} {statistics.median(server.rps):9.0f} "
            f"{statistics.median(server.rps_per_cpu):13.0f}"
            for server in chosen
        ),
    )
    common.print_ratios(
        {s.name: statistics.median(s.rps) for s in chosen},
        (
            ("asgi-core uvloop", "uvicorn websockets (uvloop)"),
            ("asgi-core asyncio", "uvicorn websockets (asyncio)"),
            ("asgi-core asyncio", "uvicorn wsproto (asyncio)"),
            ("asgi-core asyncio", "hypercorn (asyncio)"),
            ("asgi-core uvloop", "granian (uvloop)"),
        ),
        "echoes/s ratios (medians):",
    )
    samples = {
        f"echo {args.size} B": {
            s.name: {"echoes": s.rps, "echoes_per_cpu": s.rps_per_cpu} for s in chosen
        }
    }
    units = {"echoes": "echoes/s", "echoes_per_cpu": "echoes per server-CPU-second"}
    common.write_json(args.json, "websocket", title, args, samples, "echoes", units)


if __name__ == "__main__":
    main()
