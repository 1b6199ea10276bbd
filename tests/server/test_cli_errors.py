"""What the ``asgi-core`` command says when the app fails: on import, in lifespan, in a
request. Each failure is one clear line, and a traceback is shown once (never twice)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
from helpers.server import ServerProcess


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "asgi_core", *args],
        capture_output=True, text=True, timeout=30, cwd=cwd,
    )  # fmt: skip


def test_a_module_that_imports_a_missing_dependency_names_the_dependency(
    tmp_path: Path,
) -> None:
    (tmp_path / "numpyapp.py").write_text("import numpy_is_not_installed\napp = None\n")
    result = run_cli("numpyapp:app", "--app-dir", str(tmp_path))
    assert result.returncode == 2
    assert "module 'numpy_is_not_installed' is missing" in result.stderr
    assert "numpyapp.py, line 1" in result.stderr
    assert "could not import module" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_module_that_raises_names_the_error_and_debug_shows_the_traceback(
    tmp_path: Path,
) -> None:
    (tmp_path / "brokenapp.py").write_text("import os\n\nSETTING = 1 / 0\n")
    result = run_cli("brokenapp:app", "--app-dir", str(tmp_path))
    assert result.returncode == 2
    line = result.stderr.strip()
    assert "ZeroDivisionError: division by zero" in line and "brokenapp.py, line 3" in line
    assert "--log-level debug" in line and len(line.splitlines()) == 1
    debug = run_cli("brokenapp:app", "--app-dir", str(tmp_path), "--log-level", "debug")
    assert debug.returncode == 2
    assert debug.stderr.count("Traceback") == 1
    assert "SETTING = 1 / 0" in debug.stderr


def test_a_failed_startup_shows_the_apps_traceback_once(tmp_path: Path) -> None:
    # Starlette's way: the traceback as the failure message, then the exception raised.
    (tmp_path / "failing.py").write_text(
        "import traceback\n"
        "async def app(scope, receive, send):\n"
        "    await receive()\n"
        "    try:\n"
        "        raise RuntimeError('database is unreachable')\n"
        "    except RuntimeError:\n"
        "        message = traceback.format_exc()\n"
        "        await send({'type': 'lifespan.startup.failed', 'message': message})\n"
        "        raise\n"
    )
    server = ServerProcess("failing:app", "--app-dir", str(tmp_path), "--port", "0")
    assert server.start(wait_ready=False).wait() == 3
    time.sleep(0.1)
    output = server.output()
    assert output.count("Traceback") == 1, output
    assert output.strip().endswith(
        "asgi-core: application startup failed: RuntimeError: database is unreachable"
    )


def test_an_invalid_app_message_logs_one_traceback(tmp_path: Path) -> None:
    (tmp_path / "badstatus.py").write_text(
        "async def app(scope, receive, send):\n"
        "    await send({'type': 'http.response.start', 'status': 'x'})\n"
    )
    args = ("badstatus:app", "--app-dir", str(tmp_path), "--port", "0", "--lifespan", "off")
    with ServerProcess(*args) as server:
        assert httpx.get(f"http://{server.host}:{server.port}/").status_code == 500
        time.sleep(0.2)
        output = server.output()
    assert output.count("Traceback") == 1, output
    assert "During handling" not in output
    assert "needs an int 'status'" in output
