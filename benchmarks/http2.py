"""HTTP/2 benchmark: asgi-core beside hypercorn (and granian when installed), with h2load.

Cleartext HTTP/2 with prior knowledge (h2c), the same app (benchmarks/hello.py) for all.
Servers run pinned to CPU 0, h2load to CPU 1, in interleaved rounds. Printed per server:
requests/s, requests per server-CPU-second, and failed/errored requests. Run by hand (needs
h2load from nghttp2-client, and `pip install -e '.[bench]'`; granian is optional):

    python benchmarks/http2.py [--duration 10] [--rounds 3] [--clients 16] [--streams 10]
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass, field

from http11 import (  # type: ignore[import-not-found]
    CLIENT_CPU,
    SERVER_CPU,
    Server,
    _importable,
    cpu_seconds,
    start,
    stop,
)


@dataclass
class Result:
    rps: list[float] = field(default_factory=list)
    rps_per_cpu: list[float] = field(default_factory=list)
    errors: int = 0


def servers(port: int) -> list[Server]:
    py = sys.executable
    app = "hello:app"
    quiet = ["--no-access-log", "--log-level", "warning"]
    found = [
        Server(
            name,
            [
                py,
                "-m",
                "asgi_core",
                app,
                "--port",
                str(port),
                *flags,
                "--keep-alive-timeout",
                "60",
                *quiet,
            ],
        )
        for name, flags in (
            ("asgi-core (asyncio)", ["--backend", "asyncio", "--loop", "asyncio"]),
            ("asgi-core (uvloop)", ["--backend", "asyncio", "--loop", "uvloop"]),
            ("asgi-core trio", ["--backend", "trio"]),
            ("asgi-core anyio (asyncio)", ["--backend", "anyio", "--loop", "asyncio"]),
        )
    ]
    if _importable("hypercorn"):
        for worker in ("asyncio", "uvloop", "trio"):
            found.append(
                Server(
                    f"hypercorn ({worker})",
                    [py, "-m", "hypercorn", app, "--bind", f"127.0.0.1:{port}",
                     "--worker-class", worker, "--workers", "1", "--keep-alive", "60",
                     "--config", "hypercorn.toml", "--log-level", "warning"],
                )
            )  # fmt: skip
    if _importable("granian"):
        found.append(
            Server(
                "granian (asgi, http 2)",
                [py, "-m", "granian", "--interface", "asgi", "--http", "2", "--host",
                 "127.0.0.1", "--port", str(port), "--workers", "1", "--no-ws",
                 "--log-level", "warning", app],
            )
        )  # fmt: skip
    return found


def run_h2load(port: int, duration: float, clients: int, streams: int) -> tuple[float, int]:
    out = subprocess.run(
        ["taskset", "-c", CLIENT_CPU, "h2load", "-D", f"{duration:g}", "-c", str(clients),
         "-m", str(streams), "-t", "1", f"http://127.0.0.1:{port}/"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rps = float(re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out).group(1))  # type: ignore[union-attr]
    summary = re.search(r"(\d+) failed, (\d+) errored", out)
    assert summary, out
    return rps, int(summary.group(1)) + int(summary.group(2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--streams", type=int, default=10, help="concurrent streams per client")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--only", default="", help="run servers whose name contains this")
    args = parser.parse_args()
    for tool in ("h2load", "taskset"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is needed (Debian: apt-get install nghttp2-client util-linux)")
    chosen = [s for s in servers(args.port) if args.only in s.name]
    results = {s.name: Result() for s in chosen}
    for round_number in range(1, args.rounds + 1):
        for server in chosen:
            proc = start(server, args.port)
            result = results[server.name]
            try:
                run_h2load(args.port, 2, args.clients, args.streams)  # warm-up
                cpu_before = cpu_seconds(proc.pid)
                rps, errors = run_h2load(args.port, args.duration, args.clients, args.streams)
                cpu = cpu_seconds(proc.pid) - cpu_before
            finally:
                stop(proc)
            result.rps.append(rps)
            result.rps_per_cpu.append(rps * args.duration / cpu if cpu else float("nan"))
            result.errors += errors
            print(f"round {round_number}: {server.name:26} {rps:9.0f} req/s  errors {errors}",
                  file=sys.stderr)  # fmt: skip
    print()
    print(
        f"HTTP/2 (h2c prior knowledge) hello world, h2load {args.clients} clients x "
        f"{args.streams} streams, {args.duration:g}s x {args.rounds} rounds (median); "
        f"server on CPU {SERVER_CPU}, h2load on CPU {CLIENT_CPU}"
    )
    header = f"{'server':28} {'req/s':>9} {'req/CPU-s':>10} {'failed+errored':>15}"
    print(header)
    print("-" * len(header))
    for name, result in results.items():
        print(
            f"{name:28} {statistics.median(result.rps):9.0f} "
            f"{statistics.median(result.rps_per_cpu):10.0f} {result.errors:15d}"
        )
    base = {name: statistics.median(r.rps) for name, r in results.items()}
    for ours, peer in (
        ("asgi-core (asyncio)", "hypercorn (asyncio)"),
        ("asgi-core (uvloop)", "hypercorn (uvloop)"),
        ("asgi-core trio", "hypercorn (trio)"),
        ("asgi-core (uvloop)", "granian (asgi, http 2)"),
    ):
        if ours in base and base.get(peer):
            print(f"{ours} / {peer}: {base[ours] / base[peer]:.2f}x")


if __name__ == "__main__":
    main()
