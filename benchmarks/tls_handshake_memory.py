"""Server memory per connection stuck before its TLS handshake, on every backend.

Each backend serves benchmarks/hello.py over TLS in its own process. The client opens N TCP
connections that never send a ClientHello, and the server's resident memory is read from /proc
before and after: the difference over N is what one such connection costs. For comparison the
same is measured without TLS (connections that never send a request), and for TLS connections
that finished the handshake and one request and stay open (keep-alive). Run by hand (needs
trustme, from `pip install -e '.[test]'`):

    python benchmarks/tls_handshake_memory.py [--connections 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import re
import resource
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import trustme
from common import rss_kib, stop  # type: ignore[import-not-found]

HERE = Path(__file__).resolve().parent
#: (column, over TLS, each connection is served one request first)
MODES = (
    ("plain, no request", False, False),
    ("TLS, no ClientHello", True, False),
    ("TLS, idle after 1 request", True, True),
)
BACKENDS = {
    "asyncio": ["--backend", "asyncio", "--loop", "asyncio"],
    "asyncio + uvloop": ["--backend", "asyncio", "--loop", "uvloop"],
    "trio": ["--backend", "trio"],
    "anyio on asyncio": ["--backend", "anyio", "--loop", "asyncio"],
    "anyio on trio": ["--backend", "anyio", "--loop", "trio"],
}


def start(flags: list[str]) -> tuple[subprocess.Popen[str], int]:
    """The server in its own process, and the port it reports."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "asgi_core", "hello:app", "--app-dir", str(HERE), "--port", "0",
         "--lifespan", "off", "--no-access-log", "--tls-handshake-timeout", "600",
         "--keep-alive-timeout", "600", "--request-head-timeout", "600", *flags],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    for _ in range(20):  # a few lines at most before the ready line
        line = proc.stderr.readline()
        match = re.search(r"Serving on https?://127\.0\.0\.1:(\d+)", line)
        if match:
            return proc, int(match.group(1))
        if not line:
            break
    proc.kill()
    raise RuntimeError(f"the server did not start: {proc.stderr.read()}")


def request(port: int, context: ssl.SSLContext | None) -> None:
    """One whole request, so the server's TLS (or plain) path is warm."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        sock = raw if context is None else context.wrap_socket(raw, server_hostname="127.0.0.1")
        sock.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        for _ in range(100):
            if not sock.recv(65536):
                break


def served(port: int, context: ssl.SSLContext) -> socket.socket:
    """A TLS connection left open after one keep-alive request was answered."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock = context.wrap_socket(raw, server_hostname="127.0.0.1")
    sock.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
    response = b""
    for _ in range(100):
        response += sock.recv(65536)
        if response.endswith(b"Hello, world!"):
            return sock
    raise RuntimeError(f"unexpected response: {response!r}")


def settled_rss(pid: int) -> int:
    """RSS once it stops moving (the server has accepted what the kernel queued)."""
    last = rss_kib(pid)
    for _ in range(50):
        time.sleep(0.2)
        now = rss_kib(pid)
        if now == last:
            return now
        last = now
    return last


def memory_per_connection(
    port: int, pid: int, count: int, context: ssl.SSLContext | None, serve_one: bool
) -> float:
    """KiB of server memory per connection that never sends a byte (or that was served one
    request over TLS, with ``serve_one``)."""
    for _ in range(20):
        request(port, context)
    warm = [socket.create_connection(("127.0.0.1", port)) for _ in range(50)]
    before = settled_rss(pid)
    if serve_one and context is not None:
        stalled = [served(port, context) for _ in range(count)]
    else:
        stalled = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
    after = settled_rss(pid)
    request(port, context)  # still serving
    for sock in stalled + warm:
        sock.close()
    return (after - before) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="", help="run backends whose name contains this")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = args.connections + 200
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, needed), hard))
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    client = ssl.create_default_context()
    ca.configure_trust(client)
    client.set_alpn_protocols(["http/1.1"])
    results: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        certfile, keyfile = str(Path(folder, "cert.pem")), str(Path(folder, "key.pem"))
        cert.cert_chain_pems[0].write_to_path(certfile)
        cert.private_key_pem.write_to_path(keyfile)
        tls_flags = ["--certfile", certfile, "--keyfile", keyfile]
        for round_number in range(1, args.rounds + 1):
            for name, flags in BACKENDS.items():
                if args.only not in name:
                    continue
                for mode, tls, serve_one in MODES:
                    proc, port = start([*flags, *(tls_flags if tls else [])])
                    try:
                        kib = memory_per_connection(
                            port, proc.pid, args.connections, client if tls else None, serve_one
                        )
                    finally:
                        stop(proc)
                    results.setdefault((name, mode), []).append(kib)
                    print(f"round {round_number}: {name:18} {mode:24} {kib:6.1f} KiB/conn",
                          file=sys.stderr)  # fmt: skip
    print()
    print(f"KiB of server memory per connection, {args.connections} connections, median of "
          f"{args.rounds} rounds")  # fmt: skip
    header = f"{'backend':18}" + "".join(f" {mode:>26}" for mode, *_ in MODES)
    print(header)
    print("-" * len(header))
    for name in BACKENDS:
        if (name, MODES[0][0]) in results:
            row = [statistics.median(results[(name, mode)]) for mode, *_ in MODES]
            print(f"{name:18}" + "".join(f" {kib:26.1f}" for kib in row))


if __name__ == "__main__":
    main()
