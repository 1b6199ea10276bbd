"""The ASGI HTTP rules for one stream, shared by every protocol.

``HTTPStream`` checks what the application sends against the ASGI HTTP spec (what may be sent
when, and in what shape), buffers the request body until the application asks for it, and
hands wire-ready pieces to its protocol through the small ``HTTPWire`` interface. The protocol
modules (``http11``, later ``http2``) only encode those pieces.
"""

from __future__ import annotations

import os
import re
from collections import deque
from collections.abc import Mapping
from typing import Any, Protocol

from .errors import AppProtocolError, ClientDisconnected
from .events import AppReceive, Event
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

DISCONNECT: dict[str, Any] = {"type": "http.disconnect"}
INTERNAL_ERROR_BODY = b"Internal Server Error"


class HTTPWire(Protocol):
    """What a protocol does for an ``HTTPStream``: put its response on the wire."""

    def start_response(
        self, stream: HTTPStream, status: int, headers: Headers, flags: int, body: bytes, end: bool
    ) -> None:
        """Send the head with the first body piece; ``end`` means no body nor trailers follow."""

    def send_body(self, stream: HTTPStream, body: bytes, end: bool) -> None:
        """Send more body; ``end`` means the response is complete (no trailers follow)."""

    def send_trailers(self, stream: HTTPStream, trailers: Headers) -> None:
        """Send the trailers, which complete the response."""

    def abort_response(self, stream: HTTPStream) -> None:
        """The response cannot be completed: end it without a fake end of message."""

    def request_body_wanted(self, stream: HTTPStream) -> None:
        """The application waits for body not yet received (HTTP/1.1 sends 100 Continue)."""

    def request_body_consumed(self, stream: HTTPStream, size: int) -> None:
        """The application took ``size`` bytes of body (reading or window updates may resume)."""


def add_server_headers(
    headers: Headers, present: int, server: bytes | None, date: DateHeader | None
) -> None:
    """Append ``Server`` and ``Date`` unless ``present`` (HAS_* flags) says the app sent them;
    ``None`` leaves one out (Config.server_header None, Config.date_header False)."""
    if not present & HAS_SERVER and server is not None:
        headers.append((b"server", server))
    if not present & HAS_DATE and date is not None:
        headers.append((b"date", date.value))


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
    try:
        items = iter(headers)  # type: ignore[call-overload]
    except TypeError:
        raise AppProtocolError(
            f"{what} 'headers' must be an iterable of [name, value] pairs, got {headers!r}"
        ) from None
    for item in items:
        try:
            name, value = item
        except (TypeError, ValueError):
            raise AppProtocolError(
                f"{what} header must be a [name, value] pair, got {item!r}"
            ) from None
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
        name = name.lower()
        if name == b"content-length":
            if _DIGITS.fullmatch(value.strip()) is None or flags & HAS_CONTENT_LENGTH:
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
        result.append((name, value.strip(b" \t")))
    return result, flags


def _check_body(message: Mapping[str, Any]) -> tuple[bytes, bool]:
    body = message.get("body", b"")
    if type(body) is not bytes:
        if not isinstance(body, (bytearray, memoryview)):
            raise AppProtocolError(
                f"'http.response.body' needs bytes in 'body', got {type(body).__name__}"
            )
        body = bytes(body)
    more_body = message.get("more_body", False)
    if type(more_body) is not bool:
        raise AppProtocolError(f"'more_body' must be a bool, got {more_body!r}")
    return body, more_body


# Response states of a stream.
START = 0  # nothing sent by the app yet
HEAD = 1  # http.response.start received, nothing on the wire yet
BODY = 2  # head on the wire, more body to come
FILE = 3  # http.response.pathsend accepted: the driver streams the file as body messages
TRAILERS = 4  # body complete, http.response.trailers due
DONE = 5  # response complete (or replaced by an error response)
ABORTED = 6  # the response was cut short


class HTTPStream:
    """One request/response exchange, as the application sees it."""

    __slots__ = (
        "_body",
        "_events",
        "_head",
        "_wire",
        "body_complete",
        "body_delivered",
        "buffered",
        "disconnected",
        "method",
        "receive_pending",
        "response_state",
        "stream_id",
        "trailers_allowed",
        "wants_trailers",
    )

    def __init__(
        self,
        stream_id: int,
        wire: HTTPWire,
        events: deque[Event],
        *,
        method: str,
        trailers_allowed: bool,
    ) -> None:
        self.stream_id = stream_id
        self._wire = wire
        self._events = events
        self.method = method
        self.trailers_allowed = trailers_allowed
        self._body: list[bytes] = []
        self.buffered = 0
        self.body_complete = False
        self.body_delivered = False
        self.disconnected = False
        self.receive_pending = 0
        self.response_state = START
        self._head: tuple[int, Headers, int] | None = None
        self.wants_trailers = False

    # -- the request side: body in, receive() out --------------------------------------------

    @property
    def response_complete(self) -> bool:
        return self.response_state >= DONE

    def feed_body(self, data: bytes) -> None:
        """Request body bytes from the wire; delivered by ``deliver()`` once the input is parsed,
        so that one read becomes one ``http.request`` message."""
        if self.response_state >= DONE:
            return  # the answer is out; the rest of the body is read and dropped
        self._body.append(data)
        self.buffered += len(data)

    def end_body(self) -> None:
        """The request body is complete."""
        self.body_complete = True
        if self.receive_pending:
            self.deliver()

    def disconnect(self) -> None:
        """The client is gone: pending and later ``receive()`` calls get ``http.disconnect``."""
        self.disconnected = True
        if self.response_state < DONE:
            self.response_state = ABORTED
        self._body.clear()
        self.buffered = 0
        if self.receive_pending:
            self.deliver()

    def app_receive(self) -> None:
        """The application awaits ``receive()``: an ``AppReceive`` answers it, now or later."""
        self.receive_pending += 1
        if not self.body_delivered and not self._body and not self.body_complete:
            self._wire.request_body_wanted(self)
        self.deliver()

    @property
    def waiting_for_body(self) -> bool:
        """The application waits for request body that has not arrived."""
        return bool(self.receive_pending) and not self.body_delivered and not self.disconnected

    def deliver(self) -> None:
        while self.receive_pending:
            if self.disconnected or self.response_state >= DONE:
                message = DISCONNECT
            elif self.body_delivered:
                return  # the whole body is out: the next message is http.disconnect
            elif self._body or self.body_complete:
                body = self._body[0] if len(self._body) == 1 else b"".join(self._body)
                if type(body) is not bytes:  # h11 hands out bytearrays; ASGI says bytes
                    body = bytes(body)
                self._body.clear()
                size, self.buffered = self.buffered, 0
                more = not self.body_complete
                self.body_delivered = not more
                message = {"type": "http.request", "body": body, "more_body": more}
                if size:
                    self._wire.request_body_consumed(self, size)
            else:
                return
            self.receive_pending -= 1
            self._events.append(AppReceive(self.stream_id, message))

    # -- the response side: send() in, wire pieces out ---------------------------------------

    def app_send(self, message: Mapping[str, Any]) -> None:
        """Check one application message and pass what it means to the wire."""
        state = self.response_state
        if state >= DONE or self.disconnected:
            if self.disconnected:
                raise ClientDisconnected(f"stream {self.stream_id}: the client has disconnected")
            kind = message.get("type") if isinstance(message, Mapping) else message
            raise AppProtocolError(f"{kind!r} sent after the response was complete")
        if not isinstance(message, Mapping):
            self._reject(f"an ASGI message must be a dict, got {type(message).__name__}")
        kind = message.get("type")
        if state == START:
            if kind != "http.response.start":
                self._reject(f"expected 'http.response.start', got {kind!r}")
            try:
                status = check_status(message.get("status"))
                headers, flags = check_headers(message.get("headers", ()), "'http.response.start'")
            except AppProtocolError as exc:
                self._reject(str(exc))
            trailers = message.get("trailers", False)
            if type(trailers) is not bool:
                self._reject(f"'trailers' must be a bool, got {trailers!r}")
            if trailers and not self.trailers_allowed:
                self._reject(
                    "'trailers' is True but the scope does not offer 'http.response.trailers'"
                )
            self.wants_trailers = trailers
            self._head = (status, headers, flags)
            self.response_state = HEAD
        elif kind == "http.response.body" and state in (HEAD, BODY, FILE):
            try:
                body, more = _check_body(message)
            except AppProtocolError as exc:
                self._reject(str(exc))
            end = not more and not self.wants_trailers
            if self._head is not None:  # the first body (also after pathsend): head goes too
                status, headers, flags = self._head
                self._head = None
                self.response_state = BODY if more else TRAILERS if self.wants_trailers else DONE
                self._wire.start_response(self, status, headers, flags, body, end)
            else:
                if not more:
                    self.response_state = TRAILERS if self.wants_trailers else DONE
                self._wire.send_body(self, body, end)
            if self.response_state == DONE:
                self._response_done()
        elif kind == "http.response.pathsend" and state == HEAD:
            path = message.get("path")
            if not isinstance(path, str) or not os.path.isabs(path):
                self._reject(f"'http.response.pathsend' needs an absolute 'path' str, got {path!r}")
            self.response_state = FILE
        elif kind == "http.response.trailers" and state == TRAILERS:
            try:
                trailers_list, _ = check_headers(
                    message.get("headers", ()), "'http.response.trailers'"
                )
            except AppProtocolError as exc:
                self._reject(str(exc))
            more_trailers = message.get("more_trailers", False)
            if more_trailers:
                self._reject("'more_trailers' is not supported: send all trailers at once")
            self.response_state = DONE
            self._wire.send_trailers(self, trailers_list)
            self._response_done()
        else:
            expected = {
                HEAD: "'http.response.body' or 'http.response.pathsend'",
                BODY: "'http.response.body'",
                FILE: "'http.response.body' (the file's content)",
                TRAILERS: "'http.response.trailers' (the start message set trailers=True)",
            }[state]
            self._reject(f"expected {expected}, got {kind!r}")

    def _reject(self, rule: str) -> None:
        self.fail()
        raise AppProtocolError(rule)

    def fail(self) -> None:
        """The application broke a rule or raised: answer 500, or cut a started response."""
        if self.response_state == START or self._head is not None:
            self._head = None
            self.wants_trailers = False
            self.response_state = DONE
            self._wire.start_response(
                self,
                500,
                [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")],
                HAS_CONNECTION_CLOSE,
                INTERNAL_ERROR_BODY,
                True,
            )
            self._response_done()
        elif self.response_state < DONE:
            self.response_state = ABORTED
            self._wire.abort_response(self)
            self._response_done()

    def finish(self) -> None:
        """The application's coroutine ended; a response it left unfinished is failed."""
        if self.response_state < DONE:
            self.fail()

    def _response_done(self) -> None:
        self._body.clear()
        self.buffered = 0
        if self.receive_pending:
            self.deliver()
