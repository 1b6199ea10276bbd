"""Loading the application named on the command line (``module:attribute``)."""

from __future__ import annotations

import importlib
import sys
from typing import Any


class AppImportError(Exception):
    """The app string does not name an importable ASGI application (one line for the user)."""


def import_app(spec: str, app_dir: str | None = ".") -> Any:
    """Import ``module:attr`` (``attr`` may be dotted); the module is looked up in ``app_dir``."""
    module_name, sep, attrs = spec.partition(":")
    if not sep or not module_name or not attrs:
        raise AppImportError(f'app must be given as "module:attribute", not {spec!r}')
    if app_dir is not None and app_dir not in sys.path:
        sys.path.insert(0, app_dir)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            raise AppImportError(f"could not import module {module_name!r}") from None
        raise AppImportError(
            f"importing {module_name!r} failed: {type(exc).__name__}: {exc}"
        ) from None
    except Exception as exc:
        raise AppImportError(
            f"importing {module_name!r} failed: {type(exc).__name__}: {exc}"
        ) from None
    app: Any = module
    for attr in attrs.split("."):
        try:
            app = getattr(app, attr)
        except AttributeError:
            raise AppImportError(f"module {module_name!r} has no attribute {attrs!r}") from None
    if not callable(app):
        raise AppImportError(f"{spec!r} is not callable, so it is not an ASGI application")
    return app
