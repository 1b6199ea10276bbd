"""Every place the core reaches into h11 beyond its public API, in one module.

Guarded by tests (``tests/core/test_h11_internals.py``) that fail when h11 changes what they
rely on, as ``asgi_core/http2/h2_internals.py`` does for h2.
"""

from __future__ import annotations

import h11
from h11._readers import ChunkedReader


def pending_chunk_size(conn: h11.Connection) -> int:
    """Bytes the current chunk's size line announced that h11 has not handed out yet (0 when
    the body is not chunked, or between chunks). h11 accepts sizes of up to 20 hex digits and
    then waits for that much, so the size is only known from its reader."""
    reader = getattr(conn, "_reader", None)
    if isinstance(reader, ChunkedReader):
        return int(getattr(reader, "_bytes_in_chunk", 0))
    return 0
