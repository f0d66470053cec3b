"""Shared pieces for database tests: unique table names and a scratch table."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from squall.db import Database, connect

PRIMARY_KEY = {
    "sqlite": "INTEGER PRIMARY KEY AUTOINCREMENT",
    "mysql": "BIGINT AUTO_INCREMENT PRIMARY KEY",
    "postgresql": "BIGSERIAL PRIMARY KEY",
}


def unique_table(prefix: str = "t") -> str:
    """A table name no concurrently running test will use."""
    return f"{prefix}_{secrets.token_hex(4)}"


async def create_items(db: Database, table: str) -> None:
    await db.execute(
        f"CREATE TABLE {table} (id {PRIMARY_KEY[db.dialect]}, "
        "name VARCHAR(100) NOT NULL UNIQUE, qty INTEGER)"
    )


@asynccontextmanager
async def items_db(url: str, **pool_options: object) -> AsyncIterator[tuple[Database, str]]:
    """An open database with a fresh ``items`` table, dropped afterwards."""
    table = unique_table("items")
    async with connect(url, **pool_options) as db:  # type: ignore[arg-type]
        await create_items(db, table)
        try:
            yield db, table
        finally:
            await db.execute(f"DROP TABLE IF EXISTS {table}")
