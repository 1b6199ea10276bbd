"""Clients for the process tests: one request per fresh connection, loops, waiting."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator

from helpers.server import ServerProcess


def get_pid(port: int, timeout: float = 5.0) -> int:
    """One request on a fresh connection (no keep-alive race): the pid of the worker."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), data
    return int(body)


def pids_answering(port: int, count: int, within: float = 10.0) -> set[int]:
    """Requests until ``count`` different workers have answered."""
    seen: set[int] = set()
    deadline = time.monotonic() + within
    while len(seen) < count and time.monotonic() < deadline:
        seen.add(get_pid(port))
    return seen


def until(condition: Callable[[], object], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def worker_pids(server: ServerProcess) -> set[int]:
    """The live workers, from the supervisor's own lines ("started worker N", "worker N ...")."""
    started = set(map(int, re.findall(r"started worker (\d+)", server.output())))
    ended = set(map(int, re.findall(r"worker (\d+) (?:stopped|recycled|exited|was)",
                                    server.output())))  # fmt: skip
    return started - ended


@contextlib.contextmanager
def client_loop(port: int) -> Iterator[dict[str, list[object]]]:
    """Requests in a loop in a thread, until the block ends: the pids seen and the failures."""
    result: dict[str, list[object]] = {"pids": [], "failures": []}
    done = threading.Event()

    def loop() -> None:
        while not done.is_set():
            try:
                result["pids"].append(get_pid(port))
            except Exception as exc:  # every failure is the test's finding
                result["failures"].append(exc)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield result
    finally:
        done.set()
        thread.join(10)
