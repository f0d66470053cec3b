"""SQLite through aiosqlite: the embedded default, no server needed."""

from __future__ import annotations

import asyncio
import datetime
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

import aiosqlite

from squall.db.errors import ConnectionLost, DatabaseError, IntegrityError
from squall.db.placeholders import prepare, translate
from squall.db.row import Row
from squall.db.url import DatabaseURL


async def open(url: DatabaseURL, timeout: float) -> SQLiteConnection:
    """Open ``url``'s file (or a private in-memory database) in autocommit mode."""
    # isolation_level=None: the driver never opens transactions behind our back;
    # squall issues BEGIN / COMMIT itself. timeout is SQLite's busy wait.
    pending = aiosqlite.connect(url.database, isolation_level=None, timeout=timeout)
    try:
        conn = await pending
    except sqlite3.Error as exc:
        # aiosqlite stops its worker thread on failure but does not wait for it;
        # wait here, or the thread may report to an event loop already closed.
        # (_thread is private; without it we only lose that wait.)
        thread = getattr(pending, "_thread", None)
        if thread is not None:
            await asyncio.to_thread(thread.join, timeout)
        raise _translate(exc) from exc
    wrapped = SQLiteConnection(conn)
    try:
        await wrapped.execute("PRAGMA foreign_keys = ON", ())
        if not url.is_memory:
            # WAL lets readers on other pooled connections proceed while one writes.
            await wrapped.fetch("PRAGMA journal_mode = WAL", ())
    except BaseException:
        await conn.close()
        raise
    return wrapped


class SQLiteConnection:
    dialect = "sqlite"
    # IMMEDIATE takes the write lock at BEGIN, so two transactions never
    # deadlock upgrading read locks; the busy timeout makes the second wait.
    begin_sql = "BEGIN IMMEDIATE"

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._closed = False  # no more statements: closed, or aborted and awaiting close
        self._thread_stopped = False

    async def fetch(self, sql: str, params: Sequence[Any]) -> list[Row]:
        stmt = prepare(sql, params, "sqlite")
        try:
            async with self._conn.execute(stmt, _adapt(params)) as cursor:
                rows = await cursor.fetchall()
                names = [d[0] for d in cursor.description or ()]
        except sqlite3.Error as exc:
            raise _translate(exc) from exc
        return [Row(zip(names, row, strict=True)) for row in rows]

    async def execute(self, sql: str, params: Sequence[Any]) -> int:
        stmt = prepare(sql, params, "sqlite")
        try:
            async with self._conn.execute(stmt, _adapt(params)) as cursor:
                return max(cursor.rowcount, 0)
        except sqlite3.Error as exc:
            raise _translate(exc) from exc

    async def insert(self, sql: str, params: Sequence[Any]) -> Any:
        stmt = prepare(sql, params, "sqlite")
        try:
            async with self._conn.execute(stmt, _adapt(params)) as cursor:
                return cursor.lastrowid
        except sqlite3.Error as exc:
            raise _translate(exc) from exc

    async def executemany(self, sql: str, seq_of_params: Iterable[Sequence[Any]]) -> None:
        stmt = translate(sql, "sqlite").sql
        try:
            await self._conn.executemany(stmt, [_adapt(p) for p in seq_of_params])
        except sqlite3.Error as exc:
            raise _translate(exc) from exc

    def is_broken(self) -> bool:
        return self._closed

    async def ping(self) -> None:
        if self._closed:
            raise ConnectionLost("SQLite connection is closed")

    async def close(self) -> None:
        self._closed = True
        if not self._thread_stopped:
            self._thread_stopped = True
            await self._conn.close()

    def abort(self) -> None:
        # A cancelled statement still completes in the driver thread, so the
        # connection stays in step; the pool closes it properly afterwards.
        self._closed = True



def _adapt(params: Sequence[Any]) -> tuple[Any, ...]:
    # sqlite3's implicit datetime adapters are deprecated; store ISO 8601 text,
    # which sorts and compares correctly as a string.
    return tuple(
        p.isoformat(" ") if isinstance(p, datetime.datetime)
        else p.isoformat() if isinstance(p, datetime.date)
        else p
        for p in params
    )


def _translate(exc: sqlite3.Error) -> DatabaseError:
    message = str(exc)
    code = getattr(exc, "sqlite_errorname", None)
    if isinstance(exc, sqlite3.IntegrityError):
        return IntegrityError(message, code=code)
    if isinstance(exc, sqlite3.ProgrammingError) and "closed" in message:
        return ConnectionLost(message, code=code)
    return DatabaseError(message, code=code)
