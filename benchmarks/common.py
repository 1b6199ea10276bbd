"""What the benchmark scripts share: the command line, the server processes, /proc readings
and the raw samples written by ``--json`` (read by benchmarks/plot.py).

Servers run pinned to ``SERVER_CPU`` with benchmarks/ as their working directory (so that
``hello:app`` and ``ws_echo:app`` import), the load generators to ``CLIENT_CPU``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
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


def parse_args(
    doc: str, port: int, *options: tuple[str, int | str | None, str | None], duration: float = 10
) -> Any:
    """--duration and --rounds, then each of ``options`` (its flag, default and help; a switch
    if the default is a bool, a string if it is one, else an int),
    then --port (defaulting to ``port``), --only and --json; the description is ``doc``'s first
    line."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--duration", type=float, default=duration)
    parser.add_argument("--rounds", type=int, default=3)
    for flag, default, help_text in options:
        if isinstance(default, bool):
            parser.add_argument(flag, action="store_true", help=help_text)
            continue
        kind = str if isinstance(default, str) else int
        parser.add_argument(flag, type=kind, default=default, help=help_text)
    parser.add_argument("--port", type=int, default=port)
    parser.add_argument("--only", default="", help="run servers whose name contains this")
    parser.add_argument(
        "--json", metavar="FILE", help="write every round's figures here (for plot.py)"
    )
    return parser.parse_args()


Samples = dict[str, dict[str, dict[str, list[float]]]]
"""Raw figures: scenario -> server -> metric -> one value per round (or per sample)."""


def record(samples: Samples, scenario: str, server: str, **figures: float) -> None:
    """Append each of ``figures`` (metric=value) to ``samples[scenario][server][metric]``."""
    per_metric = samples.setdefault(scenario, {}).setdefault(server, {})
    for metric, value in figures.items():
        per_metric.setdefault(metric, []).append(value)


def versions(*distributions: str) -> dict[str, str]:
    """The installed version of each of ``distributions`` that is installed."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in distributions:
        with suppress(PackageNotFoundError):
            found[name] = version(name)
    return found


PEERS = ("asgi-core", "h11", "httptools", "uvloop", "trio", "anyio", "wsproto", "h2")
PEERS += ("uvicorn", "hypercorn", "granian", "websockets")


def write_json(
    path: str | None,
    benchmark: str,
    title: str,
    args: Any,
    samples: Samples | dict[str, Any],
    primary: str,
    units: dict[str, str],
    **extra: Any,
) -> None:
    """``samples`` and what they were measured with, as JSON in ``path`` (if given).

    ``primary`` is the metric plot.py charts by default; ``units`` names each metric's unit;
    ``extra`` is added to the document as it is (``x="t_s"``: plot.py draws lines against it).
    """
    if not path:
        return
    document = {
        "benchmark": benchmark,
        "title": title,
        "args": {k: v for k, v in vars(args).items() if k != "json"},
        "environment": {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "server_cpu": SERVER_CPU,
            "client_cpu": CLIENT_CPU,
            "versions": versions(*PEERS),
        },
        "primary": primary,
        "units": units,
        "samples": samples,
        **extra,
    }
    Path(path).write_text(json.dumps(document, indent=1) + "\n")
    print(f"raw samples written to {path}", file=sys.stderr)


def raise_nofile() -> int:
    """The soft limit on open files raised to the hard one (servers started after inherit it)."""
    import resource

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def importable(module: str) -> bool:
    return (
        subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True).returncode
        == 0
    )


def start(server: Server, port: int) -> subprocess.Popen[bytes]:
    """``server`` started and answering on ``port``. Its stderr goes to a temporary file, not a
    pipe: a server that logs every connection an abuser breaks would fill a pipe nobody reads
    and block on it."""
    with tempfile.TemporaryFile() as log:  # the child keeps its own descriptor to it
        proc = subprocess.Popen(
            ["taskset", "-c", SERVER_CPU, *server.command],
            cwd=HERE,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return proc
            except OSError as exc:
                if proc.poll() is not None:
                    log.seek(0)
                    error = log.read().decode(errors="replace")[-4000:]
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


def print_ratios(
    rates: dict[str, float], pairs: Iterable[tuple[str, str]], title: str | None = None
) -> None:
    """``ours / peer: N.NNx`` for each pair of servers that both ran (and the peer served),
    under ``title`` if given and any pair ran."""
    lines = [
        f"  {ours} / {peer}: {rates[ours] / rates[peer]:.2f}x"
        for ours, peer in pairs
        if ours in rates and rates.get(peer)
    ]
    if title and lines:
        print(title)
    for line in lines:
        print(line if title else line.strip())


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
