"""The in-memory client for plain (not async) tests: its event loop runs in a thread."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from functools import partial
from typing import Any

import anyio.from_thread

from .client import ASGIApp, ASGIClient, Response, WebSocketSession


class SyncASGIClient:
    """``ASGIClient`` with blocking methods, over an anyio portal (asyncio or trio).

    ``with SyncASGIClient(app) as client: assert client.get("/").status == 200``
    """

    def __init__(self, app: ASGIApp, *, backend: str = "asyncio", **options: Any) -> None:
        self._stack = ExitStack()
        self._portal = self._stack.enter_context(anyio.from_thread.start_blocking_portal(backend))
        self.client = ASGIClient(app, **options)
        try:
            self._stack.enter_context(self._portal.wrap_async_context_manager(self.client))
        except BaseException:
            self._stack.close()
            raise

    def __enter__(self) -> SyncASGIClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stack.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Response:
        return self._portal.call(partial(self.client.request, method, path, **kwargs))

    def get(self, path: str, **kwargs: Any) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Response:
        return self.request("POST", path, **kwargs)

    def check(self, method: str, path: str, **kwargs: Any) -> Response:
        """See ``ASGIClient.check``: answered, not 5xx, every app call returned."""
        return self._portal.call(partial(self.client.check, method, path, **kwargs))

    def send_raw(self, data: Any, **kwargs: Any) -> bytes:
        return self._portal.call(partial(self.client.send_raw, data, **kwargs))

    def settle(self) -> None:
        self._portal.call(self.client.settle)

    def advance(self, seconds: float) -> None:
        """See ``ASGIClient.advance``: move the virtual clock; the server's timers fire."""
        self._portal.call(self.client.advance, seconds)

    @property
    def clock(self) -> float:
        return self.client.clock

    @contextmanager
    def websocket(self, path: str, **kwargs: Any) -> Iterator[SyncWebSocketSession]:
        manager: AbstractContextManager[WebSocketSession] = self._portal.wrap_async_context_manager(
            self.client.websocket(path, **kwargs)
        )
        with manager as session:
            yield SyncWebSocketSession(self._portal, session)


class SyncWebSocketSession:
    """Blocking ``WebSocketSession`` methods."""

    def __init__(self, portal: anyio.from_thread.BlockingPortal, session: WebSocketSession) -> None:
        self._portal = portal
        self.session = session

    @property
    def subprotocol(self) -> str | None:
        return self.session.subprotocol

    @property
    def close_code(self) -> int | None:
        return self.session.close_code

    def send_text(self, text: str) -> None:
        self._portal.call(self.session.send_text, text)

    def send_bytes(self, data: bytes) -> None:
        self._portal.call(self.session.send_bytes, data)

    def receive(self) -> str | bytes:
        return self._portal.call(self.session.receive)

    def receive_text(self) -> str:
        return self._portal.call(self.session.receive_text)

    def receive_bytes(self) -> bytes:
        return self._portal.call(self.session.receive_bytes)

    def close(self, code: int = 1000, reason: str = "") -> None:
        self._portal.call(self.session.close, code, reason)
