"""One module per database driver, each exposing ``open(url, timeout)``."""

from __future__ import annotations

from squall.db.backends.base import Connection
from squall.db.errors import ConnectionLost, DatabaseError
from squall.db.url import DatabaseURL


async def open_connection(url: DatabaseURL, timeout: float) -> Connection:
    """Open one driver connection for ``url``, wrapped in squall's interface.

    Failures name the URL (never its password): a refused or timed-out
    connection is a plain DatabaseError, since nothing was lost.
    """
    try:
        return await _open(url, timeout)
    except ConnectionLost as exc:
        raise DatabaseError(f"cannot connect to {url!r}: {exc.message}", code=exc.code) from exc
    except DatabaseError as exc:
        raise type(exc)(f"cannot connect to {url!r}: {exc.message}", code=exc.code) from exc
    except TimeoutError as exc:
        raise DatabaseError(f"cannot connect to {url!r}: no answer within {timeout} s") from exc


async def _open(url: DatabaseURL, timeout: float) -> Connection:
    # Imported on demand so a SQLite-only app never loads the server drivers.
    if url.backend == "sqlite":
        from squall.db.backends import sqlite

        return await sqlite.open(url, timeout)
    if url.backend == "mysql":
        from squall.db.backends import mysql

        return await mysql.open(url, timeout)
    if url.backend == "postgresql":
        from squall.db.backends import postgresql

        return await postgresql.open(url, timeout)
    raise ValueError(f"no backend for database URL scheme {url.backend!r}")
