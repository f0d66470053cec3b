"""Transactions bound to the task that opened them.

``async with db.transaction():`` checks a connection out, runs ``BEGIN``, and
binds the connection to the current task through a context variable, so every
``db.query`` / ``db.execute`` that task makes inside the block runs in the
transaction without passing a connection around. The block commits when it
ends normally and rolls back on any exception, ``asyncio.CancelledError``
included. A nested block is a savepoint: its failure undoes only its own work.

The binding belongs to one task. Tasks started inside the block inherit the
context variable but not the binding: they use their own pooled connections
(and their own transactions), because one connection cannot run two
statements at once.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar, Token
from dataclasses import dataclass
from types import TracebackType

from squall.db.backends.base import Connection
from squall.db.errors import DatabaseError
from squall.db.pool import Pool


@dataclass(slots=True)
class Binding:
    """The connection a task's open transaction runs on."""

    conn: Connection
    owner: asyncio.Task[object] | None
    savepoints: int = 0
    active: bool = True


class Transaction:
    """An ``async with`` block run in one transaction (or savepoint, when nested)."""

    def __init__(self, pool: Pool, var: ContextVar[Binding | None]) -> None:
        self._pool = pool
        self._var = var
        self._binding: Binding | None = None
        self._token: Token[Binding | None] | None = None
        self._savepoint: str | None = None
        self._entered = False

    async def __aenter__(self) -> Transaction:
        if self._entered:
            raise RuntimeError("a Transaction object can be entered only once")
        self._entered = True
        binding = current_binding(self._var)
        if binding is not None:
            binding.savepoints += 1
            name = f"squall_sp_{binding.savepoints}"
            self._binding = binding
            await binding.conn.execute(f"SAVEPOINT {name}", ())
            self._savepoint = name
            return self
        conn = await self._pool.acquire()
        try:
            await conn.execute(conn.begin_sql, ())
        except BaseException as exc:
            self._pool.release(conn, discard=not isinstance(exc, Exception))
            raise
        self._binding = Binding(conn, asyncio.current_task())
        self._token = self._var.set(self._binding)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        binding = self._binding
        if binding is None:
            return  # __aenter__ failed before the block started
        if self._savepoint is not None:
            await self._end_savepoint(binding, self._savepoint, failed=exc is not None)
            return
        binding.active = False
        if self._token is not None:
            self._var.reset(self._token)
        conn = binding.conn
        if exc is None:
            try:
                await conn.execute("COMMIT", ())
            except BaseException:
                # Whether the commit landed is unknown to us; the connection's
                # state is too, so it is not reused.
                self._pool.release(conn, discard=True)
                raise
            self._pool.release(conn)
            return
        try:
            await conn.execute("ROLLBACK", ())
        except Exception:
            # Closing the connection makes the server roll back for us; the
            # block's own exception is the one worth reporting.
            self._pool.release(conn, discard=True)
            return
        except BaseException:
            # Cancelled while rolling back: the cancellation must not be lost.
            self._pool.release(conn, discard=True)
            raise
        # A clean ROLLBACK proves the connection is in step, even after a cancel.
        self._pool.release(conn)

    async def _end_savepoint(self, binding: Binding, name: str, *, failed: bool) -> None:
        conn = binding.conn
        if not failed:
            await conn.execute(f"RELEASE SAVEPOINT {name}", ())
            return
        try:
            await conn.execute(f"ROLLBACK TO SAVEPOINT {name}", ())
            await conn.execute(f"RELEASE SAVEPOINT {name}", ())
        except DatabaseError:
            # The outer transaction is now unusable; the block's exception
            # propagates to it and rolls everything back.
            pass


def current_binding(var: ContextVar[Binding | None]) -> Binding | None:
    """The current task's open transaction, if it opened one and it is still running."""
    binding = var.get()
    if binding is None or not binding.active:
        return None
    if binding.owner is not asyncio.current_task():
        return None
    return binding
