"""HTTP/1.1 (RFC 9112): the connection, request reading, response framing, 100-continue."""

from .connection import HTTP11Connection

__all__ = ["HTTP11Connection"]
