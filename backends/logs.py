"""Logging shared by every driver: the server's messages and the access log."""

from __future__ import annotations

import logging
import sys
from typing import Any

logger = logging.getLogger("asgi_core")
access_logger = logging.getLogger("asgi_core.access")

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def configure_logging(level: str = "info") -> None:
    """Send ``asgi_core`` logs to stderr at ``level`` (the CLI calls this; embedders need not)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
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
