"""MySQL and MariaDB through asyncmy."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any

import asyncmy
from asyncmy import errors as mysql_errors

from squall.db.errors import ConnectionLost, DatabaseError, IntegrityError
from squall.db.placeholders import prepare, translate
from squall.db.row import Row
from squall.db.url import DatabaseURL

# Client and server error numbers that mean the connection itself is gone:
# CR_SERVER_GONE_ERROR, CR_SERVER_LOST, CR_COMMANDS_OUT_OF_SYNC,
# CR_SERVER_LOST_EXTENDED, ER_CONNECTION_KILLED (MariaDB), ER_CLIENT_INTERACTION_TIMEOUT.
_CONNECTION_ERRNOS = frozenset({2006, 2013, 2014, 2055, 1927, 4031})


async def open(url: DatabaseURL, timeout: float) -> MySQLConnection:
    """Connect in autocommit mode with utf8mb4, so each statement outside a transaction commits."""
    try:
        conn = await asyncio.wait_for(
            asyncmy.connect(
                host=url.host,
                port=url.port,
                user=url.user or "root",
                password=url.password or "",
                database=url.database,
                autocommit=True,
                charset="utf8mb4",
                connect_timeout=timeout,
            ),
            timeout,
        )
    except (mysql_errors.MySQLError, OSError) as exc:
        raise _translate(exc) from exc
    return MySQLConnection(conn, url, timeout)


class MySQLConnection:
    dialect = "mysql"
    begin_sql = "BEGIN"

    def __init__(self, conn: Any, url: DatabaseURL, timeout: float) -> None:
        self._conn = conn
        self._url = url
        self._timeout = timeout

    @property
    def thread_id(self) -> int:
        """The server's id for this connection (what ``KILL`` takes)."""
        return int(self._conn.thread_id())

    async def fetch(self, sql: str, params: Sequence[Any]) -> list[Row]:
        stmt = prepare(sql, params, "mysql")
        try:
            async with self._conn.cursor() as cursor:
                await cursor.execute(stmt, tuple(params))
                rows = await cursor.fetchall()
                names = [d[0] for d in cursor.description or ()]
        except (mysql_errors.MySQLError, OSError) as exc:
            raise _translate(exc) from exc
        except asyncio.CancelledError:
            await self._kill_on_server()
            raise
        return [Row(zip(names, row, strict=True)) for row in rows or ()]

    async def execute(self, sql: str, params: Sequence[Any]) -> int:
        stmt = prepare(sql, params, "mysql")
        try:
            async with self._conn.cursor() as cursor:
                count = await cursor.execute(stmt, tuple(params))
        except (mysql_errors.MySQLError, OSError) as exc:
            raise _translate(exc) from exc
        except asyncio.CancelledError:
            await self._kill_on_server()
            raise
        return max(int(count or 0), 0)

    async def insert(self, sql: str, params: Sequence[Any]) -> Any:
        stmt = prepare(sql, params, "mysql")
        try:
            async with self._conn.cursor() as cursor:
                await cursor.execute(stmt, tuple(params))
                return cursor.lastrowid
        except (mysql_errors.MySQLError, OSError) as exc:
            raise _translate(exc) from exc
        except asyncio.CancelledError:
            await self._kill_on_server()
            raise

    async def executemany(self, sql: str, seq_of_params: Iterable[Sequence[Any]]) -> None:
        stmt = translate(sql, "mysql").sql
        rows = [tuple(p) for p in seq_of_params]
        if not rows:
            return
        try:
            async with self._conn.cursor() as cursor:
                await cursor.executemany(stmt, rows)
        except (mysql_errors.MySQLError, OSError) as exc:
            raise _translate(exc) from exc
        except asyncio.CancelledError:
            await self._kill_on_server()
            raise

    def is_broken(self) -> bool:
        if not self._conn.connected:
            return True
        # asyncmy notices a peer's close (EOF) as soon as the loop reads it;
        # this flag is not public API, so treat its absence as "unknown".
        return bool(getattr(self._conn, "_stream_broken", False))

    async def ping(self) -> None:
        try:
            await self._conn.ping(reconnect=False)
        except (mysql_errors.MySQLError, OSError) as exc:
            raise ConnectionLost(f"MySQL ping failed: {_message(exc)}") from exc

    async def close(self) -> None:
        try:
            await self._conn.ensure_closed()
        except (mysql_errors.MySQLError, OSError):
            self._conn.close()

    def abort(self) -> None:
        self._conn.close()

    async def _kill_on_server(self) -> None:
        """End this session on the server after a statement was cancelled.

        asyncmy drops the socket on cancellation, but the server notices only
        when it next writes: a long statement would run on, holding its
        transaction's locks. ``KILL`` from a second connection stops it and
        rolls the transaction back now (PostgreSQL's driver sends a cancel
        request for the same reason).
        """
        thread_id = self.thread_id
        self._conn.close()
        try:
            async with asyncio.timeout(self._timeout):
                killer = await open(self._url, self._timeout)
                try:
                    await killer.execute("KILL ?", (thread_id,))
                finally:
                    await killer.close()
        except (DatabaseError, TimeoutError):
            pass  # the server may already have ended the session itself



def _message(exc: BaseException) -> str:
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    if len(args) >= 2 and isinstance(args[0], int):
        return str(args[1])
    return str(exc) or type(exc).__name__


def _translate(exc: BaseException) -> DatabaseError:
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    code = args[0] if args and isinstance(args[0], int) else None
    message = _message(exc)
    if isinstance(exc, OSError) or code in _CONNECTION_ERRNOS:
        return ConnectionLost(message, code=code)
    if isinstance(exc, mysql_errors.InterfaceError):
        return ConnectionLost(message or "MySQL connection is closed", code=code)
    if isinstance(exc, mysql_errors.IntegrityError):
        return IntegrityError(message, code=code)
    return DatabaseError(message, code=code)
