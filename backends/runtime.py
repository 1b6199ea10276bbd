"""The contract between the structured driver and a runtime (trio, or anyio on asyncio or trio).

``structured.py`` is written against these protocols alone; ``trio.py`` and ``anyio.py`` each
supply a ``Runtime`` and the ``Listener`` and ``Stream`` it makes. trio and anyio name their
primitives the same way and give them the same shape, so most members are theirs, unwrapped.
"""

from __future__ import annotations

import signal
import socket
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, TypeVar

from .driver import Waiter

T = TypeVar("T")
T_contra = TypeVar("T_contra", contravariant=True)
#: What a task group runs: an async function (anyio takes coroutine functions only).
AsyncFunction = Callable[..., Coroutine[Any, Any, object]]


class Event(Waiter, Protocol):
    """trio.Event and anyio.Event."""

    def is_set(self) -> bool: ...


class CancelScope(Protocol):
    """trio.CancelScope and anyio.CancelScope."""

    @property
    def deadline(self) -> float: ...

    @deadline.setter
    def deadline(self, value: float) -> None: ...

    @property
    def cancel_called(self) -> bool: ...

    @property
    def cancelled_caught(self) -> bool: ...

    def cancel(self) -> None: ...

    def __enter__(self) -> CancelScope: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
        /,
    ) -> bool: ...


class TaskStatus(Protocol[T_contra]):
    """What ``TaskGroup.start`` hands the task it starts (trio's and anyio's ``TaskStatus``)."""

    def started(self, value: T_contra, /) -> None: ...


class NewCancelScope(Protocol):
    """``CancelScope(deadline=..., shield=...)``."""

    def __call__(self, *, deadline: float = ..., shield: bool = ...) -> CancelScope: ...


class TaskGroup(Protocol):
    """A trio nursery, or an anyio task group."""

    @property
    def cancel_scope(self) -> CancelScope: ...

    def start_soon(self, function: AsyncFunction, /, *args: Any) -> object: ...

    async def start(self, function: AsyncFunction, /, *args: Any) -> Any: ...


class RunSync(Protocol):
    """``to_thread.run_sync``: call ``function(*args)`` in a worker thread."""

    def __call__(self, function: Callable[..., T], /, *args: Any) -> Coroutine[Any, Any, T]: ...


class OpenSignalReceiver(Protocol):
    """``open_signal_receiver(*signals)``: the signals received while in the context."""

    def __call__(self, *signals: signal.Signals) -> AbstractContextManager[AsyncIterator[int]]: ...


class Stream(Protocol):
    """One accepted connection's socket; never raises for a peer that is gone."""

    async def receive(self, size: int) -> bytes:
        """Up to ``size`` bytes; b"" at EOF or when the peer is gone."""
        ...

    async def send(self, data: bytes) -> bool:
        """Send all of ``data``: True, or False when the peer is gone."""
        ...

    async def aclose(self) -> None: ...

    def addresses(self) -> tuple[Any, Any]:
        """The (peer, local) socket addresses; (None, None) once the socket is gone."""
        ...


class Listener(Protocol):
    async def accept(self) -> Stream:
        """The next connection; raises one of ``Runtime.listener_closed_errors`` once closed."""
        ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class Runtime:
    """What the structured driver needs from trio or anyio."""

    name: str
    task_group: Callable[[], AbstractAsyncContextManager[TaskGroup]]
    cancel_scope: NewCancelScope
    event: Callable[[], Event]
    current_time: Callable[[], float]
    sleep_forever: Callable[[], Coroutine[Any, Any, object]]
    sleep: Callable[[float], Coroutine[Any, Any, object]]
    run_sync: RunSync
    #: A listener over a bound, listening stdlib socket.
    listener: Callable[[socket.socket], Listener]
    #: What ``Listener.accept`` raises once the listener is closed.
    listener_closed_errors: tuple[type[BaseException], ...]
    open_signal_receiver: OpenSignalReceiver
