"""Where option values come from besides the command line: the environment, an env file and a
TOML file, each value parsed as its flag's would be and labelled with its source for errors.

The table of options is ``cli.FLAGS``; this module only reads and converts. Precedence (the
caller's): command line, then environment, then file, then the field's default.
"""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asgi_core.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the tomli backport (a dependency on 3.10 only)
    import tomli as tomllib

ENV_PREFIX = "ASGI_CORE_"
#: The table of ``pyproject.toml`` read when no ``--config`` is given.
PYPROJECT_TABLE = ("tool", "asgi-core")

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class OptionError(ConfigError):
    """A value from a named source is wrong; the message starts with the source."""


@dataclass(frozen=True, slots=True)
class Spec:
    """What ``convert`` needs of a flag: its field, the default, how it parses."""

    dest: str
    default: Any
    #: ``int``/``float``/``str``, or the flag's own parse function; None for a switch.
    parse: Callable[[str], Any] | None
    switch: bool = False
    repeatable: bool = False
    choices: tuple[str, ...] | None = None
    zero_is_off: bool = False
    has_off: bool = False
    #: How several values are written in one environment variable.
    separator: str = ","


def convert(spec: Spec, value: object, text: bool) -> Any:
    """``value`` (a string when ``text``: a flag or an environment variable; otherwise a TOML
    value) as the field takes it; a ``ValueError`` says what is wrong, without the source."""
    if spec.has_off and (value is None or value is False or (text and value == "")):
        return None
    if spec.switch:
        return _switch(spec, value, text)
    if spec.repeatable:
        return _repeated(spec, value, text)
    result = _one(spec, value, text)
    if spec.zero_is_off and result == 0:
        return None
    return result


def _switch(spec: Spec, value: object, text: bool) -> bool:
    if isinstance(value, bool):
        return value
    if text and isinstance(value, str) and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    raise ValueError(f"{spec.dest} must be true or false, not {value!r}")


def _repeated(spec: Spec, value: object, text: bool) -> tuple[Any, ...]:
    if text and isinstance(value, str):
        items: Iterable[object] = [v.strip() for v in value.split(spec.separator) if v.strip()]
    elif isinstance(value, (list, tuple)):
        items = value
    elif isinstance(value, str):
        items = [value]
    else:
        raise ValueError(f"{spec.dest} must be a list of strings, not {value!r}")
    return tuple(_one(spec, item, True) for item in items)


def _one(spec: Spec, value: object, text: bool) -> Any:
    """One value: a choice, a number or a string, through the flag's parse function."""
    parse = spec.parse or str
    if spec.choices is not None:
        if value not in spec.choices:
            raise ValueError(f"{spec.dest} must be one of {', '.join(spec.choices)}, not {value!r}")
        return value
    if not text and not isinstance(value, str):
        return _typed(spec, parse, value)
    if not isinstance(value, str):
        raise ValueError(f"{spec.dest} must be a string, not {value!r}")
    try:
        return parse(value)
    except ValueError as exc:
        detail = "" if parse is int or parse is float else f" ({exc})"
        raise ValueError(f"{spec.dest} must be {_kind(parse)}, not {value!r}{detail}") from None


def _kind(parse: Callable[[str], Any]) -> str:
    """What a value parsed by ``parse`` is, for an error message."""
    if parse is int:
        return "an int"
    if parse is float:
        return "a number"
    return "a string" if parse is str else "valid"


def _typed(spec: Spec, parse: Callable[[str], Any], value: object) -> Any:
    """A TOML number for an int or float field (a bool is neither)."""
    if parse is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if parse is int and type(value) is int:
        return value
    wanted = _kind(parse) if parse is int or parse is float else "a string"
    raise ValueError(f"{spec.dest} must be {wanted}, not {value!r}")


def env_name(dest: str) -> str:
    """The environment variable of an option: ``ASGI_CORE_`` and the field in capitals."""
    return ENV_PREFIX + dest.upper()


def read_env_file(path: str, environ: dict[str, str] | os._Environ[str]) -> set[str]:
    """Put ``NAME=VALUE`` lines of ``path`` into ``environ`` where it has no such variable (as
    python-dotenv, so the app sees them too); return the names it set. ``#`` starts a comment,
    ``export`` may lead, a value may be quoted."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise OptionError(f"--env-file {path}: {exc.strerror or exc}") from None
    added: set[str] = set()
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.removeprefix("export ").partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name.isidentifier():
            raise OptionError(f"{path}, line {number}: expected NAME=VALUE, not {raw!r}")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.partition(" #")[0].rstrip()
        if name not in environ:
            environ[name] = value
            added.add(name)
    return added


def read_config_file(path: str | None) -> tuple[str, dict[str, Any]]:
    """The options table of a TOML file and its label for errors: ``path`` itself (the
    ``[tool.asgi-core]`` table if it is a pyproject.toml), or with no path the
    ``[tool.asgi-core]`` table of ./pyproject.toml when there is one."""
    if path is None:
        if not Path("pyproject.toml").is_file():
            return "", {}
        path, label = "pyproject.toml", "pyproject.toml [tool.asgi-core]"
        required = False
    else:
        label, required = path, True
    try:
        with open(path, "rb") as file:
            document = tomllib.load(file)
    except OSError as exc:
        raise OptionError(f"--config {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise OptionError(f"{path}: invalid TOML: {exc}") from None
    if Path(path).name == "pyproject.toml":
        table = document.get(PYPROJECT_TABLE[0], {}).get(PYPROJECT_TABLE[1])
        if table is None:
            if required:
                raise OptionError(f"{path}: no [tool.asgi-core] table")
            return "", {}
        return f"{path} [tool.asgi-core]", table
    return label, document


def file_values(label: str, table: Mapping[str, Any], keys: Mapping[str, str]) -> dict[str, Any]:
    """The file's values by field name; ``keys`` maps every accepted key to its field. An
    unknown key, or two keys for one field, is an error naming the closest key."""
    values: dict[str, Any] = {}
    for key, value in table.items():
        dest = keys.get(key.replace("-", "_"))
        if dest is None:
            close = difflib.get_close_matches(key, keys, 1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise OptionError(f"{label}: unknown option {key!r}{hint}")
        if dest in values:
            raise OptionError(f"{label}: {key!r} sets {dest}, which another key sets too")
        values[dest] = value
    return values
