"""The project's standing rules a tool can check: ruff-clean, and mypy --strict on the core."""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed")
def test_ruff_lint_and_format() -> None:
    lint = run("ruff", "check", ".")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    fmt = run("ruff", "format", "--check", ".")
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_mypy_strict_on_the_core() -> None:
    result = run(sys.executable, "-m", "mypy", "asgi_core")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_core_ships_py_typed() -> None:
    assert (ROOT / "asgi_core" / "py.typed").exists()
