"""pytest plugin: ``def test_home(asgi_client): assert asgi_client.get("/").status == 200``.

Define an ``asgi_app`` fixture returning your app; override ``asgi_client_options`` (a dict of
``SyncASGIClient`` options: ``http_version``, ``backend``, ``config``...) to change how it is
served.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .sync import SyncASGIClient


@pytest.fixture
def asgi_app() -> Any:
    """Override this fixture to return the ASGI app under test."""
    pytest.fail("define an 'asgi_app' fixture that returns the ASGI app to test")


@pytest.fixture
def asgi_client_options() -> dict[str, Any]:
    """Options for ``asgi_client`` (``SyncASGIClient`` keywords); empty by default."""
    return {}


@pytest.fixture
def asgi_client(asgi_app: Any, asgi_client_options: dict[str, Any]) -> Iterator[SyncASGIClient]:
    """A ``SyncASGIClient`` for ``asgi_app``: the real core, in memory, no sockets."""
    with SyncASGIClient(asgi_app, **asgi_client_options) as client:
        yield client
