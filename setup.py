"""Builds asgi-core. ``ASGI_CORE_MYPYC=1`` compiles the protocol core with mypyc: an opt-in
build, about twice as fast per request, that needs mypy and a C compiler to build
(``pip install mypy && ASGI_CORE_MYPYC=1 pip install --no-build-isolation .``)."""

import os
from typing import Any

from setuptools import setup

#: The core's modules on the request path, compiled by mypyc; the rest (the CLI, the demo app,
#: the test kit, the reaches into h2's and h11's internals) stays Python.
MYPYC_MODULES = [
    "asgi_core/budget.py",
    "asgi_core/connection.py",
    "asgi_core/events.py",
    "asgi_core/h2c.py",
    "asgi_core/headers.py",
    "asgi_core/http11/connection.py",
    "asgi_core/http11/expect_continue.py",
    "asgi_core/http11/httptools_reader.py",
    "asgi_core/http11/readers.py",
    "asgi_core/http11/writers.py",
    "asgi_core/http2/connection.py",
    "asgi_core/http2/fields.py",
    "asgi_core/http2/limits.py",
    "asgi_core/http2/sending.py",
    "asgi_core/http2/stream.py",
    "asgi_core/http_stream.py",
    "asgi_core/httpdate.py",
    "asgi_core/lifespan.py",
    "asgi_core/protocol.py",
    "asgi_core/proxy.py",
    "asgi_core/scope.py",
    "asgi_core/timers.py",
    "asgi_core/websocket.py",
    "asgi_core/websocket_frames.py",
]


def ext_modules() -> list[Any]:
    """mypyc's extension modules when ``ASGI_CORE_MYPYC=1``, else none (the pure install)."""
    if os.environ.get("ASGI_CORE_MYPYC") != "1":
        return []
    from mypyc.build import mypycify

    return mypycify(MYPYC_MODULES, opt_level="3")


setup(ext_modules=ext_modules())
