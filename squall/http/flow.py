"""Write back-pressure for asyncio protocols: ``pause_writing`` to ``drain()``.

The HTTP/1.1 connection and the WebSocket session that may replace it on the
same transport both let writers await room in the transport's buffer; this is
that mechanism, once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable


class WriteFlowControl:
    """Mixin: ``drain()`` completes once the transport accepts more data.

    The class using it sets these slots in ``__init__``: ``_loop``,
    ``_closed = False``, ``_writing_paused = False``, ``_drain_waiters = []``
    and ``_done``, an already-completed future returned while writing is not
    paused (one shared future instead of one per call). ``connection_lost``
    should call :meth:`_wake_drain_waiters` so no writer waits forever.
    """

    __slots__ = ("_closed", "_done", "_drain_waiters", "_loop", "_writing_paused")

    _loop: asyncio.AbstractEventLoop
    _closed: bool
    _writing_paused: bool
    _drain_waiters: list[asyncio.Future[None]]
    _done: asyncio.Future[None]

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        self._wake_drain_waiters()

    def drain(self) -> Awaitable[None]:
        """An awaitable that completes once the transport accepts more data."""
        if not self._writing_paused or self._closed:
            return self._done
        waiter: asyncio.Future[None] = self._loop.create_future()
        self._drain_waiters.append(waiter)
        return waiter

    def _wake_drain_waiters(self) -> None:
        waiters, self._drain_waiters = self._drain_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
