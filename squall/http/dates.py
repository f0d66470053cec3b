"""The ``Date`` header value, formatted at most once per second."""

from __future__ import annotations

import time
from email.utils import formatdate


class _DateCache:
    __slots__ = ("_second", "_value")

    def __init__(self) -> None:
        self._second = -1
        self._value = ""

    def __call__(self) -> str:
        # PERF: formatting a date costs more than the rest of a small response's
        # headers; RFC 9110 only needs one-second resolution.
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._value = formatdate(now, usegmt=True)
        return self._value


http_date = _DateCache()
"""``http_date()`` -> the current time as an IMF-fixdate (RFC 9110 §5.6.7)."""
