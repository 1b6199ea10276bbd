"""Loading the application named on the command line (``module:attribute``)."""

from __future__ import annotations

import importlib
import logging
import sys
import traceback
from typing import Any

from .logs import logger
from .wsgi import InterfaceError, as_asgi3


class AppImportError(Exception):
    """The app string does not name an importable ASGI application (one line for the user)."""


def import_app(
    spec: str,
    app_dir: str | None = ".",
    factory: bool = False,
    interface: str = "asgi3",
    wsgi_threads: int | None = None,
) -> Any:
    """Import ``module:attr`` (``attr`` may be dotted); the module is looked up in ``app_dir``.

    With ``factory``, ``attr`` is a callable taking no arguments that returns the app
    (uvicorn's ``--factory``). A module that raises while importing is logged with its
    traceback at debug level, and the one-line error names the exception and where it was raised.
    ``interface`` (``auto``, ``asgi3``, ``asgi2``, ``wsgi``) says what the app speaks; an ASGI 2
    or WSGI app comes back wrapped as ASGI 3 (``backends/wsgi.py``, ``wsgi_threads`` threads).
    """
    module_name, sep, attrs = spec.partition(":")
    if not sep or not module_name or not attrs:
        raise AppImportError(f'app must be given as "module:attribute", not {spec!r}')
    if app_dir is not None and app_dir not in sys.path:
        sys.path.insert(0, app_dir)
    module = _import_module(module_name)
    app: Any = module
    for attr in attrs.split("."):
        try:
            app = getattr(app, attr)
        except AttributeError:
            raise AppImportError(f"module {module_name!r} has no attribute {attrs!r}") from None
    if factory:
        app = _call_factory(spec, app)
    if not callable(app):
        raise AppImportError(f"{spec!r} is not callable, so it is not an ASGI application")
    try:
        return as_asgi3(app, interface, spec, wsgi_threads)
    except InterfaceError as exc:
        raise AppImportError(str(exc)) from None


def _import_module(name: str) -> Any:
    """The module ``name``; a module missing is told from a module that imports something
    missing (``numpyapp`` needs numpy: "module 'numpy' is missing, imported by 'numpyapp'")."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        missing = exc.name
        if missing is not None and (name == missing or name.startswith(missing + ".")):
            raise AppImportError(f"could not import module {name!r}") from None
        logger.debug("importing %r failed", name, exc_info=exc)
        raise AppImportError(
            f"importing {name!r} failed: module {missing!r} is missing{_where(exc)}"
            " (is it installed?)"
        ) from None
    except Exception as exc:
        logger.debug("importing %r failed", name, exc_info=exc)
        raise AppImportError(
            f"importing {name!r} failed: {type(exc).__name__}: {exc}{_where(exc)}{_hint()}"
        ) from None


def _call_factory(spec: str, factory: Any) -> Any:
    """The app an app factory returns; its exceptions reported as import errors are."""
    if not callable(factory):
        raise AppImportError(f"{spec!r} is not callable, so it is not an app factory")
    try:
        return factory()
    except Exception as exc:
        logger.debug("the app factory %r raised", spec, exc_info=exc)
        raise AppImportError(
            f"the app factory {spec!r} raised {type(exc).__name__}: {exc}{_where(exc)}{_hint()}"
        ) from None


def _hint() -> str:
    """Where the traceback is, unless the debug log has just shown it."""
    return "" if logger.isEnabledFor(logging.DEBUG) else " (--log-level debug shows the traceback)"


def _where(exc: BaseException) -> str:
    """`` (file.py, line N)``: the innermost frame of the traceback outside importlib (a
    SyntaxError says where itself)."""
    if isinstance(exc, SyntaxError):
        return ""
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if "importlib" not in frame.filename and frame.filename != __file__
    ]
    return f" ({frames[-1].filename}, line {frames[-1].lineno})" if frames else ""
