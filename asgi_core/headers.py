"""Checking the header fields an application sends, and adding ``Server`` and ``Date``.

Every protocol frames what these functions have checked, so names and values are validated
once, here (RFC 9110 sections 5.1 and 5.5), whatever the wire.
"""

from __future__ import annotations

import re
from typing import cast

from .errors import AppProtocolError
from .httpdate import DateHeader

Headers = list[tuple[bytes, bytes]]

# RFC 9110 section 5.1 (token) and 5.5 (field values: no CTL but HTAB).
TOKEN = re.compile(rb"[-!#$%&'*+.^_`|~0-9a-zA-Z]+")
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_DIGITS = re.compile(rb"[0-9]{1,19}")

#: Flags ``check_headers`` reports, so protocols need not scan the headers again.
HAS_CONTENT_LENGTH = 1
HAS_DATE = 2
HAS_SERVER = 4
HAS_CONNECTION_CLOSE = 8

#: Statuses whose responses carry no content (RFC 9110 sections 15.3.5 and 15.4.5).
NO_BODY_STATUSES = frozenset({204, 304})


def add_server_headers(
    headers: Headers,
    present: int,
    server: bytes | None,
    date: DateHeader | None,
    default: tuple[tuple[bytes, bytes], ...] = (),
) -> None:
    """Append ``Server`` and ``Date`` unless ``present`` (HAS_* flags) says the app sent them;
    ``None`` leaves one out (Config.server_header None, Config.date_header False). Then the
    ``default`` headers (Config.default_headers) the app did not send; empty costs nothing."""
    if default:
        present = _add_default_headers(headers, present, default)
    if not present & HAS_SERVER and server is not None:
        headers.append((b"server", server))
    if not present & HAS_DATE and date is not None:
        headers.append((b"date", date.value))


def _add_default_headers(
    headers: Headers, present: int, default: tuple[tuple[bytes, bytes], ...]
) -> int:
    """Append each default header whose name is not among ``headers`` (the app's wins);
    return ``present`` with HAS_SERVER/HAS_DATE set if a default one supplied them."""
    names = {name for name, _ in headers}
    for name, value in default:
        if name not in names:
            headers.append((name, value))
    added = {name for name, _ in default} - names
    return (
        present | (HAS_SERVER if b"server" in added else 0) | (HAS_DATE if b"date" in added else 0)
    )


def present_flags(headers: Headers) -> int:
    """HAS_SERVER and HAS_DATE for headers that were not checked by ``check_headers``."""
    names = {name for name, _ in headers}
    return (HAS_SERVER if b"server" in names else 0) | (HAS_DATE if b"date" in names else 0)


def check_status(status: object) -> int:
    """A final response status: an int from 200 to 599 (RFC 9110 section 15)."""
    if type(status) is not int or not 200 <= status <= 599:
        raise AppProtocolError(
            f"'http.response.start' needs an int 'status' from 200 to 599, got {status!r}"
        )
    return status


def check_headers(headers: object, what: str) -> tuple[Headers, int]:
    """Validate ASGI ``[name, value]`` byte pairs; return them lowercased, plus HAS_* flags.

    ``transfer-encoding`` is dropped: the spec says servers must ignore it and frame the
    body themselves.
    """
    result: Headers = []
    flags = 0
    # Raised outside the except clause: one traceback, with no TypeError chained to it (also
    # where ``from None`` is not honoured, as in a mypyc build).
    try:
        items = iter(headers)  # type: ignore[call-overload]
    except TypeError:
        items = None
    if items is None:
        raise AppProtocolError(
            f"{what} 'headers' must be an iterable of [name, value] pairs, got {headers!r}"
        )
    for item in items:
        name, value = _check_field(item, what)
        if name == b"content-length":
            if _DIGITS.fullmatch(value) is None or flags & HAS_CONTENT_LENGTH:
                raise AppProtocolError(
                    f"{what} has an invalid or repeated content-length {value!r}"
                )
            flags |= HAS_CONTENT_LENGTH
        elif name == b"transfer-encoding":
            continue
        elif name == b"date":
            flags |= HAS_DATE
        elif name == b"server":
            flags |= HAS_SERVER
        elif name == b"connection" and b"close" in value.lower():
            flags |= HAS_CONNECTION_CLOSE
        result.append((name, value))
    return result, flags


def _check_field(item: object, what: str) -> tuple[bytes, bytes]:
    """One ``[name, value]`` pair: bytes, a token name, no control characters in the value;
    returned with the name lowercased and the value stripped of surrounding white space."""
    try:
        name, value = cast("tuple[object, object]", item)
    except (TypeError, ValueError):
        name = value = None  # not a pair; raised below, outside the except clause
    if name is None and value is None:
        raise AppProtocolError(f"{what} header must be a [name, value] pair, got {item!r}")
    if type(name) is not bytes or type(value) is not bytes:
        raise AppProtocolError(
            f"{what} header names and values must be bytes, got {name!r}: {value!r}"
        )
    if TOKEN.fullmatch(name) is None:
        raise AppProtocolError(f"{what} header name {name!r} is not an RFC 9110 token")
    if _BAD_VALUE.search(value) is not None:
        raise AppProtocolError(
            f"{what} header {name!r} has a control character (CR, LF, NUL...) in its value"
        )
    return name.lower(), value.strip(b" \t")
