"""HTTP/1.1 benchmark: asgi-core beside uvicorn (--http h11) and hypercorn, in one run.

Each server runs the same app (benchmarks/hello.py) pinned to CPU 0; wrk runs pinned to CPU 1.
Servers are measured in interleaved rounds so that drift of the machine hits all alike. Printed
per server: requests/s, requests per server-CPU-second, p99 latency, and memory per idle
keep-alive connection. Run by hand (needs wrk, and `pip install -e '.[bench]'`):

    python benchmarks/http11.py [--duration 10] [--rounds 3] [--connections 64] [--idle 2000]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
SERVER_CPU = "0"
CLIENT_CPU = "1"


@dataclass
class Server:
    name: str
    command: list[str]
    rps: list[float] = field(default_factory=list)
    rps_per_cpu: list[float] = field(default_factory=list)
    p99_ms: list[float] = field(default_factory=list)
    idle_kib: list[float] = field(default_factory=list)


def servers(port: int) -> list[Server]:
    py = sys.executable
    app = "hello:app"
    keep_alive = "60"  # longer than the run, for every server alike
    quiet = ["--no-access-log", "--log-level", "warning"]
    found = []
    for name, flags in (
        ("asgi-core (asyncio)", ["--backend", "asyncio", "--loop", "asyncio"]),
        ("asgi-core (uvloop)", ["--backend", "asyncio", "--loop", "uvloop"]),
        ("asgi-core trio", ["--backend", "trio"]),
        ("asgi-core anyio (asyncio)", ["--backend", "anyio", "--loop", "asyncio"]),
        ("asgi-core anyio (trio)", ["--backend", "anyio", "--loop", "trio"]),
    ):
        found.append(
            Server(
                name,
                [py, "-m", "asgi_core", app, "--port", str(port), *flags,
                 "--keep-alive-timeout", keep_alive, *quiet],
            )
        )  # fmt: skip
    if _importable("uvicorn"):
        for loop in ("asyncio", "uvloop"):
            found.append(
                Server(
                    f"uvicorn h11 ({loop})",
                    [py, "-m", "uvicorn", app, "--port", str(port), "--http", "h11",
                     "--loop", loop, "--timeout-keep-alive", keep_alive, *quiet],
                )
            )  # fmt: skip
    if _importable("hypercorn"):
        for worker in ("asyncio", "trio"):
            found.append(
                Server(
                    f"hypercorn ({worker})",
                    [py, "-m", "hypercorn", app, "--bind", f"127.0.0.1:{port}",
                     "--worker-class", worker, "--workers", "1", "--keep-alive", keep_alive,
                     "--log-level", "warning"],
                )
            )  # fmt: skip
    return found


def _importable(module: str) -> bool:
    return (
        subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True).returncode
        == 0
    )


def start(server: Server, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        ["taskset", "-c", SERVER_CPU, *server.command],
        cwd=HERE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError as exc:
            if proc.poll() is not None:
                assert proc.stderr is not None
                error = proc.stderr.read().decode()
                raise RuntimeError(f"{server.name} exited: {error}") from exc
            time.sleep(0.05)
    raise RuntimeError(f"{server.name} did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (hypercorn serves from a child process)."""
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        for child in children:
            pids.extend(process_tree(int(child)))
    return pids


def cpu_seconds(pid: int) -> float:
    total = 0
    for member in process_tree(pid):
        fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    total = 0
    for member in process_tree(pid):
        for line in Path(f"/proc/{member}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def run_wrk(port: int, duration: float, connections: int) -> tuple[float, float]:
    out = subprocess.run(
        [
            "taskset",
            "-c",
            CLIENT_CPU,
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
    before = rss_kib(pid)
    socks = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(request)
        socks.append(sock)
    for sock in socks:
        sock.recv(4096)
    time.sleep(1.0)
    after = rss_kib(pid)
    for sock in socks + warm:
        sock.close()
    return (after - before) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--idle", type=int, default=2000)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--only", default="", help="run servers whose name contains this")
    args = parser.parse_args()
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is needed (Debian: apt-get install wrk util-linux)")
    import resource

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    chosen = [s for s in servers(args.port) if args.only in s.name]
    for round_number in range(1, args.rounds + 1):
        for server in chosen:
            proc = start(server, args.port)
            try:
                run_wrk(args.port, 2, args.connections)  # warm-up
                cpu_before = cpu_seconds(proc.pid)
                rps, p99 = run_wrk(args.port, args.duration, args.connections)
                cpu = cpu_seconds(proc.pid) - cpu_before
                server.rps.append(rps)
                server.rps_per_cpu.append(rps * args.duration / cpu if cpu else float("nan"))
                server.p99_ms.append(p99)
                server.idle_kib.append(idle_memory(proc.pid, args.port, args.idle))
            finally:
                stop(proc)
            print(
                f"round {round_number}: {server.name:24} {rps:9.0f} req/s  p99 {p99:6.2f} ms  "
                f"idle {server.idle_kib[-1]:5.1f} KiB/conn",
                file=sys.stderr,
            )
    print()
    print(
        f"HTTP/1.1 hello world, {args.connections} connections, {args.duration:g}s x "
        f"{args.rounds} rounds (median); server on CPU {SERVER_CPU}, wrk on CPU {CLIENT_CPU}"
    )
    header = f"{'server':26} {'req/s':>9} {'req/CPU-s':>10} {'p99 ms':>8} {'KiB/idle conn':>14}"
    print(header)
    print("-" * len(header))
    for server in chosen:
        print(
            f"{server.name:24} {statistics.median(server.rps):9.0f} "
            f"{statistics.median(server.rps_per_cpu):10.0f} "
            f"{statistics.median(server.p99_ms):8.2f} {statistics.median(server.idle_kib):14.1f}"
        )
    base = {s.name: statistics.median(s.rps) for s in chosen}
    for ours, peer in (
        ("asgi-core (asyncio)", "uvicorn h11 (asyncio)"),
        ("asgi-core (asyncio)", "hypercorn (asyncio)"),
        ("asgi-core (uvloop)", "uvicorn h11 (uvloop)"),
        ("asgi-core trio", "hypercorn (trio)"),
        ("asgi-core anyio (trio)", "hypercorn (trio)"),
    ):
        if ours in base and peer in base:
            print(f"{ours} / {peer}: {base[ours] / base[peer]:.2f}x")


if __name__ == "__main__":
    main()
