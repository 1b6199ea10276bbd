"""Config is validated once and frozen: a wrong limit is refused with the field's name."""

from __future__ import annotations

import dataclasses
import sys

import pytest

from asgi_core import Config, ConfigError


def test_defaults_are_valid_and_frozen() -> None:
    config = Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.keep_alive_timeout = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("keep_alive_timeout", 0),
        ("keep_alive_timeout", -1.0),
        ("request_head_timeout", float("inf")),
        ("request_body_timeout", float("nan")),
        ("max_request_head_size", 0),
        ("max_buffered_body_size", "64k"),
        ("max_request_body_size", True),
        ("root_path", "api"),
        ("root_path", "/api/"),
        ("server_header", "bad\r\nheader"),
        ("date_header", "yes"),
    ],
)
def test_bad_values_name_the_field(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field):
        Config(**{field: value})


def test_body_limit_can_be_turned_off() -> None:
    assert Config(max_request_body_size=None).max_request_body_size is None


def test_http_httptools_without_httptools_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "httptools", None)  # as on the pure install
    with pytest.raises(ConfigError, match=r"httptools is not installed \(pip install"):
        Config(http="httptools")
    assert Config(http="auto").http == "auto"  # auto falls back to h11
