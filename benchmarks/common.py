"""What the benchmark scripts share: the command line, the server processes and /proc readings.

Servers run pinned to ``SERVER_CPU`` with benchmarks/ as their working directory (so that
``hello:app`` and ``ws_echo:app`` import), the load generators to ``CLIENT_CPU``.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

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


def parse_args(doc: str, port: int, *options: tuple[str, int | None, str | None]) -> Any:
    """--duration and --rounds, then each of ``options`` (an int: its flag, default and help),
    then --port (defaulting to ``port``) and --only; the description is ``doc``'s first line."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    for flag, default, help_text in options:
        parser.add_argument(flag, type=int, default=default, help=help_text)
    parser.add_argument("--port", type=int, default=port)
    parser.add_argument("--only", default="", help="run servers whose name contains this")
    return parser.parse_args()


def importable(module: str) -> bool:
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


def stop(proc: subprocess.Popen[Any]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def running(server: Server, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """``server`` started (and ready on ``port``) for the block, stopped after it."""
    proc = start(server, port)
    try:
        yield proc
    finally:
        stop(proc)


def cpu_during(pid: int, load: Callable[[], T]) -> tuple[T, float]:
    """What ``load()`` returns, and the CPU seconds ``pid``'s process tree spent meanwhile."""
    before = cpu_seconds(pid)
    result = load()
    return result, cpu_seconds(pid) - before


def per_cpu_second(rate: float, duration: float, cpu: float) -> float:
    """``rate`` (per second of ``duration``) as a count per second of server CPU time."""
    return rate * duration / cpu if cpu else float("nan")


def print_table(title: str, header: str, rows: Iterable[str]) -> None:
    """The summary on stdout: a blank line, the title, the header over a rule, then the rows."""
    print()
    print(title)
    print(header)
    print("-" * len(header))
    for row in rows:
        print(row)


def print_ratios(rates: dict[str, float], pairs: Iterable[tuple[str, str]]) -> None:
    """``ours / peer: N.NNx`` for each pair of servers that both ran (and the peer served)."""
    for ours, peer in pairs:
        if ours in rates and rates.get(peer):
            print(f"{ours} / {peer}: {rates[ours] / rates[peer]:.2f}x")


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
    """Resident memory of ``pid`` and its descendants."""
    total = 0
    for member in process_tree(pid):
        for line in Path(f"/proc/{member}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total
