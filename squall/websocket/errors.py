"""WebSocket errors (Tornado's names, so code catching them keeps working)."""

from __future__ import annotations


class WebSocketError(Exception):
    """Base class for WebSocket errors."""


class WebSocketClosedError(WebSocketError):
    """Raised by an operation on a closed (or closing) WebSocket connection."""
