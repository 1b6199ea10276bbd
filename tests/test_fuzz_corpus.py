"""Replays the fuzz targets' seed corpus and every saved regression through each target's
``check()``: the invariants the fuzzers assert, on known inputs, without atheris.

``fuzz/regressions/<target>-<name>`` replays through ``<target>``; a ``*.pending`` file is a
core bug not fixed yet and is listed here as skipped.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FUZZ = ROOT / "fuzz"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fuzz.run import SEEDS_OF, TARGETS  # noqa: E402  (the targets fuzz/run.py runs)


def _cases() -> list[object]:
    cases: list[object] = []
    for target in TARGETS:
        for path in sorted((FUZZ / "corpus" / SEEDS_OF.get(target, target)).iterdir()):
            cases.append(pytest.param(target, path, id=f"corpus/{target}/{path.name}"))
    for path in sorted((FUZZ / "regressions").iterdir()):
        target = path.name.partition("-")[0]
        marks = []
        if path.suffix == ".pending":
            marks.append(pytest.mark.skip(reason="a core bug not fixed yet (see fuzz/README.md)"))
        cases.append(pytest.param(target, path, id=f"regressions/{path.name}", marks=marks))
    return cases


def _check(target: str) -> Callable[[bytes], None]:
    check: Callable[[bytes], None] = importlib.import_module(f"fuzz.{target}").check
    return check


def test_every_target_has_seeds() -> None:
    for target in TARGETS:
        assert any((FUZZ / "corpus" / SEEDS_OF.get(target, target)).iterdir()), target


def test_regressions_name_a_target() -> None:
    for path in (FUZZ / "regressions").iterdir():
        assert path.name.partition("-")[0] in TARGETS, path.name


@pytest.mark.parametrize(("target", "path"), _cases())
def test_replay(target: str, path: Path) -> None:
    _check(target)(path.read_bytes())
