"""Flow-controlled sending: each stream's queue goes out as the peer's windows allow.

An application's ``send()`` returns once its data is in h2's hands, and waits (``SendAllowed``
releases it) while the windows hold it back (RFC 9113 section 6.9). A stream's queue outlives
its application: a response sent in full by an app that already returned still drains.
"""

from __future__ import annotations

import contextlib
from collections import deque

import h2.connection
import h2.exceptions
from h2.errors import ErrorCodes

from ..events import Event, SendAllowed
from ..headers import Headers


class Outbound:
    """What one stream still has to send; ``app_waits`` means a ``send()`` waits on it."""

    __slots__ = ("app_waits", "chunks", "end", "no_body", "offset", "remaining", "stop_request",
                 "trailers")  # fmt: skip

    def __init__(self) -> None:
        self.chunks: deque[bytes] = deque()
        self.offset = 0  # bytes of chunks[0] already sent
        self.end = False
        self.trailers: Headers | None = None
        self.app_waits = False
        self.remaining = -1  # bytes the response's content-length still promises; -1: none
        self.no_body = False  # a response to HEAD, or a 204 or 304: the body is dropped
        self.stop_request = False  # once the response is out, RST_STREAM(NO_ERROR)

    @property
    def pending(self) -> bool:
        return bool(self.chunks) or self.end or self.trailers is not None


def reset_stream(conn: h2.connection.H2Connection, stream_id: int, code: ErrorCodes) -> None:
    """RST_STREAM, unless the stream is already closed."""
    with contextlib.suppress(h2.exceptions.StreamClosedError):
        conn.reset_stream(stream_id, code)


class Sender:
    """Every stream's outbound queue on one connection."""

    __slots__ = ("_events", "_h2", "queues")

    def __init__(self, conn: h2.connection.H2Connection, events: list[Event]) -> None:
        self._h2 = conn
        self._events = events
        self.queues: dict[int, Outbound] = {}

    def queue(self, stream_id: int) -> Outbound:
        """The stream's queue, made on first use."""
        out = self.queues.get(stream_id)
        if out is None:
            out = self.queues[stream_id] = Outbound()
        return out

    def flush(self, stream_id: int, out: Outbound) -> None:
        """Send as much of a stream's queue as the flow-control windows allow."""
        conn = self._h2
        try:
            while out.chunks:
                window = conn.local_flow_control_window(stream_id)
                if window <= 0:
                    return
                chunk = out.chunks[0]
                offset = out.offset
                size = min(window, conn.max_outbound_frame_size, len(chunk) - offset)
                piece = chunk[offset : offset + size] if offset or size < len(chunk) else chunk
                offset += size
                if offset == len(chunk):
                    out.chunks.popleft()
                    offset = 0
                out.offset = offset
                last = not out.chunks and out.end and out.trailers is None
                conn.send_data(stream_id, piece, end_stream=last)
                if last:
                    self._sent(stream_id, out)
                    return
            self._after_data(stream_id, out)
        except h2.exceptions.StreamClosedError:
            self.drop(stream_id)

    def _after_data(self, stream_id: int, out: Outbound) -> None:
        """The queue's data is out: the trailers or the end, or release a waiting send()."""
        if out.trailers is not None:
            self._h2.send_headers(stream_id, out.trailers, end_stream=True)
            self._sent(stream_id, out)
        elif out.end:
            self._h2.end_stream(stream_id)
            self._sent(stream_id, out)
        elif out.app_waits:
            out.app_waits = False
            self._events.append(SendAllowed(stream_id))

    def _sent(self, stream_id: int, out: Outbound) -> None:
        del self.queues[stream_id]
        if out.stop_request:
            reset_stream(self._h2, stream_id, ErrorCodes.NO_ERROR)
        if out.app_waits:
            self._events.append(SendAllowed(stream_id))

    def flush_all(self) -> None:
        """After a window opened: every blocked stream sends what it now can."""
        for stream_id, out in list(self.queues.items()):
            if out.pending:
                self.flush(stream_id, out)

    def may_return(self, stream_id: int) -> bool:
        """``send()`` returns once its data is in h2's hands (not held for flow control)."""
        out = self.queues.get(stream_id)
        if out is None or not out.chunks:
            return True
        out.app_waits = True
        return False

    def drop(self, stream_id: int) -> None:
        """The stream will send nothing more; a waiting ``send()`` returns."""
        out = self.queues.pop(stream_id, None)
        if out is not None and out.app_waits:
            self._events.append(SendAllowed(stream_id))

    def end_stream(self, stream_id: int) -> None:
        out = self.queue(stream_id)
        out.end = True
        self.flush(stream_id, out)

    def release_all(self) -> None:
        """The connection is closed: every waiting ``send()`` returns."""
        for stream_id, out in self.queues.items():
            if out.app_waits:
                self._events.append(SendAllowed(stream_id))
        self.queues.clear()
