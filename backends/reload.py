"""``--reload``: watch folders with watchfiles and say which files changed (development only).

The filter is uvicorn's: ``*.py`` and the ``--reload-include`` patterns trigger a reload; dot
files, compiled Python, editor swap and backup files, and the ``--reload-exclude`` patterns (or
folders) do not.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .run import require

DEFAULT_INCLUDES = ("*.py",)
DEFAULT_EXCLUDES = (".*", ".py[cod]", ".sw.*", "~*")
#: How long one wait for changes lasts (ms): the supervisor's signals wait at most this long.
WAIT_MS = 200
#: A change is reported once the folders were quiet this long (ms), batching an editor's saves.
QUIET_MS = 50


class FileFilter:
    """Which changed paths trigger a reload (uvicorn's rules)."""

    def __init__(self, includes: Sequence[str], excludes: Sequence[str]) -> None:
        self.includes = [p for p in DEFAULT_INCLUDES if p not in excludes] + list(includes)
        self.excludes = [p for p in DEFAULT_EXCLUDES if p not in includes]
        self.exclude_dirs: list[Path] = []
        for pattern in excludes:
            if Path(pattern).is_dir():
                self.exclude_dirs.append(Path(pattern).resolve())
            else:
                self.excludes.append(pattern)

    def __call__(self, change: Any, path: str) -> bool:
        candidate = Path(path)
        if not any(candidate.match(pattern) for pattern in self.includes):
            return False
        if any(folder in candidate.parents for folder in self.exclude_dirs):
            return False
        return not any(candidate.match(pattern) for pattern in self.excludes)


class Watcher:
    """Waits (up to ``WAIT_MS``) for changes under ``dirs``; yields the changed paths."""

    def __init__(
        self, dirs: Sequence[str], includes: Sequence[str], excludes: Sequence[str]
    ) -> None:
        require("watchfiles", "reload")
        import watchfiles

        self._changes: Iterator[set[tuple[Any, str]]] = watchfiles.watch(
            *dirs,
            watch_filter=FileFilter(includes, excludes),
            rust_timeout=WAIT_MS,
            yield_on_timeout=True,
            step=QUIET_MS,
            ignore_permission_denied=True,
        )

    def changes(self, timeout: float) -> list[str]:
        """The paths that changed (sorted), or none after a wait of up to ``WAIT_MS``.

        ``timeout`` is the supervisor's: this wait is never longer than ``WAIT_MS`` anyway.
        """
        return sorted({_shown(path) for _, path in next(self._changes, set())})


def _shown(path: str) -> str:
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path
