"""A real browser: headless Chromium (Debian's package) loads a page over TLS, over HTTP/2,
and echoes a message over a wss WebSocket on the same origin, on every backend."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from helpers.browser_app import app
from helpers.tls import Certificates, tls_options

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")


def load_in_chromium(url: str, profile: Path) -> str:
    """The page's DOM once its scripts ran (``--dump-dom``); the test CA is not trusted, so
    certificate errors are ignored (the TLS itself, ALPN included, is real)."""
    assert CHROMIUM is not None
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", "--ignore-certificate-errors",
         "--virtual-time-budget=10000", "--dump-dom", url],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return result.stdout


def test_chromium_loads_a_page_over_http2_and_echoes_over_wss(
    serve: Any, certs: Certificates, tmp_path: Path
) -> None:
    server = serve(app, **tls_options(certs))
    dom = load_in_chromium(f"https://127.0.0.1:{server.port}/", tmp_path / "profile")
    found = re.search(r'<pre id="result">([^<]*)</pre>', dom)
    assert found is not None, dom
    assert found.group(1) == "h2|echo: hello from the browser"
