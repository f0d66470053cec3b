"""Status lines and reason phrases, precomputed once."""

from __future__ import annotations

from http import HTTPStatus

REASONS: dict[int, str] = {status.value: status.phrase for status in HTTPStatus}
REASONS.setdefault(429, "Too Many Requests")

# PERF: the status line of every response is one dict lookup, not a format call.
STATUS_LINES: dict[int, bytes] = {
    code: f"HTTP/1.1 {code} {reason}\r\n".encode("latin-1") for code, reason in REASONS.items()
}


def status_line(code: int, reason: str | None) -> bytes:
    """``HTTP/1.1 <code> <reason>\\r\\n``; the standard phrase when ``reason`` is None."""
    if reason is None or reason == REASONS.get(code):
        line = STATUS_LINES.get(code)
        if line is not None:
            return line
        reason = reason or "Unknown"
    if "\r" in reason or "\n" in reason:
        raise ValueError(f"reason phrase {reason!r} contains CR or LF")
    return f"HTTP/1.1 {code} {reason}\r\n".encode("latin-1")
