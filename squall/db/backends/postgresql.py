"""PostgreSQL through asyncpg."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg

from squall.db.errors import ConnectionLost, DatabaseError, IntegrityError
from squall.db.placeholders import code_text, prepare, translate
from squall.db.row import Row
from squall.db.url import DatabaseURL

_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)
# SQLSTATE classes meaning the session is gone: 08 connection exception,
# 57P01..57P03 admin shutdown / crash shutdown / cannot connect now.
_CONNECTION_SQLSTATES = ("08", "57P")
# InternalClientError: asyncpg's protocol state machine is out of step, as
# when the server ends the session between statements; the connection is done.
_DRIVER_ERRORS = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
)


async def open(url: DatabaseURL, timeout: float) -> PostgreSQLConnection:
    try:
        conn = await asyncpg.connect(
            host=url.host,
            port=url.port,
            user=url.user or "postgres",
            password=url.password,
            database=url.database,
            timeout=timeout,
        )
    except _DRIVER_ERRORS as exc:
        raise _translate(exc) from exc
    return PostgreSQLConnection(conn)


class PostgreSQLConnection:
    dialect = "postgresql"
    begin_sql = "BEGIN"

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    @property
    def backend_pid(self) -> int:
        """The server process serving this connection (what ``pg_terminate_backend`` takes)."""
        return int(self._conn.get_server_pid())

    async def fetch(self, sql: str, params: Sequence[Any]) -> list[Row]:
        stmt = prepare(sql, params, "postgresql")
        try:
            records = await self._conn.fetch(stmt, *params)
        except _DRIVER_ERRORS as exc:
            raise _translate(exc) from exc
        return [Row(record.items()) for record in records]

    async def execute(self, sql: str, params: Sequence[Any]) -> int:
        stmt = prepare(sql, params, "postgresql")
        try:
            status = await self._conn.execute(stmt, *params)
        except _DRIVER_ERRORS as exc:
            raise _translate(exc) from exc
        # The command tag ends with the row count: "UPDATE 3", "INSERT 0 1".
        last = str(status).rsplit(" ", 1)[-1]
        return int(last) if last.isdigit() else 0

    async def insert(self, sql: str, params: Sequence[Any]) -> Any:
        """Run an INSERT and return its first RETURNING column.

        Without a RETURNING clause of its own, ``RETURNING id`` is appended: the
        table's key column must then be named ``id``.
        """
        stmt = prepare(sql, params, "postgresql").rstrip().rstrip(";")
        if not _RETURNING.search(code_text(stmt, "postgresql")):
            stmt += " RETURNING id"
        try:
            return await self._conn.fetchval(stmt, *params)
        except _DRIVER_ERRORS as exc:
            raise _translate(exc) from exc

    async def executemany(self, sql: str, seq_of_params: Iterable[Sequence[Any]]) -> None:
        stmt = translate(sql, "postgresql").sql
        rows = [tuple(p) for p in seq_of_params]
        if not rows:
            return
        try:
            await self._conn.executemany(stmt, rows)
        except _DRIVER_ERRORS as exc:
            raise _translate(exc) from exc

    def is_broken(self) -> bool:
        return bool(self._conn.is_closed())

    async def ping(self) -> None:
        try:
            await self._conn.execute("SELECT 1")
        except _DRIVER_ERRORS as exc:
            raise ConnectionLost(f"PostgreSQL ping failed: {exc}") from exc

    async def close(self) -> None:
        try:
            await self._conn.close(timeout=5)
        except (*_DRIVER_ERRORS, TimeoutError):
            self._conn.terminate()

    def abort(self) -> None:
        self._conn.terminate()



def _translate(exc: BaseException) -> DatabaseError:
    message = str(exc) or type(exc).__name__
    if isinstance(exc, OSError | asyncpg.InternalClientError):
        return ConnectionLost(message)
    if isinstance(exc, asyncpg.PostgresError):
        sqlstate = getattr(exc, "sqlstate", None)
        if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
            return IntegrityError(message, code=sqlstate)
        if sqlstate and sqlstate.startswith(_CONNECTION_SQLSTATES):
            return ConnectionLost(message, code=sqlstate)
        return DatabaseError(message, code=sqlstate)
    # asyncpg.InterfaceError: the connection was closed (or is mid-operation).
    if "closed" in message:
        return ConnectionLost(message)
    return DatabaseError(message)
