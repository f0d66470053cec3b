"""squall: a non-blocking web framework and server in the Tornado tradition."""

from __future__ import annotations

version = "0.1.0"
version_info = (0, 1, 0, 0)

__all__ = ["version", "version_info"]
