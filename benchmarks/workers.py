"""Workers benchmark: HTTP/1.1 hello on one process, on --workers 2, and on uvicorn --workers 2.

Printed per server: requests per second (h2load --h1, 50 connections, one thread), errors, and
the resident memory of the whole tree and of the parent alone (the supervisor's own cost). The
servers are not pinned (two workers need two CPUs): on a small machine the load generator
competes with them, so compare the rows with each other, not with other machines.
Needs h2load (nghttp2-client) and uvicorn (`pip install -e '.[bench]'`).
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import common

HELLO = "hello:app"


def servers(port: int) -> dict[str, list[str]]:
    ours = [sys.executable, "-m", "asgi_core", HELLO, "--port", str(port), "--no-access-log",
            "--log-level", "warning", "--lifespan", "off"]  # fmt: skip
    found = {"asgi-core, 1 process": ours, "asgi-core --workers 2": [*ours, "--workers", "2"]}
    if common.importable("uvicorn"):
        found["uvicorn --workers 2"] = [sys.executable, "-m", "uvicorn", HELLO, "--port",
                                        str(port), "--workers", "2", "--no-access-log",
                                        "--log-level", "warning", "--lifespan", "off"]  # fmt: skip
    return found


def wait_for(port: int, workers: int) -> None:
    """Until the port answers and (for several workers) every worker has had time to boot."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            time.sleep(1.0 if workers > 1 else 0.2)
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start")


def h2load(port: int, duration: float) -> tuple[float, int]:
    out = subprocess.run(
        ["h2load", "--h1", "-D", f"{duration:g}", "-c", "50", "-t", "1",
         f"http://127.0.0.1:{port}/"], capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rate = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out)
    summary = re.search(r"(\d+) failed, (\d+) errored", out)
    assert rate and summary, out
    return float(rate.group(1)), int(summary.group(1)) + int(summary.group(2))


def main() -> None:
    args = common.parse_args(__doc__, 8767)
    if shutil.which("h2load") is None:
        sys.exit("h2load is needed (Debian: apt-get install nghttp2-client)")
    rows = []
    for name, command in servers(args.port).items():
        if args.only not in name:
            continue
        proc = subprocess.Popen(command, cwd=common.HERE, stderr=subprocess.DEVNULL)
        try:
            wait_for(args.port, 2 if "workers" in name else 1)
            rates = [h2load(args.port, args.duration) for _ in range(args.rounds)]
            total, parent = common.rss_kib(proc.pid), _own_rss_kib(proc.pid)
        finally:
            common.stop(proc)
        best = max(rate for rate, _ in rates)
        errors = sum(error for _, error in rates)
        rows.append(f"{name:<24} {best:>10.0f} {errors:>7} {total / 1024:>9.1f} "
                    f"{parent / 1024:>10.1f}")  # fmt: skip
    common.print_table("HTTP/1.1 hello, best of the rounds",
                       f"{'server':<24} {'req/s':>10} {'errors':>7} {'tree MiB':>9} "
                       f"{'parent MiB':>10}", rows)  # fmt: skip


def _own_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


if __name__ == "__main__":
    main()
