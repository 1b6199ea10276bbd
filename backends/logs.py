"""Logging shared by every driver: the server's messages and the access log."""

from __future__ import annotations

import logging
import sys
from typing import Any

logger = logging.getLogger("asgi_core")
access_logger = logging.getLogger("asgi_core.access")

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


#: ANSI colours of the level names (``--use-colors``), as uvicorn's.
_COLOURS = {"DEBUG": 36, "INFO": 32, "WARNING": 33, "ERROR": 31, "CRITICAL": 91}


class _ColourFormatter(logging.Formatter):
    """``LEVEL: message`` with the level name in its colour."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        colour = _COLOURS.get(record.levelname, 0)
        return f"\x1b[{colour}m{record.levelname}\x1b[0m: {record.getMessage()}"


def configure_logging(level: str = "info", use_colors: bool | None = None) -> None:
    """Send ``asgi_core`` logs to stderr at ``level`` (the CLI calls this; embedders need not);
    level names in colour if ``use_colors``, or with None if stderr is a terminal."""
    handler = logging.StreamHandler(sys.stderr)
    if use_colors is None:
        use_colors = sys.stderr.isatty()
    formatter = (
        _ColourFormatter() if use_colors else logging.Formatter("%(levelname)s: %(message)s")
    )
    handler.setFormatter(formatter)
    root = logging.getLogger("asgi_core")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


def log_access(scope: dict[str, Any], status: int) -> None:
    """One line per response: client, request line, status (like a common log)."""
    client = scope.get("client")
    who = f"{client[0]}:{client[1]}" if client else "-"
    query = scope.get("query_string", b"")
    target = scope.get("path", "") + ("?" + query.decode("latin-1") if query else "")
    access_logger.info(
        '%s - "%s %s HTTP/%s" %d', who, scope["method"], target, scope["http_version"], status
    )


def log_app_error(scope: dict[str, Any], exc: BaseException) -> None:
    """An application raised: logged once, with its traceback."""
    logger.error("Exception in ASGI application (%s)", scope.get("type"), exc_info=exc)
