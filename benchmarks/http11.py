"""HTTP/1.1 benchmark: asgi-core beside uvicorn (--http h11) and hypercorn, in one run.

Each server runs the same app (benchmarks/hello.py) pinned to CPU 0; wrk runs pinned to CPU 1.
Servers are measured in interleaved rounds so that drift of the machine hits all alike. Printed
per server: requests/s, requests per server-CPU-second, p99 latency, and memory per idle
keep-alive connection. Run by hand (needs wrk, and `pip install -e '.[bench]'`):

    python benchmarks/http11.py [--duration 10] [--rounds 3] [--connections 64] [--idle 2000]
"""

from __future__ import annotations

import re
import shutil
import socket
import statistics
import subprocess
import sys
import time

import common  # type: ignore[import-not-found]


def servers(port: int) -> list[common.Server]:
    py = sys.executable
    app = "hello:app"
    keep_alive = "60"  # longer than the run, for every server alike
    quiet = ["--no-access-log", "--log-level", "warning"]
    commands = {
        name: [py, "-m", "asgi_core", app, "--port", str(port), *flags,
               "--keep-alive-timeout", keep_alive, *quiet]
        for name, flags in (
            ("asgi-core (asyncio)", ["--backend", "asyncio", "--loop", "asyncio"]),
            ("asgi-core (uvloop)", ["--backend", "asyncio", "--loop", "uvloop"]),
            ("asgi-core trio", ["--backend", "trio"]),
            ("asgi-core anyio (asyncio)", ["--backend", "anyio", "--loop", "asyncio"]),
            ("asgi-core anyio (trio)", ["--backend", "anyio", "--loop", "trio"]),
        )
    }  # fmt: skip
    if common.importable("uvicorn"):
        for loop in ("asyncio", "uvloop"):
            commands[f"uvicorn h11 ({loop})"] = [
                py, "-m", "uvicorn", app, "--port", str(port), "--http", "h11", "--loop", loop,
                "--timeout-keep-alive", keep_alive, *quiet,
            ]  # fmt: skip
    if common.importable("hypercorn"):
        for worker in ("asyncio", "trio"):
            commands[f"hypercorn ({worker})"] = [
                py, "-m", "hypercorn", app, "--bind", f"127.0.0.1:{port}", "--worker-class",
                worker, "--workers", "1", "--keep-alive", keep_alive, "--log-level", "warning",
            ]  # fmt: skip
    return [common.Server(name, command) for name, command in commands.items()]


def run_wrk(port: int, duration: float, connections: int) -> tuple[float, float]:
    out = subprocess.run(
        [
            "taskset",
            "-c",
            common.CLIENT_CPU,
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{duration:g}s",
            "--latency",
            f"http://127.0.0.1:{port}/",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
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


def main() -> None:
    args = common.parse_args(__doc__, 8765, ("--connections", 64, None), ("--idle", 2000, None))
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is needed (Debian: apt-get install wrk util-linux)")
    import resource

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    chosen = [s for s in servers(args.port) if args.only in s.name]
    for round_number in range(1, args.rounds + 1):
        for server in chosen:
            with common.running(server, args.port) as proc:
                run_wrk(args.port, 2, args.connections)  # warm-up
                (rps, p99), cpu = common.cpu_during(
                    proc.pid, lambda: run_wrk(args.port, args.duration, args.connections)
                )
                server.rps.append(rps)
                server.rps_per_cpu.append(common.per_cpu_second(rps, args.duration, cpu))
                server.p99_ms.append(p99)
                server.idle_kib.append(idle_memory(proc.pid, args.port, args.idle))
            print(
                f"round {round_number}: {server.name:24} {rps:9.0f} req/s  p99 {p99:6.2f} ms  "
                f"idle {server.idle_kib[-1]:5.1f} KiB/conn",
                file=sys.stderr,
            )
    common.print_table(
        f"HTTP/1.1 hello world, {args.connections} connections, {args.duration:g}s x "
        f"{args.rounds} rounds (median); server on CPU {common.SERVER_CPU}, "
        f"wrk on CPU {common.CLIENT_CPU}",
        f"{'server':26} {'req/s':>9} {'req/CPU-s':>10} {'p99 ms':>8} {'KiB/idle conn':>14}",
        (
            f"{server.name:24} {statistics.median(server.rps):9.0f} "
            f"{statistics.median(server.rps_per_cpu):10.0f} "
            f"{statistics.median(server.p99_ms):8.2f} {statistics.median(server.idle_kib):14.1f}"
            for server in chosen
        ),
    )
    common.print_ratios(
        {s.name: statistics.median(s.rps) for s in chosen},
        (
            ("asgi-core (asyncio)", "uvicorn h11 (asyncio)"),
            ("asgi-core (asyncio)", "hypercorn (asyncio)"),
            ("asgi-core (uvloop)", "uvicorn h11 (uvloop)"),
            ("asgi-core trio", "hypercorn (trio)"),
            ("asgi-core anyio (trio)", "hypercorn (trio)"),
        ),
    )


if __name__ == "__main__":
    main()
