"""A bounded pool of driver connections, shared by every task of one database.

Checkout hands out the most recently used idle connection (warm caches, and
surplus ones age out), opens a new one while under ``max_size``, and otherwise
waits up to ``timeout`` seconds before raising :class:`PoolTimeout`.

Lost connections are found at checkout: one the driver already knows is
closed is replaced at once, and one idle for ``ping_after`` seconds or more is
pinged first, so a server restart or a killed session costs no failed request.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from squall.db.backends import open_connection
from squall.db.backends.base import Connection
from squall.db.errors import ConnectionLost, PoolClosed, PoolTimeout
from squall.db.url import DatabaseURL


@dataclass(slots=True)
class _Idle:
    conn: Connection
    since: float


class Pool:
    def __init__(
        self,
        url: DatabaseURL,
        *,
        min_size: int,
        max_size: int,
        timeout: float,
        ping_after: float | None,
    ) -> None:
        if isinstance(min_size, bool) or not isinstance(min_size, int) or min_size < 0:
            raise ValueError(f"min_size must be an int >= 0, got {min_size!r}")
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
            raise ValueError(f"max_size must be an int >= 1, got {max_size!r}")
        if min_size > max_size:
            raise ValueError(f"min_size ({min_size}) must not exceed max_size ({max_size})")
        if not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if ping_after is not None and ping_after < 0:
            raise ValueError(f"ping_after must be >= 0 seconds or None, got {ping_after!r}")
        self.url = url
        self.min_size = min_size
        self.max_size = max_size
        self.timeout = timeout
        self.ping_after = ping_after
        self._idle: deque[_Idle] = deque()
        self._size = 0  # connections open or being opened, idle or checked out
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._closed = False
        # Discarded connections finishing their close; held so close() can wait.
        self._disposing: set[asyncio.Task[None]] = set()

    @property
    def size(self) -> int:
        """Connections open (or opening), whether idle or checked out."""
        return self._size

    @property
    def idle(self) -> int:
        return len(self._idle)

    async def open(self) -> None:
        """Open ``min_size`` connections (at least one) up front, so a bad host or
        password fails at connect time rather than on the first request."""
        conns = await asyncio.gather(
            *(self._open_one() for _ in range(max(self.min_size, 1))), return_exceptions=True
        )
        errors = [c for c in conns if isinstance(c, BaseException)]
        loop = asyncio.get_running_loop()
        for conn in conns:
            if not isinstance(conn, BaseException):
                self._idle.append(_Idle(conn, loop.time()))
        if errors:
            await self.close()
            raise errors[0]

    async def acquire(self) -> Connection:
        """Check a live connection out; the caller must hand it back with :meth:`release`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        while True:
            if self._closed:
                raise PoolClosed(f"the pool for {self.url!r} is closed")
            while self._idle:
                entry = self._idle.pop()
                conn = await self._check(entry, loop.time())
                if conn is not None:
                    return conn
            if self._size < self.max_size:
                return await self._open_one()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise PoolTimeout(
                    f"no connection free in the pool for {self.url!r} within "
                    f"{self.timeout} s: all {self.max_size} (max_size) are checked out"
                )
            await self._wait(remaining)

    def release(self, conn: Connection, *, discard: bool = False) -> None:
        """Return ``conn`` to the pool; ``discard`` drops it (broken or in an unknown state)."""
        if discard or self._closed or conn.is_broken():
            self._discard(conn)
        else:
            self._idle.append(_Idle(conn, asyncio.get_running_loop().time()))
        self._wake_one()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        """Check out a connection for a block; it is dropped if the block was cancelled
        or the connection broke, since its protocol state is then unknown."""
        conn = await self.acquire()
        try:
            yield conn
        except ConnectionLost:
            self.release(conn, discard=True)
            raise
        except Exception:
            self.release(conn)
            raise
        except BaseException:
            self.release(conn, discard=True)
            raise
        self.release(conn)

    async def close(self) -> None:
        """Close idle connections now; checked-out ones close when released."""
        self._closed = True
        idle, self._idle = list(self._idle), deque()
        self._size -= len(idle)
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()
        await asyncio.gather(
            *(entry.conn.close() for entry in idle), *self._disposing, return_exceptions=True
        )

    async def _open_one(self) -> Connection:
        self._size += 1
        try:
            return await open_connection(self.url, self.timeout)
        except BaseException:
            self._size -= 1
            self._wake_one()
            raise

    async def _check(self, entry: _Idle, now: float) -> Connection | None:
        """``entry``'s connection if it is alive; otherwise drop it and return None."""
        conn = entry.conn
        if not conn.is_broken():
            if self.ping_after is None or now - entry.since < self.ping_after:
                return conn
            try:
                async with asyncio.timeout(self.timeout):
                    await conn.ping()
                return conn
            except (ConnectionLost, TimeoutError):
                pass  # dead or hung: replace it
            except BaseException:
                self.release(conn, discard=True)
                raise
        self._discard(conn)
        return None

    def _discard(self, conn: Connection) -> None:
        """Drop ``conn`` now (no statement can use it) and close it in the background."""
        self._size -= 1
        conn.abort()
        task = asyncio.get_running_loop().create_task(self._finish_close(conn))
        self._disposing.add(task)
        task.add_done_callback(self._disposing.discard)

    @staticmethod
    async def _finish_close(conn: Connection) -> None:
        try:
            await conn.close()
        except Exception:
            pass  # it is being thrown away; the server cleans up its side

    async def _wait(self, remaining: float) -> None:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(remaining):
                await waiter
        except TimeoutError:
            pass  # the caller loops and raises PoolTimeout once past its deadline
        except BaseException:
            # Cancelled after being woken: pass the wake-up on, or it is lost.
            if waiter.done() and not waiter.cancelled():
                self._wake_one()
            raise
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
