"""The errors the core raises: what the application did wrong, or that the client has gone."""

from __future__ import annotations


class AppProtocolError(RuntimeError):
    """The application sent an ASGI message that breaks a rule of the spec.

    The message names the rule. The core has already answered the client for it (a 500 when no
    response had started, otherwise the stream is aborted), so the driver only reports it.
    """


class ClientDisconnected(OSError):
    """``send()`` was called after the client went away (ASGI HTTP spec 2.4)."""


class ConfigError(ValueError):
    """A ``Config`` field is out of its allowed range."""
