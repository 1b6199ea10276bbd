"""Logging shared by every driver: the server's messages and the access log."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from .access import AccessLog, JSONFormatter, access_logger

__all__ = ["access_logger", "configure_logging", "log_app_error", "logger"]

logger = logging.getLogger("asgi_core")

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


#: ANSI colours of the level names (``--use-colors``), as uvicorn's.
_COLOURS = {"DEBUG": 36, "INFO": 32, "WARNING": 33, "ERROR": 31, "CRITICAL": 91}


class _ColourFormatter(logging.Formatter):
    """``LEVEL: message`` with the level name in its colour."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        colour = _COLOURS.get(record.levelname, 0)
        return f"\x1b[{colour}m{record.levelname}\x1b[0m: {record.getMessage()}"


def configure_logging(
    level: str = "info",
    use_colors: bool | None = None,
    *,
    log_format: str = "text",
    log_config: str | None = None,
    access_log_format: str | None = None,
) -> None:
    """Send ``asgi_core`` logs to stderr at ``level`` (the CLI calls this; embedders need not);
    level names in colour if ``use_colors``, or with None if stderr is a terminal; one JSON
    object per line with ``log_format="json"``. ``log_config`` (a JSON, YAML or INI file) is
    applied last, as uvicorn does, so it may replace any of that."""
    global access_log
    handler = logging.StreamHandler(sys.stderr)
    if use_colors is None:
        use_colors = sys.stderr.isatty()
    formatter: logging.Formatter
    if log_format == "json":
        formatter = JSONFormatter()
    elif use_colors:
        formatter = _ColourFormatter()
    else:
        formatter = logging.Formatter("%(levelname)s: %(message)s")
    handler.setFormatter(formatter)
    root = logging.getLogger("asgi_core")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
    access_log = AccessLog(access_log_format, json_fields=log_format == "json")
    if log_config is not None:
        apply_log_config(log_config)


def apply_log_config(path: str) -> None:
    """``logging.config.dictConfig`` from a ``.json`` or ``.yaml``/``.yml`` file (PyYAML, the
    ``yaml`` extra), else ``logging.config.fileConfig`` (INI): as uvicorn's ``--log-config``."""
    import logging.config

    if path.endswith(".json"):
        with open(path, encoding="utf-8") as file:
            logging.config.dictConfig(json.load(file))
    elif path.endswith((".yaml", ".yml")):
        try:
            import yaml  # type: ignore[import-untyped,unused-ignore]
        except ImportError:
            raise ValueError(f"{path}: YAML needs PyYAML (pip install 'asgi-core[yaml]')") from None
        with open(path, encoding="utf-8") as file:
            logging.config.dictConfig(yaml.safe_load(file))
    else:
        logging.config.fileConfig(path, disable_existing_loggers=False)


#: How access lines are formatted (``configure_logging`` replaces it from the CLI's flags).
access_log = AccessLog()


def log_app_error(scope: dict[str, Any], exc: BaseException) -> None:
    """An application raised: logged once, with its traceback."""
    logger.error("Exception in ASGI application (%s)", scope.get("type"), exc_info=exc)


def reopen_log_files() -> int:
    """SIGUSR1, as gunicorn has it: every file a logging handler writes is closed and opened
    again at its next line, so logrotate can move the old one away. Returns how many."""
    loggers = [logging.getLogger()] + [
        found for found in logging.Logger.manager.loggerDict.values()
        if isinstance(found, logging.Logger)
    ]  # fmt: skip
    files = {h for found in loggers for h in found.handlers if isinstance(h, logging.FileHandler)}
    for handler in files:
        handler.acquire()
        try:
            if handler.stream is not None:
                handler.stream.close()
                handler.stream = None  # FileHandler opens it again at its next record
        finally:
            handler.release()
    return len(files)
