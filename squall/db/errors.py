"""The exceptions ``squall.db`` raises, whatever the driver underneath.

Driver exceptions never leak: each backend translates them, keeping the
database's own message (and code) so logs say what the server said.
"""

from __future__ import annotations


class DatabaseError(Exception):
    """A statement or connection failed; ``message`` is the database's own text."""

    def __init__(self, message: str, *, code: str | int | None = None) -> None:
        super().__init__(message if code is None else f"{message} (code {code})")
        self.message = message
        self.code = code


class IntegrityError(DatabaseError):
    """A constraint (unique, not null, foreign key, check) rejected the write."""


class ConnectionLost(DatabaseError):
    """The connection broke mid-use; the pool discards it and opens a new one."""


class PoolTimeout(DatabaseError, TimeoutError):
    """Every pooled connection stayed busy past the pool's checkout timeout."""


class PoolClosed(DatabaseError):
    """The database was closed; no more connections are handed out."""


class MultipleRowsError(DatabaseError):
    """``Database.get`` found more than one row where at most one was expected."""
