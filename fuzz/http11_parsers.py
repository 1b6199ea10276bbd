"""HTTP/1.1 parsers target: the same bytes, read in the same pieces, through h11 and through
httptools (``Config.http``), with the tiny app answering every request.

Invariant: both parsers hand the app the same requests (scopes) in the same order, unless the
input holds one of the differences docs/conformance.md lists (bare LF, bytes outside ASCII,
several spaces between the words of a request line, a method llhttp does not know in a read
that another request began). Request smuggling needs two parsers that disagree on where a
request is, or on what it says. Skipped when
httptools is not installed. The seed corpus is the ``http11`` target's.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, replace
from typing import Any

from asgi_core import Config
from asgi_core.http11.httptools_reader import HTTPTOOLS_INSTALLED
from fuzz.common import Driver, Script, decode, require

#: Documented differences: bare LF, bytes outside ASCII, and words of a request line parted
#: by several spaces.
_DIFFERENT = re.compile(rb"(?<!\r)\n|[\x80-\xff]|  +(?:[/*]|[A-Za-z]+://|HTTP/)")


@dataclass(frozen=True)
class ParserScript(Script):
    """A script whose config names the parser."""

    http: str = "h11"

    @property
    def config(self) -> Config:
        return replace(super().config, http=self.http)


def _known_to_llhttp(method: bytes) -> bool:
    import httptools

    try:
        httptools.HttpRequestParser(object()).feed_data(method + b" / HTTP/1.1\r\n\r\n")
    except httptools.HttpParserInvalidMethodError:
        return False
    except (httptools.HttpParserError, httptools.HttpParserUpgrade):  # CONNECT switches
        pass
    return True


def expected(h11: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """What httptools must hand the app, given h11's requests: the same, up to the first whose
    method llhttp does not know (it refuses that one with 400, and the connection closes),
    unless a request that switches protocols came first."""
    for index, (kind, method, _, _, headers) in enumerate(h11):
        if method is not None and not _known_to_llhttp(method.encode("latin-1")):
            return h11[:index]
        if kind == "websocket" or method == "CONNECT" or _asks_to_switch(headers):
            break  # llhttp stops here, and h11 reads the rest of the connection
    return h11


def _asks_to_switch(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether llhttp takes a head with these fields for a protocol switch (it stops there)."""
    import httptools

    head = b"GET / HTTP/1.1\r\n" + b"".join(b"%s: %s\r\n" % f for f in headers) + b"\r\n"
    try:
        httptools.HttpRequestParser(object()).feed_data(head)
    except httptools.HttpParserUpgrade:
        return True
    except httptools.HttpParserError:
        pass
    return False


def _requests(script: Script, http: str) -> list[tuple[Any, ...]]:
    driver = Driver(ParserScript(**vars(script), http=http), alpn="http/1.1").run()
    return [
        (s["type"], s.get("method"), s["raw_path"], s["query_string"], s["headers"])
        for s in (task.scope for task in driver.started)
    ]


def check(data: bytes) -> None:
    """Run one input through both parsers; raise if they disagree on the requests."""
    if not HTTPTOOLS_INSTALLED:
        return
    script = decode(data)
    if _DIFFERENT.search(b"".join(script.pieces)) is not None:
        return
    h11, httptools = _requests(script, "h11"), _requests(script, "httptools")
    # A method llhttp does not know is read by h11 from the request's first byte, unless the
    # request was pipelined behind another in the same read (then 400).
    require(
        httptools in (h11, expected(h11)),
        f"the parsers disagree: h11 {h11!r}, httptools {httptools!r}",
    )


if __name__ == "__main__":
    from fuzz.common import replay

    sys.exit(replay(check, sys.argv[1:]))
