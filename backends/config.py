"""ServerConfig: the driver's settings (where to listen, which loop, lifespan, logging).

Protocol limits and timeouts live in the core's ``Config``, carried here as ``protocol``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from ..config import Config
from ..errors import ConfigError

Backend = Literal["asyncio", "trio", "anyio"]
Loop = Literal["auto", "asyncio", "uvloop", "trio"]
LifespanMode = Literal["auto", "on", "off"]

BACKENDS: tuple[str, ...] = ("asyncio", "trio", "anyio")
#: Event loops: asyncio's own, uvloop ("auto" takes it when installed), or trio (anyio only).
LOOPS: tuple[str, ...] = ("auto", "asyncio", "uvloop", "trio")
LIFESPAN_MODES: tuple[str, ...] = ("auto", "on", "off")


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Everything a driver needs besides the application."""

    host: str = "127.0.0.1"
    port: int = 8000
    backend: Backend = "asyncio"
    loop: Loop = "auto"
    lifespan: LifespanMode = "auto"
    #: Seconds in-flight requests get to finish after a shutdown signal.
    graceful_timeout: float = 30.0
    backlog: int = 2048
    access_log: bool = True
    protocol: Config = field(default_factory=Config)

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ConfigError(f"backend must be one of {BACKENDS}, not {self.backend!r}")
        if self.loop not in LOOPS:
            raise ConfigError(f"loop must be one of {LOOPS}, not {self.loop!r}")
        if self.loop == "trio" and self.backend != "anyio":
            raise ConfigError("loop 'trio' is for the anyio backend; use backend 'trio' instead")
        if self.backend == "trio" and self.loop in ("asyncio", "uvloop"):
            raise ConfigError(f"the trio backend runs on trio, not on {self.loop!r}")
        if self.lifespan not in LIFESPAN_MODES:
            raise ConfigError(f"lifespan must be one of {LIFESPAN_MODES}, not {self.lifespan!r}")
        if type(self.port) is not int or not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be an int from 0 to 65535, not {self.port!r}")
        if not math.isfinite(self.graceful_timeout) or self.graceful_timeout < 0:
            raise ConfigError(f"graceful_timeout must be >= 0, not {self.graceful_timeout!r}")
        if type(self.backlog) is not int or self.backlog < 1:
            raise ConfigError(f"backlog must be a positive int, not {self.backlog!r}")
