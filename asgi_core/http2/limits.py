"""Limits against abusive HTTP/2 peers: the reset and control-frame budgets, and the cap on
an unfinished CONTINUATION block.

- Rapid Reset (CVE-2023-44487) is a flood of the client's RST_STREAMs; MadeYouReset
  (CVE-2025-8671) frames that make h2 reset streams itself; refused streams count too. All
  spend ``h2_reset_budget``.
- PING, SETTINGS, PRIORITY, unknown frames and empty DATA (CVE-2019-9512, CVE-2019-9518) spend
  ``h2_control_frame_budget``.
- A header block larger than the header list it may carry ends the connection before h2's
  own limit of 64 CONTINUATION frames (CVE-2024-27316).
Exhausting any of them ends the connection with ENHANCE_YOUR_CALM.
"""

from __future__ import annotations

import h2.connection

from ..budget import Budget
from ..config import Config
from .h2_internals import pending_header_block_size


class Limits:
    """One connection's budgets, and the CONTINUATION cap."""

    __slots__ = ("_max_header_list", "control_frames", "resets")

    def __init__(self, config: Config, now: float) -> None:
        self.resets = Budget(config.h2_reset_budget, now)
        self.control_frames = Budget(config.h2_control_frame_budget, now)
        self._max_header_list = config.h2_max_header_list_size

    def header_block_too_large(self, conn: h2.connection.H2Connection) -> bool:
        """An unfinished header block already exceeds what its header list may hold."""
        return pending_header_block_size(conn) > self._max_header_list
