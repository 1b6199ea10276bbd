"""RFC 9113 sections 8.2 and 8.3: when a request's or its trailers' fields make it malformed.

The core checks these itself, with h2's inbound validation off: h2 tests each field through a
chain of generators and a loop over every byte in Python, about a tenth of an HTTP/2 request's
cost. The rules are h2's own, field for field (a differential test holds the two to the same
answers): a malformed request is reset with PROTOCOL_ERROR, as section 8.1.1 asks.
"""

from __future__ import annotations

import re

from ..headers import Headers

#: Section 8.2.1: "A field name MUST NOT contain characters in the ranges 0x00-0x20, 0x41-0x5a,
#: or 0x7f-0xff", nor a colon but a pseudo-header's first.
_FIELD_NAME = re.compile(rb"[\x21-\x39\x3b-\x40\x5b-\x7e]+")
#: "A field value MUST NOT contain the zero value ..., line feed ... or carriage return".
_FORBIDDEN_IN_VALUE = re.compile(rb"[\x00\n\r]")
_EDGE_WHITESPACE = (0x20, 0x09)
#: Section 8.2.2: fields that are connection-specific in HTTP/1.1.
CONNECTION_SPECIFIC = frozenset(
    {b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade"}
)
#: Section 8.3.1 and RFC 8441 section 4; ``:status`` is a response's (section 8.3.2).
_REQUEST_PSEUDO = frozenset({b":method", b":scheme", b":authority", b":path", b":protocol"})


def field_problem(name: bytes, value: bytes) -> str | None:
    """What is wrong with one field of any block (section 8.2), if anything."""
    if not name:
        return "an empty field name"
    if name[0] == 0x3A:
        if name not in _REQUEST_PSEUDO:
            return f"the pseudo-header {name!r}, which a request may not carry"
    elif _FIELD_NAME.fullmatch(name) is None:
        return f"the field name {name!r}"
    elif name in CONNECTION_SPECIFIC:
        return f"the connection-specific field {name!r}"
    elif name == b"te" and value.lower() != b"trailers":
        return f"te: {value!r} (only 'trailers' is allowed)"
    if value and (
        value[0] in _EDGE_WHITESPACE
        or value[-1] in _EDGE_WHITESPACE
        or _FORBIDDEN_IN_VALUE.search(value) is not None
    ):
        return f"the value {value!r} of {name!r}"
    return None


def request_problem(headers: Headers) -> str | None:
    """Why a request's header block is malformed (sections 8.2 and 8.3), or None."""
    seen: set[bytes] = set()
    regular = False
    method = authority = host = None
    hosts = 0
    for name, value in headers:
        problem = field_problem(name, value)
        if problem is not None:
            return problem
        if name[0] == 0x3A:
            if name in seen:
                return f"a second {name!r}"
            if regular:
                return f"{name!r} after a regular field"
            seen.add(name)
            if name == b":method":
                method = value
            elif name == b":authority":
                authority = value
            elif name == b":path" and not value:
                return "an empty :path"
        else:
            regular = True
            if name == b"host":
                hosts += 1
                host = value
    return _pseudo_problem(seen, method) or _host_problem(authority, host, hosts)


def _pseudo_problem(seen: set[bytes], method: bytes | None) -> str | None:
    """The pseudo-headers a request needs, for its method (section 8.3.1; RFC 8441 section 4
    for an extended CONNECT, section 8.5 for a plain one)."""
    if method is None:
        return "no :method"
    if method == b"CONNECT" and b":protocol" not in seen:
        if b":scheme" in seen or b":path" in seen:
            return "a CONNECT with :scheme or :path"
        return None
    if b":scheme" not in seen or b":path" not in seen:
        return "no :scheme or no :path"
    if b":protocol" in seen and method != b"CONNECT":
        return ":protocol without CONNECT"
    return None


def _host_problem(authority: bytes | None, host: bytes | None, hosts: int) -> str | None:
    """Section 8.3.1: :authority or Host, and the same if both (h2's rule, kept)."""
    if hosts > 1:
        return "more than one host field"
    if authority is None and host is None:
        return "neither :authority nor host"
    if authority is not None and host is not None and authority != host:
        return ":authority and host differ"
    return None


def trailers_problem(headers: Headers) -> str | None:
    """Why a request's trailers are malformed (sections 8.1 and 8.2), or None."""
    for name, value in headers:
        if name[:1] == b":":
            return "a pseudo-header in trailers"
        problem = field_problem(name, value)
        if problem is not None:
            return problem
    return None
