"""The interface the pool and transactions use, whatever the driver.

Every method takes SQL already written with ``?`` placeholders; the backend
translates them, converts parameters its driver cannot bind, and turns driver
exceptions into :mod:`squall.db.errors` ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from squall.db.row import Row


class Connection(Protocol):
    """One open driver connection, used by one task at a time."""

    dialect: str
    #: The statement opening a transaction (SQLite takes its write lock up front).
    begin_sql: str

    async def fetch(self, sql: str, params: Sequence[Any]) -> list[Row]: ...

    async def execute(self, sql: str, params: Sequence[Any]) -> int:
        """Run a statement; the number of rows it changed (0 when unknown)."""

    async def insert(self, sql: str, params: Sequence[Any]) -> Any:
        """Run an INSERT; the id generated for the new row."""

    async def executemany(self, sql: str, seq_of_params: Iterable[Sequence[Any]]) -> None: ...

    def is_broken(self) -> bool:
        """True when the connection is known to be unusable without asking the server."""

    async def ping(self) -> None:
        """Round-trip to the server; raise ConnectionLost if it does not answer."""

    async def close(self) -> None: ...

    def abort(self) -> None:
        """Drop the connection at once (after a cancelled statement left it mid-reply)."""
