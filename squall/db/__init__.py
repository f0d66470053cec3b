"""One async API over SQLite, MySQL/MariaDB and PostgreSQL, each behind a pool.

    db = await squall.db.connect("sqlite:///places.db")
    rows = await db.query("SELECT * FROM places WHERE name = ?", name)
    async with db.transaction():
        place_id = await db.insert("INSERT INTO places (name) VALUES (?)", name)

Statements use ``?`` placeholders everywhere; rows are :class:`Row` objects
(dicts readable by attribute); driver errors arrive as :class:`DatabaseError`.
"""

from __future__ import annotations

from squall.db.database import Database, connect
from squall.db.errors import (
    ConnectionLost,
    DatabaseError,
    IntegrityError,
    MultipleRowsError,
    PoolClosed,
    PoolTimeout,
)
from squall.db.row import Row
from squall.db.transaction import Transaction
from squall.db.url import DatabaseURL, parse_url

__all__ = [
    "ConnectionLost",
    "Database",
    "DatabaseError",
    "DatabaseURL",
    "IntegrityError",
    "MultipleRowsError",
    "PoolClosed",
    "PoolTimeout",
    "Row",
    "Transaction",
    "connect",
    "parse_url",
]
