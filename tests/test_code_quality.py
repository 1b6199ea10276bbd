"""The project's standing rules a tool can check: ruff-clean, and mypy --strict on everything
that ships (the core, the drivers, the test kit) and on the test helpers."""

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


def test_mypy_strict_on_what_ships_and_the_test_helpers(tmp_path: pathlib.Path) -> None:
    # backends/ installs as asgi_core.backends (package-dir in pyproject.toml), a mapping mypy
    # cannot follow in the source tree; so check the tree an install ships: setuptools' build_py
    # lays out the packages (and py.typed) as a wheel holds them.
    shipped = tmp_path / "shipped"
    setup = "import setuptools; setuptools.setup()"
    build = run(sys.executable, "-c", setup, "-q", "build_py", "--build-lib", str(shipped))
    assert build.returncode == 0, build.stdout + build.stderr
    assert (shipped / "asgi_core" / "backends" / "driver.py").is_file()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(tmp_path / "mypy-cache"),
            "asgi_core",
            str(ROOT / "tests" / "helpers"),
        ],
        cwd=shipped,  # so that "asgi_core" is the shipped tree, not the source folder
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_core_ships_py_typed() -> None:
    assert (ROOT / "asgi_core" / "py.typed").exists()
