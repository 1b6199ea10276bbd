"""``Expect: 100-continue`` (RFC 9110 section 10.1.1): where the 100 is sent, and when not.

The interim response goes out only once the application waits for the body, so an app that
answers at once (a 401, a 413) never invites the upload. A response that starts while the
client still waits for the 100 ends the connection: the client may or may not send its body.
"""

from __future__ import annotations

from .writers import CONTINUE


class ExpectContinue:
    """Whether the current request's client waits for ``100 Continue``."""

    __slots__ = ("waiting",)

    def __init__(self) -> None:
        self.waiting = False

    def on_request(self, expects: bool, http10: bool) -> None:
        """A new request head, and whether its (last) Expect is ``100-continue``; HTTP/1.0
        clients never wait (RFC 9110 section 10.1.1)."""
        self.waiting = expects and not http10

    def body_wanted(self, out: bytearray) -> None:
        """The application awaits the body: invite it."""
        if self.waiting:
            self.waiting = False
            out += CONTINUE

    def response_starts(self, body_complete: bool) -> bool:
        """A response begins; whether the connection may still be kept alive afterwards."""
        waited = self.waiting and not body_complete
        self.waiting = False
        return not waited
