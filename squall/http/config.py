"""Limits and switches shared by every connection of one server."""

from __future__ import annotations

from dataclasses import dataclass

KB = 1024
MB = 1024 * KB


@dataclass(slots=True)
class ServerConfig:
    """Per-server settings; every connection reads the same instance.

    The defaults follow what front-line servers use (nginx's 60 s client
    timeouts, Tornado's 100 MB body limit) so a squall process is safe to
    expose directly. llhttp enforces none of these itself.
    """

    max_header_size: int = 64 * KB
    """Request line plus headers, in bytes; more is answered 431."""
    max_header_count: int = 100
    """Header fields per request; more is answered 431."""
    max_body_size: int = 100 * MB
    """Request body in bytes; more is answered 413."""
    header_timeout: float = 30.0
    """Seconds a client may take to send a request's line and headers."""
    body_timeout: float = 60.0
    """Seconds allowed between two reads of request body data."""
    idle_connection_timeout: float = 75.0
    """Seconds a keep-alive connection may sit idle between requests."""
    no_keep_alive: bool = False
    """Close every connection after one response."""
    xheaders: bool = False
    """Trust X-Real-IP / X-Forwarded-For / X-Forwarded-Proto (behind a proxy)."""
    trusted_downstream: frozenset[str] = frozenset()
    """Proxy addresses skipped when reading X-Forwarded-For right to left."""
    read_high_water: int = 256 * KB
    """Buffered, undelivered request data above which reading pauses."""
    max_pipelined: int = 64
    """Parsed requests waiting behind the one being answered before reading pauses."""
    decompress_request: bool = False
    """Ask the application to gunzip request bodies; the wire layer only carries the flag."""

    def __post_init__(self) -> None:
        for name in ("max_header_size", "max_header_count", "max_body_size",
                     "read_high_water", "max_pipelined"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("header_timeout", "body_timeout", "idle_connection_timeout"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
