"""HTTP/2 benchmark: asgi-core beside hypercorn and granian (on uvloop, when installed), h2load.

Cleartext HTTP/2 with prior knowledge (h2c), the same app (benchmarks/hello.py) for all.
Servers run pinned to CPU 0, h2load to CPU 1, in interleaved rounds. Printed per server:
requests/s, requests per server-CPU-second, and failed/errored requests, then the ratios of
asgi-core to each peer. uvicorn has no HTTP/2. ``--json FILE`` writes every round's figures
(benchmarks/plot.py charts them). Run by hand (needs h2load from nghttp2-client, and
`pip install -e '.[bench]'`; granian is optional):

    python benchmarks/http2.py [--duration 10] [--rounds 3] [--clients 16] [--streams 10]
                               [--only NAME] [--json FILE]
"""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass, field

import common  # type: ignore[import-not-found]


@dataclass
class Result:
    rps: list[float] = field(default_factory=list)
    rps_per_cpu: list[float] = field(default_factory=list)
    errors: int = 0


def servers(port: int) -> list[common.Server]:
    py = sys.executable
    app = "hello:app"
    quiet = ["--no-access-log", "--log-level", "warning"]
    found = [
        common.Server(
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
            ("asgi-core asyncio", ["--backend", "asyncio", "--loop", "asyncio"]),
            ("asgi-core uvloop", ["--backend", "asyncio", "--loop", "uvloop"]),
            ("asgi-core trio", ["--backend", "trio"]),
            ("asgi-core anyio-asyncio", ["--backend", "anyio", "--loop", "asyncio"]),
        )
    ]
    if common.importable("hypercorn"):
        for worker in ("asyncio", "uvloop", "trio"):
            found.append(
                common.Server(
                    f"hypercorn ({worker})",
                    [py, "-m", "hypercorn", app, "--bind", f"127.0.0.1:{port}",
                     "--worker-class", worker, "--workers", "1", "--keep-alive", "60",
                     "--config", "hypercorn.toml", "--log-level", "warning"],
                )
            )  # fmt: skip
    if common.importable("granian"):
        found.append(
            common.Server(
                "granian (uvloop)",
                [py, "-m", "granian", "--interface", "asgi", "--loop", "uvloop", "--http", "2",
                 "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--no-ws",
                 "--log-level", "warning", "--no-access-log", app],
            )
        )  # fmt: skip
    return found


def run_h2load(port: int, duration: float, clients: int, streams: int) -> tuple[float, int]:
    out = subprocess.run(
        ["taskset", "-c", common.CLIENT_CPU, "h2load", "-D", f"{duration:g}",
         "-c", str(clients), "-m", str(streams), "-t", "1", f"http://127.0.0.1:{port}/"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rps = float(re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out).group(1))  # type: ignore[union-attr]
    summary = re.search(r"(\d+) failed, (\d+) errored", out)
    assert summary, out
    return rps, int(summary.group(1)) + int(summary.group(2))


def main() -> None:
    args = common.parse_args(
        __doc__, 8766, ("--clients", 16, None), ("--streams", 10, "concurrent streams per client")
    )
    for tool in ("h2load", "taskset"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is needed (Debian: apt-get install nghttp2-client util-linux)")
    chosen = [s for s in servers(args.port) if args.only in s.name]
    results = {s.name: Result() for s in chosen}
    for round_number in range(1, args.rounds + 1):
        for server in chosen:
            result = results[server.name]
            with common.running(server, args.port) as proc:
                run_h2load(args.port, 2, args.clients, args.streams)  # warm-up
                (rps, errors), cpu = common.cpu_during(
                    proc.pid,
                    lambda: run_h2load(args.port, args.duration, args.clients, args.streams),
                )
            result.rps.append(rps)
            result.rps_per_cpu.append(common.per_cpu_second(rps, args.duration, cpu))
            result.errors += errors
            print(f"round {round_number}: {server.name:26} {rps:9.0f} req/s  errors {errors}",
                  file=sys.stderr)  # fmt: skip
    title = (
        f"HTTP/2 (h2c prior knowledge) hello world, h2load {args.clients} clients x "
        f"{args.streams} streams, {args.duration:g}s x {args.rounds} rounds (median); "
        f"server on CPU {common.SERVER_CPU}, h2load on CPU {common.CLIENT_CPU}"
    )
    common.print_table(
        title,
        f"{'server':28} {'req/s':>9} {'req/CPU-s':>10} {'failed+errored':>15}",
        (
            f"{name:28} {statistics.median(result.rps):9.0f} "
            f"{statistics.median(result.rps_per_cpu):10.0f} {result.errors:15d}"
            for name, result in results.items()
        ),
    )
    common.print_ratios(
        {name: statistics.median(r.rps) for name, r in results.items()},
        (
            ("asgi-core asyncio", "hypercorn (asyncio)"),
            ("asgi-core uvloop", "hypercorn (uvloop)"),
            ("asgi-core trio", "hypercorn (trio)"),
            ("asgi-core uvloop", "granian (uvloop)"),
        ),
        "req/s ratios (medians):",
    )
    samples = {
        "hello": {
            name: {"rps": r.rps, "rps_per_cpu": r.rps_per_cpu, "errors": [r.errors]}
            for name, r in results.items()
        }
    }
    units = {"rps": "requests/s", "rps_per_cpu": "requests per server-CPU-second",
             "errors": "failed or errored requests, all rounds"}  # fmt: skip
    common.write_json(args.json, "http2", title, args, samples, "rps", units)


if __name__ == "__main__":
    main()
