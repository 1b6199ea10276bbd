"""HTTP/2 (RFC 9113) over h2: the connection, flow-controlled sending, limits, h2 internals."""

from .connection import PREFACE, HTTP2Connection

__all__ = ["PREFACE", "HTTP2Connection"]
