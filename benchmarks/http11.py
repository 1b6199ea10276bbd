"""HTTP/1.1 benchmark: asgi-core beside uvicorn (h11; httptools on uvloop), granian, hypercorn.

Each server runs the same app (benchmarks/bench_app.py) pinned to CPU 0; wrk runs pinned to
CPU 1. Servers are measured in interleaved rounds so that drift of the machine hits all alike;
in each round a server is started once and serves every scenario in turn (a warm-up of up to
2 s, then the measured run): hello (GET /, 13 bytes), POST 1 KiB echo (the body read whole and
sent back) and 64 KiB response (GET /64k). Printed per scenario and server, medians of the
rounds: requests/s, requests per server-CPU-second and wrk's p99 latency; for hello also the
memory per idle keep-alive connection. Then the ratios of asgi-core to the peer it is compared
with. ``--json FILE`` writes every round's figures (benchmarks/plot.py charts them). Run by hand
(needs wrk, and `pip install -e '.[bench]'`):

    python benchmarks/http11.py [--duration 10] [--rounds 3] [--connections 64] [--idle 2000]
                                [--scenarios hello,post,64k] [--only NAME] [--json FILE]
"""

from __future__ import annotations

import functools
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

import common  # type: ignore[import-not-found]

APP = "bench_app:app"
# name: (path, extra wrk arguments, short name for --scenarios)
SCENARIOS = {
    "hello": ("/", [], "hello"),
    "POST 1 KiB echo": ("/echo", ["-s", str(common.HERE / "wrk" / "post_1k.lua")], "post"),
    "64 KiB response": ("/64k", [], "64k"),
}
IDLE = "idle keep-alive connection"
RATIOS = (
    ("asgi-core uvloop httptools", "uvicorn httptools (uvloop)"),
    ("asgi-core asyncio h11", "uvicorn h11 (asyncio)"),
    ("asgi-core uvloop h11", "uvicorn h11 (uvloop)"),
    ("asgi-core asyncio h11", "hypercorn (asyncio)"),
    ("asgi-core asyncio httptools", "hypercorn (asyncio)"),
    ("asgi-core trio h11", "hypercorn (trio)"),
    ("asgi-core trio httptools", "hypercorn (trio)"),
    ("asgi-core uvloop httptools", "granian (uvloop)"),
)


def servers(port: int) -> list[common.Server]:
    py = sys.executable
    keep_alive = "60"  # longer than the run, for every server alike
    quiet = ["--no-access-log", "--log-level", "warning"]
    variants = [
        ("asyncio", ["--backend", "asyncio", "--loop", "asyncio"], ("h11", "httptools")),
        ("uvloop", ["--backend", "asyncio", "--loop", "uvloop"], ("h11", "httptools")),
        ("trio", ["--backend", "trio"], ("h11", "httptools")),
        ("anyio-asyncio", ["--backend", "anyio", "--loop", "asyncio"], ("httptools",)),
        ("anyio-trio", ["--backend", "anyio", "--loop", "trio"], ("httptools",)),
    ]
    commands = {
        f"asgi-core {name} {parser}": [
            py, "-m", "asgi_core", APP, "--port", str(port), *flags, "--http", parser,
            "--keep-alive-timeout", keep_alive, *quiet,
        ]
        for name, flags, parsers in variants
        for parser in parsers
        if parser != "httptools" or common.importable("httptools")
    }  # fmt: skip
    if common.importable("uvicorn"):
        for http, loop in (("h11", "asyncio"), ("h11", "uvloop"), ("httptools", "uvloop")):
            commands[f"uvicorn {http} ({loop})"] = [
                py, "-m", "uvicorn", APP, "--port", str(port), "--http", http, "--loop", loop,
                "--timeout-keep-alive", keep_alive, *quiet,
            ]  # fmt: skip
    if common.importable("granian"):
        commands["granian (uvloop)"] = [
            py, "-m", "granian", "--interface", "asgi", "--loop", "uvloop", "--http", "1",
            "--workers", "1", "--no-ws", "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "warning", "--no-access-log", APP,
        ]  # fmt: skip
    if common.importable("hypercorn"):
        for worker in ("asyncio", "trio"):
            commands[f"hypercorn ({worker})"] = [
                py, "-m", "hypercorn", APP, "--bind", f"127.0.0.1:{port}", "--worker-class",
                worker, "--workers", "1", "--keep-alive", keep_alive, "--log-level", "warning",
            ]  # fmt: skip
    return [common.Server(name, command) for name, command in commands.items()]


def run_wrk(
    port: int, duration: float, connections: int, path: str = "/", extra: list[str] | None = None
) -> tuple[float, float]:
    out = subprocess.run(
        ["taskset", "-c", common.CLIENT_CPU, "wrk", "-t1", f"-c{connections}",
         f"-d{duration:g}s", "--latency", *(extra or []), f"http://127.0.0.1:{port}{path}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    if "Non-2xx" in out or "Socket errors" in out:
        print(f"    wrk reported errors:\n{out}", file=sys.stderr)
    match = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    assert match, out
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
    return rps, float(match.group(1)) * scale


def idle_memory(pid: int, port: int, count: int) -> float:
    """KiB of server memory per idle keep-alive connection (each served one request first)."""
    request = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
    warm = [socket.create_connection(("127.0.0.1", port)) for _ in range(50)]
    for sock in warm:
        sock.sendall(request)
        sock.recv(4096)
    time.sleep(0.5)
    before = common.rss_kib(pid)
    socks = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(request)
        socks.append(sock)
    for sock in socks:
        sock.recv(4096)
    time.sleep(1.0)
    after = common.rss_kib(pid)
    for sock in socks + warm:
        sock.close()
    return (after - before) / count


def measure(
    server: common.Server, args: Any, scenarios: list[str], samples: common.Samples
) -> None:
    """One round of ``server``: each scenario, then the idle-connection memory."""
    port, duration, connections = args.port, args.duration, args.connections
    with common.running(server, port) as proc:
        for scenario in scenarios:
            path, extra, _ = SCENARIOS[scenario]
            run_wrk(port, min(2.0, duration), connections, path, extra)  # warm-up
            load = functools.partial(run_wrk, port, duration, connections, path, extra)
            (rps, p99), cpu = common.cpu_during(proc.pid, load)
            per_cpu = common.per_cpu_second(rps, duration, cpu)
            common.record(samples, scenario, server.name, rps=rps, rps_per_cpu=per_cpu, p99_ms=p99)
            print(f"  {server.name:34} {scenario:16} {rps:9.0f} req/s  p99 {p99:7.2f} ms",
                  file=sys.stderr)  # fmt: skip
        if args.idle:
            kib = idle_memory(proc.pid, port, args.idle)
            common.record(samples, IDLE, server.name, kib=kib)
            print(f"  {server.name:34} idle {kib:5.1f} KiB/conn", file=sys.stderr)


def report(args: Any, scenarios: list[str], samples: common.Samples) -> str:
    """The tables and ratios on stdout; returns the run's title."""
    title = (
        f"HTTP/1.1, {args.connections} connections, {args.duration:g}s x {args.rounds} rounds "
        f"(median); server on CPU {common.SERVER_CPU}, wrk on CPU {common.CLIENT_CPU}"
    )
    idle = samples.get(IDLE, {})
    for scenario in scenarios:
        rows = samples.get(scenario, {})
        with_idle = scenario == "hello" and all(name in idle for name in rows)
        header = f"{'server':34} {'req/s':>9} {'req/CPU-s':>10} {'p99 ms':>8}"
        common.print_table(
            f"{scenario}: {title}",
            header + (f" {'KiB/idle conn':>14}" if with_idle else ""),
            (
                f"{name:34} {statistics.median(m['rps']):9.0f} "
                f"{statistics.median(m['rps_per_cpu']):10.0f} "
                f"{statistics.median(m['p99_ms']):8.2f}"
                + (f" {statistics.median(idle[name]['kib']):14.1f}" if with_idle else "")
                for name, m in rows.items()
            ),
        )
        common.print_ratios(
            {name: statistics.median(m["rps"]) for name, m in rows.items()},
            RATIOS,
            f"{scenario}, req/s ratios (medians):",
        )
    return title


def main() -> None:
    args = common.parse_args(
        __doc__,
        8765,
        ("--connections", 64, None),
        ("--idle", 2000, "idle keep-alive connections for the memory figure (0: skip)"),
        ("--scenarios", "hello,post,64k", "comma-separated: hello, post, 64k"),
    )
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is needed (Debian: apt-get install wrk util-linux)")
    common.raise_nofile()
    wanted = args.scenarios.split(",")
    scenarios = [name for name, (_, _, short) in SCENARIOS.items() if short in wanted]
    chosen = [s for s in servers(args.port) if args.only in s.name]
    samples: common.Samples = {}
    for round_number in range(1, args.rounds + 1):
        print(f"round {round_number}:", file=sys.stderr)
        for server in chosen:
            measure(server, args, scenarios, samples)
    title = report(args, scenarios, samples)
    units = {"rps": "requests/s", "rps_per_cpu": "requests per server-CPU-second",
             "p99_ms": "p99 latency, ms", "kib": "KiB per idle connection"}  # fmt: skip
    common.write_json(args.json, "http11", title, args, samples, "rps", units)


if __name__ == "__main__":
    main()
