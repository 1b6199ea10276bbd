"""Real servers for integration tests: ``serve()`` in a thread, or the CLI in a subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from asgi_core import Config
from asgi_core.backends import ServerConfig

TESTS_DIR = Path(__file__).resolve().parent.parent

#: Every driver a behaviour test runs on (issue: "a backend can't quietly lag behind").
BACKENDS = ["asyncio", "asyncio+uvloop", "trio", "anyio+asyncio", "anyio+trio"]


def _cli_arguments(name: str) -> list[str]:
    """A backend's name (``anyio+trio``) as the asgi-core command's flags; plain asyncio
    names its loop, since the default would be uvloop where it is installed."""
    backend, _, loop = name.partition("+")
    if backend == "asyncio" and not loop:
        loop = "asyncio"
    return ["--backend", backend, *(["--loop", loop] if loop else [])]


#: The same backends, as the asgi-core command picks them.
CLI_BACKENDS = {name: _cli_arguments(name) for name in BACKENDS}


class ServerThread:
    """``serve(app, config)`` of one backend, on its own event loop in a background thread.

    Options are ``Config`` fields or ``ServerConfig`` fields (``ssl_certfile=...`` serves TLS).
    """

    def __init__(self, app: Any, backend: str, **options: Any) -> None:
        #: Sockets already bound, handed to ``serve(listeners=...)``.
        self.listeners: list[Any] | None = options.pop("listeners", None)
        protocol_fields = set(Config.__dataclass_fields__)
        protocol = Config(**{k: v for k, v in options.items() if k in protocol_fields})
        server_options = {k: v for k, v in options.items() if k not in protocol_fields}
        server_options.setdefault("port", 0)
        server_options.setdefault("access_log", False)
        server_options.setdefault("backend", backend.partition("+")[0])
        self.backend = backend
        self.config = ServerConfig(protocol=protocol, **server_options)
        self.app = app
        self._ready = threading.Event()
        self._addresses: list[tuple[str, int]] = []
        self._error: BaseException | None = None
        self._stop: Callable[[], object] | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ServerThread:
        self._thread.start()
        if not self._ready.wait(10):
            raise TimeoutError("server did not start")
        if self._error is not None:
            raise self._error
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self._stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already ended
                self._stop()
        self._thread.join(30)
        assert not self._thread.is_alive(), "the server did not shut down"

    @property
    def addresses(self) -> list[tuple[str, int]]:
        return self._addresses

    @property
    def host(self) -> str:
        return self._addresses[0][0]

    @property
    def port(self) -> int:
        return self._addresses[0][1]

    @property
    def url(self) -> str:
        scheme = "https" if self.config.tls else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def _run(self) -> None:
        try:
            if self.backend.startswith("asyncio"):
                self._run_asyncio()
            elif self.backend == "trio":
                import trio

                trio.run(self._main_trio)
            else:
                import anyio

                anyio.run(self._main_anyio, backend=self.backend.partition("+")[2])
        except BaseException as exc:  # reported to the test through __enter__
            self._error = exc
            self._ready.set()

    def _ready_with(self, addresses: list[tuple[str, int]]) -> None:
        self._addresses = addresses
        self._ready.set()

    def _run_asyncio(self) -> None:
        from asgi_core.backends.asyncio import serve

        if self.backend == "asyncio+uvloop":
            import uvloop

            loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
        else:
            loop = asyncio.new_event_loop()

        async def main() -> None:
            task = asyncio.current_task()
            assert task is not None
            self._stop = lambda: loop.call_soon_threadsafe(task.cancel)
            with contextlib.suppress(asyncio.CancelledError):
                await serve(
                    self.app, self.config, on_ready=self._ready_with, listeners=self.listeners
                )

        try:
            loop.run_until_complete(main())
        finally:
            loop.close()

    async def _main_trio(self) -> None:
        import trio

        from asgi_core.backends.trio import serve

        token = trio.lowlevel.current_trio_token()
        async with trio.open_nursery() as nursery:
            self._stop = lambda: token.run_sync_soon(nursery.cancel_scope.cancel)
            started = partial(serve, listeners=self.listeners)
            self._ready_with(await nursery.start(started, self.app, self.config))

    async def _main_anyio(self) -> None:
        import anyio
        import anyio.from_thread
        import anyio.lowlevel

        from asgi_core.backends.anyio import serve

        token = anyio.lowlevel.current_token()
        async with anyio.create_task_group() as group:
            scope = group.cancel_scope
            self._stop = lambda: anyio.from_thread.run_sync(scope.cancel, token=token)
            started = partial(serve, listeners=self.listeners)
            self._ready_with(await group.start(started, self.app, self.config))


class ServerProcess:
    """The ``asgi-core`` command in a subprocess; ``address`` is read from its log line."""

    def __init__(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        wrapper: list[str] | None = None,
        pass_fds: tuple[int, ...] = (),
    ) -> None:
        #: ``wrapper`` runs the command (``systemd-socket-activate -l ...``); ``pass_fds``
        #: are inherited (``--fd``).
        command = [sys.executable, "-m", "asgi_core", "--app-dir", str(TESTS_DIR), *args]
        self.args = [*(wrapper or []), *command]
        self.pass_fds = pass_fds
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc: subprocess.Popen[str] | None = None
        self.lines: list[str] = []
        #: A "Serving on" line was logged (a Unix socket has no port to read).
        self.serving = False
        self.scheme = ""
        self.host = ""
        self.port = 0

    def start(self, wait_ready: bool = True) -> ServerProcess:
        self.proc = subprocess.Popen(
            self.args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=self.env,
            pass_fds=self.pass_fds,
        )  # fmt: skip
        threading.Thread(target=self._read, daemon=True).start()
        if wait_ready:
            deadline = time.monotonic() + 15
            while not self.serving:
                if self.proc.poll() is not None:
                    raise RuntimeError("server exited early:\n" + self.output())
                if time.monotonic() > deadline:
                    raise TimeoutError("server did not report its address:\n" + self.output())
                time.sleep(0.02)
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            match = re.search(r"Serving on (https?)://\[?([^\]\s]+?)\]?:(\d+)", line)
            if match and not self.port:
                self.scheme, self.host = match.group(1), match.group(2)
                self.port = int(match.group(3))
            self.serving = self.serving or "Serving on " in line

    def output(self) -> str:
        return "".join(self.lines)

    def signal(self, signum: int = signal.SIGTERM) -> None:
        assert self.proc is not None
        self.proc.send_signal(signum)

    def wait(self, timeout: float = 30) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
