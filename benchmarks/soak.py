"""Soak: a million requests (--requests) with wrk against one asgi-core server, RSS every second.

The server (benchmarks/bench_app.py, pinned to CPU 0) is loaded by wrk (pinned to CPU 1) in
runs of 1 to 10 s, each sized from the rate so far, until the requests are made (wrk counts by
time, not by request: the total ends a little above --requests; each run opens its connections
anew). A thread reads the server's resident memory every --interval seconds. Printed: the RSS
before the load, after 10 % of the requests and at the end, the growth from the 10 % point to
the end (the target is within 5 %) and the peak; ``--json FILE`` writes every sample (time,
RSS, requests so far) for benchmarks/plot.py. Run by hand (needs wrk):

    python benchmarks/soak.py [--requests 1000000] [--connections 64] [--backend asyncio]
                              [--loop auto] [--http auto] [--path /] [--json FILE]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import threading
import time
from typing import Any

import common  # type: ignore[import-not-found]


def wrk(port: int, seconds: float, connections: int, path: str) -> tuple[int, int]:
    """Requests wrk completed in one run of ``seconds``, and its socket errors and non-2xx."""
    out = subprocess.run(
        ["taskset", "-c", common.CLIENT_CPU, "wrk", "-t1", f"-c{connections}",
         f"-d{seconds:.0f}s", f"http://127.0.0.1:{port}{path}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    done = re.search(r"(\d+) requests in", out)
    assert done, out
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return int(done.group(1)), errors + (int(non_2xx.group(1)) if non_2xx else 0)


class Sampler(threading.Thread):
    """RSS of ``pid`` every ``interval`` seconds, with the requests made so far."""

    def __init__(self, pid: int, interval: float) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.requests = 0
        self.figures: dict[str, list[float]] = {"t_s": [], "rss_kib": [], "requests": []}
        self.finished = threading.Event()
        self.started_at = time.monotonic()

    def sample(self) -> int:
        rss = common.rss_kib(self.pid)
        self.figures["t_s"].append(round(time.monotonic() - self.started_at, 3))
        self.figures["rss_kib"].append(rss)
        self.figures["requests"].append(self.requests)
        return rss

    def run(self) -> None:
        while not self.finished.wait(self.interval):
            self.sample()


def load(args: Any, sampler: Sampler) -> tuple[int, int]:
    """wrk runs until ``args.requests`` are made; the RSS at 10 % and the errors."""
    tenth = args.requests // 10
    rss_tenth = 0
    errors = 0
    rate = 0.0
    while sampler.requests < args.requests:
        target = tenth if sampler.requests < tenth else args.requests
        seconds = 1.0 if not rate else min(10.0, max(1.0, (target - sampler.requests) / rate))
        started = time.monotonic()
        done, failed = wrk(args.port, seconds, args.connections, args.path)
        rate = done / (time.monotonic() - started)
        sampler.requests += done
        errors += failed
        print(f"  {sampler.requests:10,} requests  {rate:8.0f} req/s  "
              f"RSS {common.rss_kib(sampler.pid):8,} KiB", file=sys.stderr)  # fmt: skip
        if not rss_tenth and sampler.requests >= tenth:
            rss_tenth = sampler.sample()
            print(f"RSS after 10 % ({sampler.requests:,} requests): {rss_tenth:,} KiB")
    return rss_tenth, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--backend", default="asyncio", choices=("asyncio", "trio", "anyio"))
    parser.add_argument("--loop", default="auto", help="asgi-core --loop (default: auto)")
    parser.add_argument("--http", default="auto", help="asgi-core --http (default: auto)")
    parser.add_argument("--path", default="/", help="/ (hello) or /64k")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between samples")
    parser.add_argument("--port", type=int, default=8768)
    parser.add_argument("--json", metavar="FILE", help="write every RSS sample here")
    args = parser.parse_args()
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is needed (Debian: apt-get install wrk util-linux)")
    name = f"asgi-core {args.backend} (loop {args.loop}, http {args.http})"
    server = common.Server(
        name,
        [sys.executable, "-m", "asgi_core", "bench_app:app", "--port", str(args.port),
         "--backend", args.backend, "--loop", args.loop, "--http", args.http,
         "--no-access-log", "--log-level", "warning"],
    )  # fmt: skip
    with common.running(server, args.port) as proc:
        sampler = Sampler(proc.pid, args.interval)
        rss_start = sampler.sample()
        sampler.start()
        rss_tenth, errors = load(args, sampler)
        sampler.finished.set()
        sampler.join()
        rss_end = sampler.sample()
    growth = (rss_end - rss_tenth) / rss_tenth * 100 if rss_tenth else float("nan")
    title = (
        f"soak: {name}, {sampler.requests:,} requests of {args.path}, {args.connections} "
        f"connections; server on CPU {common.SERVER_CPU}, wrk on CPU {common.CLIENT_CPU}"
    )
    print()
    print(title)
    print(f"RSS before the load: {rss_start:,} KiB")
    print(f"RSS after 10 %:      {rss_tenth:,} KiB")
    print(f"RSS at the end:      {rss_end:,} KiB ({growth:+.1f} % from 10 %; target within 5 %)")
    print(f"RSS peak:            {max(sampler.figures['rss_kib']):,.0f} KiB")
    print(f"socket errors and non-2xx responses: {errors}")
    units = {"rss_kib": "resident memory, KiB", "t_s": "seconds", "requests": "requests"}
    samples = {"soak": {name: sampler.figures}}
    common.write_json(args.json, "soak", title, args, samples, "rss_kib", units, x="t_s")


if __name__ == "__main__":
    main()
