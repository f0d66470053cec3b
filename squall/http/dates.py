"""The ``Date`` header value, formatted at most once per second."""

from __future__ import annotations

import time
from email.utils import formatdate


class _DateCache:
    __slots__ = ("_next", "_value")

    def __init__(self) -> None:
        self._next = 0.0
        self._value = ""

    def get(self) -> str:
        # PERF: formatting a date costs more than the rest of a small response's
        # headers; RFC 9110 only needs one-second resolution. Comparing the
        # float with the next second's start saves an int() per call.
        now = time.time()
        if now >= self._next or now < self._next - 1.0:  # a new second, or the clock went back
            second = int(now)
            self._next = second + 1.0
            self._value = formatdate(second, usegmt=True)
        return self._value

    __call__ = get


# PERF: a bound method is called without the instance-call slot lookup.
http_date = _DateCache().get
"""``http_date()`` -> the current time as an IMF-fixdate (RFC 9110 §5.6.7)."""
