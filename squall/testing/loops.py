"""Event loop factories for the loop kinds squall supports (asyncio and uvloop)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop is optional on some platforms
    uvloop = None  # type: ignore[assignment]

LOOP_KINDS: tuple[str, ...] = ("asyncio", "uvloop") if uvloop is not None else ("asyncio",)


def loop_factory(kind: str) -> Callable[[], asyncio.AbstractEventLoop]:
    """A zero-argument callable creating a new event loop of ``kind``."""
    if kind == "asyncio":
        return asyncio.SelectorEventLoop
    if kind == "uvloop":
        if uvloop is None:
            raise ValueError("loop kind 'uvloop' requested but uvloop is not installed")
        return uvloop.new_event_loop
    raise ValueError(f"unknown event loop kind {kind!r}; expected one of {LOOP_KINDS}")
