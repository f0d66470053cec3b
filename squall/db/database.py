"""The ``Database`` object applications hold: statements, transactions, the pool."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from types import TracebackType
from typing import Any, TypeVar

from squall.db.backends.base import Connection
from squall.db.errors import MultipleRowsError
from squall.db.pool import Pool
from squall.db.row import Row
from squall.db.transaction import Binding, Transaction, current_binding
from squall.db.url import DatabaseURL, parse_url

T = TypeVar("T")


class Database:
    """One database behind a connection pool; safe to share between tasks.

    Statements use ``?`` placeholders on every backend, with values passed as
    parameters, never formatted into the SQL. Inside ``async with
    db.transaction():`` the current task's statements run in that transaction.
    """

    def __init__(self, url: DatabaseURL, pool: Pool) -> None:
        self.url = url
        self.pool = pool
        self._binding: ContextVar[Binding | None] = ContextVar(
            f"squall.db.transaction:{id(self)}", default=None
        )

    @property
    def dialect(self) -> str:
        """``"sqlite"``, ``"mysql"`` or ``"postgresql"``."""
        return self.url.backend

    @property
    def in_transaction(self) -> bool:
        """Whether the current task is inside one of this database's transactions."""
        return current_binding(self._binding) is not None

    async def query(self, sql: str, *params: Any) -> list[Row]:
        """All rows the statement returns."""
        return await self._run(lambda conn: conn.fetch(sql, params))

    async def get(self, sql: str, *params: Any) -> Row | None:
        """The single row the statement returns, or None; more than one is an error."""
        rows = await self.query(sql, *params)
        if len(rows) > 1:
            raise MultipleRowsError(
                f"get() expected at most one row but the query returned {len(rows)}: {sql!r}"
            )
        return rows[0] if rows else None

    async def execute(self, sql: str, *params: Any) -> int:
        """Run a statement; the number of rows it changed (0 for DDL and the like)."""
        return await self._run(lambda conn: conn.execute(sql, params))

    async def insert(self, sql: str, *params: Any) -> Any:
        """Run an INSERT; the id the database generated for the new row.

        On PostgreSQL ``RETURNING id`` is appended unless the statement has its
        own RETURNING clause (whose first column is returned instead).
        """
        return await self._run(lambda conn: conn.insert(sql, params))

    async def executemany(self, sql: str, seq_of_params: Iterable[Sequence[Any]]) -> None:
        """Run one statement once per parameter sequence (batched by the driver)."""
        rows = [tuple(p) for p in seq_of_params]
        await self._run(lambda conn: conn.executemany(sql, rows))

    def transaction(self) -> Transaction:
        """``async with db.transaction():`` — see :mod:`squall.db.transaction`."""
        return Transaction(self.pool, self._binding)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        """The current transaction's connection, or a pooled one for the block."""
        binding = current_binding(self._binding)
        if binding is not None:
            yield binding.conn
            return
        async with self.pool.connection() as conn:
            yield conn

    async def close(self) -> None:
        """Close the pool; statements after this raise PoolClosed."""
        await self.pool.close()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<Database {self.url!r} pool={self.pool.size}/{self.pool.max_size}>"

    async def _run(self, op: Callable[[Connection], Awaitable[T]]) -> T:
        binding = current_binding(self._binding)
        if binding is not None:
            return await op(binding.conn)
        async with self.pool.connection() as conn:
            return await op(conn)


class connect:  # a class so that both ``await connect()`` and ``async with`` work
    """Open a database: ``db = await connect(url)`` or ``async with connect(url) as db:``.

    ``url`` is ``sqlite:///path.db``, ``sqlite:///:memory:``,
    ``mysql://user:pw@host:3306/db`` (or ``mariadb://``) or
    ``postgresql://user:pw@host:5432/db``. The pool keeps up to ``max_size``
    connections (default 10; a ``:memory:`` database lives inside one
    connection, so there it is 1 and cannot be more), opens ``min_size`` at
    once, waits ``timeout`` seconds for a free connection or a new one to open,
    and pings a connection idle for ``ping_after`` seconds before reusing it
    (None: never).
    """

    def __init__(
        self,
        url: str,
        *,
        min_size: int = 1,
        max_size: int | None = None,
        timeout: float = 10.0,
        ping_after: float | None = 1.0,
    ) -> None:
        parsed = parse_url(url)
        if max_size is None:
            max_size = 1 if parsed.is_memory else 10
        elif parsed.is_memory and max_size != 1:
            raise ValueError(
                f"max_size must be 1 for sqlite:///:memory: (each connection would see "
                f"its own empty database), got {max_size}"
            )
        self._pool = Pool(
            parsed,
            min_size=min(min_size, max_size),
            max_size=max_size,
            timeout=timeout,
            ping_after=ping_after,
        )
        self._db: Database | None = None

    async def _open(self) -> Database:
        await self._pool.open()
        return Database(self._pool.url, self._pool)

    def __await__(self) -> Generator[Any, None, Database]:
        return self._open().__await__()

    async def __aenter__(self) -> Database:
        self._db = await self._open()
        return self._db

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._db is not None:
            await self._db.close()
