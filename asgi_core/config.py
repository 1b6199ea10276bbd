"""Config: every protocol limit, timeout and switch of the core, validated once, then frozen."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from .errors import ConfigError

KiB = 1024
MiB = 1024 * KiB


@dataclass(frozen=True, slots=True)
class Config:
    """Protocol settings shared by every connection of a server.

    Sizes are bytes, times are seconds (on the driver's monotonic clock). ``None`` turns a
    limit off where the field allows it.
    """

    #: Prefix the application is mounted at (WSGI's SCRIPT_NAME); prepended to ``path``.
    root_path: str = ""
    #: Value of the ``Server`` response header; ``None`` sends none.
    server_header: str | None = "asgi-core"
    #: Add a ``Date`` header to responses that lack one.
    date_header: bool = True
    #: Request line plus headers; a larger head is answered with 431.
    max_request_head_size: int = 16 * KiB
    #: Request body; a larger one is answered with 413 (``None``: no limit).
    max_request_body_size: int | None = 100 * MiB
    #: Unconsumed request body the core holds per stream before the driver stops reading.
    max_buffered_body_size: int = 64 * KiB
    #: An idle keep-alive connection is closed after this long.
    keep_alive_timeout: float = 5.0
    #: From the first byte of a request to the end of its head (slowloris guard, 408).
    request_head_timeout: float = 10.0
    #: Longest wait for more request body while the application is waiting for it (408).
    request_body_timeout: float = 30.0

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name in ("root_path", "server_header", "date_header"):
                continue
            if value is None and field.name == "max_request_body_size":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"Config.{field.name} must be a number, not {value!r}")
            if not math.isfinite(value) or value <= 0:
                raise ConfigError(f"Config.{field.name} must be a positive number, not {value!r}")
        if self.root_path and (not self.root_path.startswith("/") or self.root_path.endswith("/")):
            raise ConfigError(
                f"Config.root_path must start with '/' and not end with one, not {self.root_path!r}"
            )
        if self.server_header is not None:
            _check_header_text("server_header", self.server_header)
        if not isinstance(self.date_header, bool):
            raise ConfigError(f"Config.date_header must be a bool, not {self.date_header!r}")

    @property
    def server_header_bytes(self) -> bytes | None:
        """The ``Server`` header value as it goes on the wire."""
        return None if self.server_header is None else self.server_header.encode("ascii")


def _check_header_text(name: str, value: str) -> None:
    if not isinstance(value, str) or not value.isascii() or not value.isprintable():
        raise ConfigError(f"Config.{name} must be printable ASCII, not {value!r}")
