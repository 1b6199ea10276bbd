"""A real browser: headless Chromium (Debian's package) loads a page over TLS, over HTTP/2,
and echoes a message over a wss WebSocket on the same origin, on every backend."""

from __future__ import annotations

import queue
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from helpers.browser_app import RESULTS, app
from helpers.tls import Certificates, tls_options

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")


def page_report(url: str, profile: Path) -> str:
    """What the page at ``url`` posts back once its scripts ran, in headless Chromium; the
    test CA is not trusted, so certificate errors are ignored (the TLS, ALPN included, is
    real). The browser is stopped once the report is in (at most 60 s)."""
    assert CHROMIUM is not None
    while not RESULTS.empty():  # a report an earlier test's browser sent late
        RESULTS.get_nowait()
    browser = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", "--ignore-certificate-errors", url],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        return RESULTS.get(timeout=60)
    except queue.Empty:
        raise AssertionError("the page reported nothing in 60 s") from None
    finally:
        browser.kill()
        browser.wait(10)


def test_chromium_loads_a_page_over_http2_and_echoes_over_wss(
    serve: Any, certs: Certificates, tmp_path: Path
) -> None:
    server = serve(app, **tls_options(certs))
    report = page_report(f"https://127.0.0.1:{server.port}/", tmp_path / "profile")
    assert report == "h2|echo: hello from the browser"
