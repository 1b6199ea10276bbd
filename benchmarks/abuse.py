"""Abuse benchmark (issue 13): a well-behaved client's latency while one abuser runs.

Each server (benchmarks/bench_app.py, pinned to CPU 0, with its default limits and timeouts:
what users run) is started afresh for each abuse. The good client (this process, pinned to CPU
1) asks for ``GET /`` on a new connection every 100 ms, each request timed out after
--timeout seconds, for --duration seconds: once with no abuse, then while each abuser runs (a
child process pinned to CPU 1 at nice 10, so that the good client wins that CPU; it has
--ramp seconds to set up before the good client starts). The abusers use raw sockets:

- slowloris: --connections connections each trickling a request head, a byte a second, that
  never ends (reopened when the server closes one);
- rudy: --connections connections each sending a POST head with Content-Length: 100000000 at
  once, then the body a byte a second;
- ws-ping-flood: --ws-connections WebSockets sending PING frames as fast as the server takes
  them, never reading a byte after the handshake (so the PONGs pile up);
- ws-fragments: --ws-connections WebSockets sending one text message in one-byte fragments, as
  fast as the server takes them, never finishing it;
- connect-flood: --flood connections (10,000, or fewer if ``ulimit -n`` is lower; the run says
  so) opened at once and held without a byte (reopened when the server closes one).

Printed per server and abuse: the good client's p50 and p99 latency (of the requests that were
answered; with 10 requests a second, p99 of a 5 s run is about its slowest request), the
requests that failed or timed out, and what the abuser saw (connections it opened, those the
server closed, bytes sent). ``--json FILE`` writes every latency. Run by hand
(`pip install -e '.[bench]'`):

    python benchmarks/abuse.py [--duration 5] [--rounds 3] [--connections 1000] [--flood 10000]
        [--abuses slowloris,rudy,ws-ping-flood,ws-fragments,connect-flood] [--only NAME]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import common  # type: ignore[import-not-found]

HOST = "127.0.0.1"
ABUSES = ("slowloris", "rudy", "ws-ping-flood", "ws-fragments", "connect-flood")
BASELINE = "none"
INTERVAL = 0.1  # the good client's request interval, seconds
WS_HANDSHAKE = (
    b"GET / HTTP/1.1\r\nHost: abuse\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)
MASK = b"\x00\x00\x00\x00"  # a client's frames must be masked; a zero key leaves them as they are
PING = b"\x89\x80" + MASK  # FIN, PING, masked, no payload
FIRST_FRAGMENT = b"\x01\x81" + MASK + b"a"  # no FIN, text, 1 byte
CONTINUATION = b"\x00\x81" + MASK + b"a"  # no FIN, continuation, 1 byte
RUDY_HEAD = (
    b"POST /echo HTTP/1.1\r\nHost: abuse\r\nContent-Type: application/octet-stream\r\n"
    b"Content-Length: 100000000\r\n\r\n"
)


# -- the abusers (run in a child process: ``abuse.py --abuser NAME``) ------------------------


@dataclass
class Stats:
    opened: int = 0  # connections made (and, for WebSockets, handshakes completed)
    closed: int = 0  # connections the server closed or reset
    failed: int = 0  # connects (or handshakes) that failed
    sent: int = 0  # bytes sent


def slowloris_bytes() -> Iterator[bytes]:
    head = b"GET / HTTP/1.1\r\nHost: abuse\r\n"
    for byte in itertools.chain(head, itertools.cycle(b"X-a: b\r\n")):
        yield bytes((byte,))


async def connect(port: int, stats: Stats) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), 10)
    except (OSError, asyncio.TimeoutError):
        stats.failed += 1
        await asyncio.sleep(1)
        raise
    stats.opened += 1
    return reader, writer


async def trickle(port: int, stats: Stats, prefix: bytes, source: str) -> None:
    """Forever: a connection, ``prefix`` at once, then a byte a second until the server closes."""
    await asyncio.sleep(random.random())  # spread the connections' bytes over the second
    while True:
        try:
            reader, writer = await connect(port, stats)
        except (OSError, asyncio.TimeoutError):
            continue
        body = slowloris_bytes() if source == "head" else (b"x" for _ in itertools.count())
        with contextlib.suppress(OSError):
            writer.write(prefix)
            stats.sent += len(prefix)
            for byte in body:
                writer.write(byte)
                stats.sent += 1
                try:  # a second's wait that notices the server closing (or answering)
                    if not await asyncio.wait_for(reader.read(65536), 1.0):
                        break
                except asyncio.TimeoutError:
                    pass
        stats.closed += 1
        writer.close()


async def websocket(port: int, stats: Stats) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await connect(port, stats)
    writer.write(WS_HANDSHAKE)
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError) as exc:
        stats.failed += 1
        writer.close()
        raise OSError("no handshake") from exc
    if not head.startswith(b"HTTP/1.1 101"):
        stats.failed += 1
        writer.close()
        await asyncio.sleep(1)
        raise OSError(head.split(b"\r\n")[0].decode())
    return reader, writer


async def ws_flood(port: int, stats: Stats, first: bytes, frame: bytes, read: bool) -> None:
    """Forever: a WebSocket, ``first`` then ``frame`` as fast as the server takes them (and,
    if ``read``, what the server sends read and dropped), until the server closes it."""
    chunk = frame * 1024
    while True:
        try:
            reader, writer = await websocket(port, stats)
        except (OSError, asyncio.TimeoutError):
            continue
        drain = asyncio.ensure_future(read_all(reader)) if read else None
        try:
            writer.write(first)
            while drain is None or not drain.done():
                writer.write(chunk)
                await writer.drain()
                stats.sent += len(chunk)
        except OSError:
            pass
        stats.closed += 1
        if drain:
            drain.cancel()
        writer.close()


async def read_all(reader: asyncio.StreamReader) -> None:
    with contextlib.suppress(OSError):
        while await reader.read(65536):
            pass


async def hold(port: int, stats: Stats) -> None:
    """Forever: a connection that sends nothing, held until the server closes it."""
    while True:
        try:
            reader, writer = await connect(port, stats)
        except (OSError, asyncio.TimeoutError):
            continue
        await read_all(reader)
        stats.closed += 1
        writer.close()


def abusers(args: Any, stats: Stats) -> list[Any]:
    port, name = args.port, args.abuser
    if name == "slowloris":
        return [trickle(port, stats, b"", "head") for _ in range(args.connections)]
    if name == "rudy":
        return [trickle(port, stats, RUDY_HEAD, "body") for _ in range(args.connections)]
    if name == "ws-ping-flood":
        return [ws_flood(port, stats, PING, PING, False) for _ in range(args.ws_connections)]
    if name == "ws-fragments":
        return [
            ws_flood(port, stats, FIRST_FRAGMENT, CONTINUATION, True)
            for _ in range(args.ws_connections)
        ]
    assert name == "connect-flood", name
    return [hold(port, stats) for _ in range(flood_size(args.flood))]


async def abuse(args: Any) -> None:
    """Run ``args.abuser`` until SIGTERM; print ``ready``, then at the end the stats as JSON."""
    stats = Stats()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    tasks = [asyncio.ensure_future(coroutine) for coroutine in abusers(args, stats)]
    print("ready", flush=True)
    await stop.wait()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(json.dumps(asdict(stats)), flush=True)


def flood_size(wanted: int) -> int:
    """``wanted`` connections, or what ``ulimit -n`` leaves room for (with 200 to spare)."""
    return max(1, min(wanted, common.raise_nofile() - 200))


# -- the good client and the runs ---------------------------------------------------------


async def good_request(port: int, timeout: float) -> float | None:
    """Milliseconds for ``GET /`` on a new connection, or None if it failed or timed out."""
    started = time.perf_counter()
    writer = None
    try:
        async with asyncio.timeout(timeout) if sys.version_info >= (3, 11) else _timeout(timeout):
            reader, writer = await asyncio.open_connection(HOST, port)
            writer.write(b"GET / HTTP/1.1\r\nHost: good\r\nConnection: close\r\n\r\n")
            response = await reader.read(-1)
    except (OSError, asyncio.TimeoutError):
        return None
    finally:
        if writer is not None:
            writer.close()
    if not response.startswith(b"HTTP/1.1 200"):
        return None
    return (time.perf_counter() - started) * 1000


@contextlib.asynccontextmanager
async def _timeout(seconds: float) -> Any:  # Python 3.10: no asyncio.timeout
    task = asyncio.current_task()
    assert task is not None
    handle = asyncio.get_running_loop().call_later(seconds, task.cancel)
    try:
        yield
    except asyncio.CancelledError as exc:
        raise asyncio.TimeoutError from exc
    finally:
        handle.cancel()


async def good_client(port: int, duration: float, timeout: float) -> list[float | None]:
    """A request every INTERVAL for ``duration`` seconds, each on its own schedule."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    tasks = []
    for k in range(max(1, round(duration / INTERVAL))):
        await asyncio.sleep(max(0.0, started + k * INTERVAL - loop.time()))
        tasks.append(asyncio.ensure_future(good_request(port, timeout)))
    return list(await asyncio.gather(*tasks))


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (nan for no values)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def start_abuser(args: Any, name: str) -> subprocess.Popen[str]:
    command = [
        "taskset", "-c", common.CLIENT_CPU, "nice", "-n", "10", sys.executable, __file__,
        "--abuser", name, "--port", str(args.port), "--connections", str(args.connections),
        "--ws-connections", str(args.ws_connections), "--flood", str(args.flood),
    ]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        proc.kill()
        raise RuntimeError(f"abuser {name} did not start")
    return proc


def stop_abuser(proc: subprocess.Popen[str]) -> dict[str, int]:
    proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=30)
        return dict(json.loads(out.strip().splitlines()[-1]))
    except (subprocess.TimeoutExpired, ValueError, IndexError):
        proc.kill()
        proc.wait()
        return {}


def run_one(server: common.Server, args: Any, name: str) -> tuple[list[float | None], dict]:
    """The good client's results against ``server`` during abuse ``name``, and the abuser's."""
    with common.running(server, args.port) as proc:
        asyncio.run(good_client(args.port, 0.5, args.timeout))  # warm-up
        abuser = start_abuser(args, name) if name != BASELINE else None
        try:
            time.sleep(args.ramp if abuser else 0)
            results = asyncio.run(good_client(args.port, args.duration, args.timeout))
        finally:
            stats = stop_abuser(abuser) if abuser else {}
        if proc.poll() is not None:
            print(f"    {server.name} exited during {name}", file=sys.stderr)
            stats["server_exited"] = 1
    return results, stats


def servers(port: int) -> list[common.Server]:
    py = sys.executable
    parser = "httptools" if common.importable("httptools") else "h11"
    quiet = ["--no-access-log", "--log-level", "warning"]
    found = [
        common.Server(f"asgi-core {name} {parser}",
                      [py, "-m", "asgi_core", "bench_app:app", "--port", str(port), *flags,
                       "--http", parser, *quiet])
        for name, flags in (
            ("asyncio", ["--backend", "asyncio", "--loop", "asyncio"]),
            ("trio", ["--backend", "trio"]),
        )
    ]  # fmt: skip
    if common.importable("uvicorn"):
        found.append(
            common.Server("uvicorn httptools (uvloop)",
                          [py, "-m", "uvicorn", "bench_app:app", "--port", str(port), "--http",
                           "httptools", "--loop", "uvloop", *quiet])
        )  # fmt: skip
    if common.importable("hypercorn"):
        found.append(
            common.Server("hypercorn (asyncio)",
                          [py, "-m", "hypercorn", "bench_app:app", "--bind", f"{HOST}:{port}",
                           "--worker-class", "asyncio", "--workers", "1", "--log-level",
                           "warning"])
        )  # fmt: skip
    return found


def record(samples: common.Samples, name: str, server: str, results: list, stats: dict) -> str:
    """The round's figures into ``samples``; returns its line for stderr."""
    answered = [r for r in results if r is not None]
    failed = len(results) - len(answered)
    p50, p99 = percentile(answered, 0.5), percentile(answered, 0.99)
    common.record(samples, name, server, p50_ms=p50, p99_ms=p99, failed=failed, sent=len(results))
    for key, value in stats.items():
        common.record(samples, name, server, **{f"abuser_{key}": value})
    samples[name][server].setdefault("latency_ms", []).extend(answered)
    return f"  {server:28} {name:14} p50 {p50:8.2f} ms  p99 {p99:8.2f} ms  failed {failed}"


def report(samples: common.Samples, names: list[str], chosen: list[common.Server]) -> None:
    header = (
        f"{'server':28} {'abuse':14} {'p50 ms':>8} {'p99 ms':>8} {'failed/sent':>12} "
        f"{'abuser opened':>14} {'closed':>7} {'MB sent':>9}"
    )
    rows = []
    for server in chosen:
        for name in names:
            figures = samples.get(name, {}).get(server.name)
            if not figures:
                continue
            latencies = figures.get("latency_ms", [])
            failed, sent = int(sum(figures["failed"])), int(sum(figures["sent"]))
            opened, closed = figures.get("abuser_opened"), figures.get("abuser_closed")
            mb = sum(figures.get("abuser_sent", [0])) / 1e6
            abuser = f"{sum(opened):14.0f} {sum(closed):7.0f} {mb:9.3f}" if opened else ""
            rows.append(
                f"{server.name:28} {name:14} {percentile(latencies, 0.5):8.2f} "
                f"{percentile(latencies, 0.99):8.2f} {f'{failed}/{sent}':>12} {abuser}"
            )
    common.print_table(
        "Good client (GET / on a new connection every 100 ms) while one abuser runs; "
        "latencies of all rounds pooled, abuser figures summed",
        header,
        rows,
    )


def main() -> None:
    args = common.parse_args(
        __doc__,
        8769,
        ("--connections", 1000, "slowloris and R.U.D.Y. connections"),
        ("--ws-connections", 1, "WebSockets of the PING flood and of the fragments"),
        ("--flood", 10000, "connections of the connect flood (capped by ulimit -n)"),
        ("--abuses", ",".join(ABUSES), "comma-separated, of: " + ", ".join(ABUSES)),
        ("--abuser", "", argparse.SUPPRESS),
        duration=5,
    )
    if args.abuser:
        asyncio.run(abuse(args))
        return
    args.timeout, args.ramp = 5.0, 1.0
    limit = common.raise_nofile()
    if flood_size(args.flood) < args.flood:
        print(f"ulimit -n is {limit}: the connect flood opens {flood_size(args.flood)} "
              f"connections, not {args.flood}", file=sys.stderr)  # fmt: skip
    os.sched_setaffinity(0, {int(common.CLIENT_CPU)})
    names = [BASELINE, *(n for n in args.abuses.split(",") if n in ABUSES)]
    chosen = [s for s in servers(args.port) if args.only in s.name]
    samples: common.Samples = {}
    for round_number in range(1, args.rounds + 1):
        print(f"round {round_number}:", file=sys.stderr)
        for server in chosen:
            for name in names:
                results, stats = run_one(server, args, name)
                print(record(samples, name, server.name, results, stats), file=sys.stderr)
    report(samples, names, chosen)
    title = (
        f"abuse: good client every {INTERVAL * 1000:.0f} ms, {args.duration:g}s x "
        f"{args.rounds} rounds; server on CPU {common.SERVER_CPU}, clients on CPU "
        f"{common.CLIENT_CPU}"
    )
    units = {"p50_ms": "good client's p50, ms", "p99_ms": "good client's p99, ms",
             "latency_ms": "good client's latency, ms", "failed": "failed requests"}  # fmt: skip
    common.write_json(args.json, "abuse", title, args, samples, "p99_ms", units)


if __name__ == "__main__":
    main()
