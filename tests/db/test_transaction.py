from __future__ import annotations

import asyncio
import os
import pathlib
import signal
import sys

import pytest

from squall.db import Database, DatabaseError, IntegrityError, connect
from tests.db.helpers import create_items, items_db, unique_table

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


async def names_seen_independently(url: str, table: str) -> list[str]:
    """The committed names, read through a second, independent connection pool."""
    async with connect(url, max_size=1) as other:
        return [r.name for r in await other.query(f"SELECT name FROM {table} ORDER BY name")]


async def add(db: Database, table: str, name: str) -> None:
    await db.insert(f"INSERT INTO {table} (name, qty) VALUES (?, ?)", name, 1)


async def test_transaction_commits_when_the_block_ends_normally(db_url: str) -> None:
    async with items_db(db_url) as (db, table):
        states = []
        async with db.transaction():
            states.append(db.in_transaction)
            await add(db, table, "a")
            await add(db, table, "b")
        states.append(db.in_transaction)
        assert states == [True, False]
        assert await names_seen_independently(db_url, table) == ["a", "b"]


async def test_uncommitted_writes_are_visible_inside_and_invisible_outside(db_url: str) -> None:
    async with items_db(db_url) as (db, table):
        async with db.transaction():
            await add(db, table, "pending")
            inside = await db.query(f"SELECT name FROM {table}")
            assert [r.name for r in inside] == ["pending"]
            assert await names_seen_independently(db_url, table) == []
        assert await names_seen_independently(db_url, table) == ["pending"]


async def test_exception_in_the_outer_block_leaves_no_row_written(db_url: str) -> None:
    async with items_db(db_url) as (db, table):
        with pytest.raises(RuntimeError, match="boom"):
            async with db.transaction():
                await add(db, table, "a")
                async with db.transaction():
                    await add(db, table, "b")
                raise RuntimeError("boom")
        assert await names_seen_independently(db_url, table) == []


async def test_exception_in_a_nested_block_rolls_back_only_its_savepoint(db_url: str) -> None:
    async with items_db(db_url) as (db, table):
        async with db.transaction():
            await add(db, table, "outer-before")
            with pytest.raises(ValueError, match="inner failure"):
                async with db.transaction():
                    await add(db, table, "inner")
                    raise ValueError("inner failure")
            async with db.transaction():
                await add(db, table, "inner-kept")
            await add(db, table, "outer-after")
        assert await names_seen_independently(db_url, table) == [
            "inner-kept", "outer-after", "outer-before"
        ]


async def test_constraint_error_in_a_savepoint_lets_the_outer_transaction_go_on(
    db_url: str,
) -> None:
    async with items_db(db_url) as (db, table):
        async with db.transaction():
            await add(db, table, "dup")
            with pytest.raises(IntegrityError):
                async with db.transaction():
                    await add(db, table, "dup")
            await add(db, table, "after")
        assert await names_seen_independently(db_url, table) == ["after", "dup"]


async def test_sql_error_rolls_the_transaction_back_and_propagates(db_url: str) -> None:
    async with items_db(db_url) as (db, table):
        with pytest.raises(DatabaseError):
            async with db.transaction():
                await add(db, table, "a")
                await db.execute(f"UPDATE {table} SET no_such_column = 1")
        assert await names_seen_independently(db_url, table) == []
        assert db.pool.size == db.pool.idle  # the connection came back (or was replaced)


async def test_cancellation_inside_a_transaction_rolls_it_back(db_url: str) -> None:
    async with items_db(db_url) as (db, table):
        written = asyncio.Event()

        async def worker() -> None:
            async with db.transaction():
                await add(db, table, "cancelled")
                written.set()
                await asyncio.sleep(60)

        task = asyncio.create_task(worker())
        await written.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await names_seen_independently(db_url, table) == []
        await add(db, table, "later")  # the pool is still healthy
        assert await names_seen_independently(db_url, table) == ["later"]


async def test_concurrent_tasks_each_get_their_own_transaction_connection(db_url: str) -> None:
    async with items_db(db_url, max_size=4) as (db, table):
        # SQLite serialises writers (BEGIN IMMEDIATE), so only the servers can
        # hold four write transactions open at once.
        overlap = db.dialect != "sqlite"
        barrier = asyncio.Barrier(4)
        in_use: set[int] = set()
        seen: list[int] = []

        async def worker(i: int) -> None:
            async with db.transaction():
                async with db.connection() as conn:
                    assert id(conn) not in in_use
                    in_use.add(id(conn))
                    seen.append(id(conn))
                await add(db, table, f"w{i}")
                if overlap:
                    await barrier.wait()
                in_use.discard(id(conn))
                if i == 3:
                    raise LookupError("worker 3 fails alone")

        results = await asyncio.gather(*(worker(i) for i in range(4)), return_exceptions=True)
        assert [type(r) for r in results] == [type(None)] * 3 + [LookupError]
        if overlap:
            assert len(set(seen)) == 4
        assert await names_seen_independently(db_url, table) == ["w0", "w1", "w2"]


async def test_tasks_started_inside_a_transaction_do_not_share_its_connection(
    db_url: str,
) -> None:
    async with items_db(db_url, max_size=2) as (db, table), db.transaction():
        await add(db, table, "uncommitted")
        child = asyncio.create_task(db.query(f"SELECT name FROM {table}"))
        assert await child == []  # the child reads committed data on its own connection
        assert not await asyncio.create_task(_in_transaction(db))


async def _in_transaction(db: Database) -> bool:
    return db.in_transaction


async def test_a_transaction_object_is_entered_only_once(db_url: str) -> None:
    async with connect(db_url) as db:
        tx = db.transaction()
        async with tx:
            pass
        with pytest.raises(RuntimeError, match="entered only once"):
            async with tx:
                pass


CHILD = """
import asyncio, sys
from squall.db import connect

async def main(url, table):
    db = await connect(url, max_size=1)
    async with db.transaction():
        await db.insert(f"INSERT INTO {table} (name, qty) VALUES (?, ?)", "row 1", 1)
        print("ready", flush=True)
        await asyncio.sleep(60)

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


@pytest.mark.loops("asyncio")
async def test_worker_killed_mid_transaction_leaves_no_partial_write(db_url: str) -> None:
    table = unique_table("killed")
    async with connect(db_url, max_size=1) as db:
        await create_items(db, table)
        try:
            child = await asyncio.create_subprocess_exec(
                sys.executable, "-c", CHILD, db_url, table,
                stdout=asyncio.subprocess.PIPE,
                env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            )
            assert child.stdout is not None
            try:
                line = await asyncio.wait_for(child.stdout.readline(), 30)
                assert line == b"ready\n"
            finally:
                child.send_signal(signal.SIGKILL)
                await child.wait()
            assert child.returncode == -signal.SIGKILL
            assert await names_seen_independently(db_url, table) == []
        finally:
            await db.execute(f"DROP TABLE IF EXISTS {table}")


@pytest.mark.parametrize("backend", ["mysql", "postgresql"])
async def test_cancellation_during_a_running_statement_rolls_the_transaction_back(
    backend: str, request: pytest.FixtureRequest
) -> None:
    url = str(request.getfixturevalue("mysql_dsn" if backend == "mysql" else "postgres_dsn"))
    sleep = "SELECT SLEEP(5)" if backend == "mysql" else "SELECT pg_sleep(5)"
    async with items_db(url) as (db, table):
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3), db.transaction():
                await add(db, table, "half-done")
                await db.query(sleep)
        assert await names_seen_independently(url, table) == []
        await add(db, table, "later")
        assert await names_seen_independently(url, table) == ["later"]
