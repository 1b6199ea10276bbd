"""The boundary (docs/architecture.md): the core does no I/O. Importing it loads no I/O or
backend module.

``asgi_core.testing`` (a subpackage) is the test kit: it runs apps, so it uses anyio and the
drivers' shared code. The rule for it is the other way round: no core module imports it.
"""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import asgi_core

FORBIDDEN = ("asyncio", "trio", "anyio", "socket", "ssl", "selectors", "threading", "time")
CORE_DIR = pathlib.Path(asgi_core.__file__).parent
#: Every source file of the core, its subpackages (http11/, http2/) included; not the test kit.
CORE_FILES = sorted(
    path for path in CORE_DIR.rglob("*.py") if path.relative_to(CORE_DIR).parts[0] != "testing"
)
CORE_MODULES = sorted(
    ".".join(("asgi_core", *path.relative_to(CORE_DIR).with_suffix("").parts)).removesuffix(
        ".__init__"
    )
    for path in CORE_FILES
    if path.stem != "__main__"
)


def test_every_core_module_is_listed() -> None:
    for name in ("asgi_core.http11.readers", "asgi_core.http2.limits", "asgi_core.lifespan"):
        assert name in CORE_MODULES


def test_importing_the_core_loads_no_io_module() -> None:
    # A fresh interpreter: modules the interpreter itself starts with are not the core's doing,
    # nor are those of the protocol libraries the core builds on (hpack, under h2, loads
    # logging, and logging loads threading for its locks); the core's own imports are read
    # from its source below.
    code = (
        "import sys\n"
        "import h11, h2.config, h2.connection, h2.events, hpack, hyperframe.frame, wsproto\n"
        "import wsproto.connection, wsproto.extensions\n"
        "before = set(sys.modules)\n"
        f"for name in {CORE_MODULES!r}: __import__(name)\n"
        "new = set(sys.modules) - before\n"
        f"bad = sorted(m for m in new if m.split('.')[0].lstrip('_') in {FORBIDDEN!r}"
        " or '.backends' in m)\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "", f"the core imported: {result.stdout.strip()}"


def test_core_source_imports_no_io_module() -> None:
    offenders = []
    for path in CORE_FILES:
        if path.name == "__main__.py":  # the CLI entry point: it starts a driver by design
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [("." * node.level) + node.module]
            for name in names:
                top = name.lstrip(".").split(".")[0]
                if top in FORBIDDEN or "backends" in name:
                    offenders.append(f"{path.name}: {name}")
    assert offenders == []


def test_no_core_module_imports_the_test_kit() -> None:
    offenders = []
    for path in CORE_FILES:
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            if any("testing" in name for name in names):
                offenders.append(path.name)
    assert offenders == []
