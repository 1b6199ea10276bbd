"""The ASGI HTTP rules for one stream, shared by every protocol.

``HTTPStream`` checks what the application sends against the ASGI HTTP spec (what may be sent
when, and in what shape: the table ``_SEND_RULES``), buffers the request body until the
application asks for it, and hands wire-ready pieces to its protocol through the small
``HTTPWire`` interface. The protocol modules (``http11``, ``http2``) only frame those pieces.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any, NoReturn, Protocol

from .errors import AppProtocolError, ClientDisconnected
from .events import AppReceive, Event, ResponseEnded
from .headers import HAS_CONNECTION_CLOSE, Headers, check_headers, check_status

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


class ResponseState(Enum):
    """Where a stream's response is, as the application's messages move it on."""

    # Members are singletons compared by identity: hash them so too, in C (Enum's own
    # __hash__ is Python code, and these are dict keys on every request).
    __hash__ = object.__hash__

    #: Nothing sent by the app yet.
    START = 0
    #: ``http.response.start`` received; nothing on the wire yet (the head waits for a body).
    HEAD = 1
    #: The head is on the wire and more body is to come.
    BODY = 2
    #: ``http.response.pathsend`` accepted: the driver streams the file as body messages.
    FILE = 3
    #: The body is complete and ``http.response.trailers`` is due.
    TRAILERS = 4
    #: The response is complete (or was replaced by an error response).
    DONE = 5
    #: The response was cut short (the client left, or it could not be completed).
    ABORTED = 6


START, HEAD, BODY, FILE, TRAILERS, DONE, ABORTED = ResponseState


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
        "bytes_sent",
        "disconnected",
        "ended",
        "method",
        "receive_pending",
        "response_state",
        "status",
        "stream_id",
        "trailers_allowed",
        "wants_trailers",
    )

    def __init__(
        self,
        stream_id: int,
        wire: HTTPWire,
        events: list[Event],
        *,
        method: str,
        trailers_allowed: bool,
    ) -> None:
        self.stream_id = stream_id
        self._wire = wire
        self._events = events
        self.method = method
        self.trailers_allowed = trailers_allowed
        self._body: list[bytes | bytearray] = []
        self.buffered = 0
        self.body_complete = False
        self.body_delivered = False
        self.disconnected = False
        self.receive_pending = 0
        self.response_state = START
        self._head: tuple[int, Headers, int] | None = None
        self.wants_trailers = False
        #: What ``ResponseEnded`` reports: the status sent (0: none), body bytes, reported yet.
        self.status = 0
        self.bytes_sent = 0
        self.ended = False

    # -- the request side: body in, receive() out --------------------------------------------

    @property
    def response_complete(self) -> bool:
        """The response is over: complete, replaced by an error response, or cut short."""
        state = self.response_state
        return state is DONE or state is ABORTED

    @property
    def response_begun(self) -> bool:
        """Part of the response may be on the wire (an error response can no longer replace it)."""
        state = self.response_state
        return state is not START and state is not HEAD

    def feed_body(self, data: bytes | bytearray) -> None:
        """Request body bytes from the wire; delivered by ``deliver()`` once the input is parsed,
        so that one read becomes one ``http.request`` message."""
        if self.response_complete:
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
        if not self.response_complete:
            self.response_state = ABORTED
            self._report(False)
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
        """Answer pending ``receive()`` calls with what has arrived (or ``http.disconnect``)."""
        while self.receive_pending:
            if self.disconnected or self.response_complete:
                message = DISCONNECT
            elif self.body_delivered:
                return  # the whole body is out: the next message is http.disconnect
            elif self._body or self.body_complete:
                message = self._take_body()
            else:
                return
            self.receive_pending -= 1
            self._events.append(AppReceive(self.stream_id, message))

    def _take_body(self) -> dict[str, Any]:
        """Everything buffered, as one ``http.request`` message."""
        body = self._body[0] if len(self._body) == 1 else b"".join(self._body)
        if type(body) is not bytes:  # h11 hands out bytearrays; ASGI says bytes
            body = bytes(body)
        self._body.clear()
        size, self.buffered = self.buffered, 0
        more = not self.body_complete
        self.body_delivered = not more
        if size:
            self._wire.request_body_consumed(self, size)
        return {"type": "http.request", "body": body, "more_body": more}

    # -- the response side: send() in, wire pieces out ---------------------------------------

    def app_send(self, message: Mapping[str, Any]) -> None:
        """Check one application message against ``_SEND_RULES`` and pass it to the wire."""
        state = self.response_state
        if self.disconnected:
            raise ClientDisconnected(f"stream {self.stream_id}: the client has disconnected")
        if state is DONE or state is ABORTED:
            kind = message.get("type") if isinstance(message, Mapping) else message
            raise AppProtocolError(f"{kind!r} sent after the response was complete")
        if not isinstance(message, Mapping):
            self._violation(f"an ASGI message must be a dict, got {type(message).__name__}")
        kind = message.get("type")
        rule = _SEND_RULES.get((state, kind)) if type(kind) is str else None
        if rule is None:
            self._violation(f"expected {_EXPECTED[state]}, got {kind!r}")
        try:
            rule(self, message)
        except AppProtocolError:
            if self.response_state is state:  # the message was refused before it took effect
                self.fail()
            raise  # the rule's own error: one traceback, not one chained to a copy

    def _on_start(self, message: Mapping[str, Any]) -> None:
        status = check_status(message.get("status"))
        headers, flags = check_headers(message.get("headers", ()), "'http.response.start'")
        trailers = message.get("trailers", False)
        if type(trailers) is not bool:
            raise AppProtocolError(f"'trailers' must be a bool, got {trailers!r}")
        if trailers and not self.trailers_allowed:
            raise AppProtocolError(
                "'trailers' is True but the scope does not offer 'http.response.trailers'"
            )
        self.wants_trailers = trailers
        self._head = (status, headers, flags)
        self.response_state = HEAD

    def _on_body(self, message: Mapping[str, Any]) -> None:
        body, more = _check_body(message)
        self.bytes_sent += len(body)
        end = not more and not self.wants_trailers
        next_state = BODY if more else TRAILERS if self.wants_trailers else DONE
        head = self._head
        if head is not None:  # the first body (also after pathsend): the head goes with it
            self._head = None
            self.status = head[0]
            self.response_state = next_state
            self._wire.start_response(self, *head, body, end)
        else:
            if not more:
                self.response_state = next_state
            self._wire.send_body(self, body, end)
        if self.response_state is DONE:
            self._response_done()

    def _on_pathsend(self, message: Mapping[str, Any]) -> None:
        path = message.get("path")
        if not isinstance(path, str) or not os.path.isabs(path):
            raise AppProtocolError(
                f"'http.response.pathsend' needs an absolute 'path' str, got {path!r}"
            )
        self.response_state = FILE

    def _on_trailers(self, message: Mapping[str, Any]) -> None:
        trailers, _ = check_headers(message.get("headers", ()), "'http.response.trailers'")
        if message.get("more_trailers", False):
            raise AppProtocolError("'more_trailers' is not supported: send all trailers at once")
        self.response_state = DONE
        self._wire.send_trailers(self, trailers)
        self._response_done()

    def _violation(self, rule: str) -> NoReturn:
        """The application broke ``rule``: its response fails and ``send()`` raises."""
        self.fail()
        raise AppProtocolError(rule)

    def fail(self) -> None:
        """The application broke a rule or raised: answer 500, or cut a started response."""
        if self.response_state is START or self._head is not None:
            self._head = None
            self.wants_trailers = False
            self.response_state = DONE
            self.status = 500
            self.bytes_sent = len(INTERNAL_ERROR_BODY)
            self._wire.start_response(
                self,
                500,
                [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")],
                HAS_CONNECTION_CLOSE,
                INTERNAL_ERROR_BODY,
                True,
            )
            self._response_done()
        elif not self.response_complete:
            self.response_state = ABORTED
            self._wire.abort_response(self)
            self._response_done()

    def finish(self) -> None:
        """The application's coroutine ended; a response it left unfinished is failed."""
        if not self.response_complete:
            self.fail()

    def answered(self, status: int, size: int, request: tuple[str, str, str] | None = None) -> None:
        """The server's own answer replaced this stream's response (413, 408...); ``request``
        names the request when its app was never started."""
        if not self.ended:
            self.ended = True
            self._events.append(ResponseEnded(self.stream_id, status, size, True, True, request))

    def _report(self, complete: bool) -> None:
        """One ``ResponseEnded`` per stream: the response is complete, or cut."""
        if not self.ended:
            self.ended = True
            self._events.append(ResponseEnded(self.stream_id, self.status, self.bytes_sent,
                                              complete))  # fmt: skip

    def _response_done(self) -> None:
        self._report(self.response_state is DONE)
        self._body.clear()
        self.buffered = 0
        if self.receive_pending:
            self.deliver()


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


_Rule = Callable[[HTTPStream, Mapping[str, Any]], None]

#: ASGI HTTP spec, "Response Start" to "Response Trailers" (and the pathsend extension):
#: which message may come in which state, and what handles it (and moves the state on).
_SEND_RULES: dict[tuple[ResponseState, str], _Rule] = {
    (START, "http.response.start"): HTTPStream._on_start,  # -> HEAD
    (HEAD, "http.response.body"): HTTPStream._on_body,  # -> BODY, TRAILERS or DONE
    (HEAD, "http.response.pathsend"): HTTPStream._on_pathsend,  # -> FILE
    (BODY, "http.response.body"): HTTPStream._on_body,  # -> BODY, TRAILERS or DONE
    (FILE, "http.response.body"): HTTPStream._on_body,  # the file's content
    (TRAILERS, "http.response.trailers"): HTTPStream._on_trailers,  # -> DONE
}

#: What the application may send next, for the error message when it sends something else.
_EXPECTED = {
    START: "'http.response.start'",
    HEAD: "'http.response.body' or 'http.response.pathsend'",
    BODY: "'http.response.body'",
    FILE: "'http.response.body' (the file's content)",
    TRAILERS: "'http.response.trailers' (the start message set trailers=True)",
}
