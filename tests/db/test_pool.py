from __future__ import annotations

import asyncio

import pytest

from squall.db import ConnectionLost, Database, PoolTimeout, connect

SERVER_ID = {
    "mysql": ("SELECT CONNECTION_ID() AS id", "KILL ?"),
    "postgresql": ("SELECT pg_backend_pid() AS id", "SELECT pg_terminate_backend(?, 5000)"),
}
SLEEP = {"mysql": "SELECT SLEEP(5)", "postgresql": "SELECT pg_sleep(5)"}


@pytest.fixture(params=["mysql", "postgresql"])
def server_url(request: pytest.FixtureRequest) -> str:
    fixture = "mysql_dsn" if request.param == "mysql" else "postgres_dsn"
    return str(request.getfixturevalue(fixture))


async def kill_pooled_connection(db: Database, url: str) -> None:
    """Kill ``db``'s only pooled connection from a second, independent connection."""
    which, kill = SERVER_ID[db.dialect]
    row = await db.get(which)
    assert row is not None
    async with connect(url, max_size=1) as killer:
        await killer.execute(kill, int(row.id))


async def test_exhausted_pool_raises_pool_timeout_naming_size_and_timeout(db_url: str) -> None:
    async with connect(db_url, max_size=1, timeout=0.2) as db:
        async with db.pool.connection():
            with pytest.raises(PoolTimeout, match=r"within 0.2 s: all 1 \(max_size\) are checked out"):
                await db.query("SELECT 1 AS one")
        # Released: the pool serves again.
        assert (await db.query("SELECT 1 AS one"))[0].one == 1


async def test_waiting_task_gets_the_connection_another_task_releases(db_url: str) -> None:
    async with connect(db_url, max_size=1, timeout=10) as db:
        release = asyncio.Event()

        async def holder() -> None:
            async with db.pool.connection():
                await release.wait()

        task = asyncio.create_task(holder())
        await asyncio.sleep(0)
        waiting = asyncio.create_task(db.query("SELECT 2 AS two"))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        release.set()
        assert (await waiting)[0].two == 2
        await task


async def test_pool_never_opens_more_than_max_size_connections(db_url: str) -> None:
    async with connect(db_url, max_size=3) as db:
        peak = 0

        async def one() -> int:
            nonlocal peak
            async with db.pool.connection() as conn:
                peak = max(peak, db.pool.size)
                await asyncio.sleep(0.01)
                rows = await conn.fetch("SELECT 1 AS one", ())
                return int(rows[0]["one"])

        assert await asyncio.gather(*(one() for _ in range(20))) == [1] * 20
        assert peak <= 3
        assert db.pool.size <= 3


async def test_cancelled_waiter_does_not_lose_the_next_release(db_url: str) -> None:
    async with connect(db_url, max_size=1, timeout=10) as db:
        async with db.pool.connection():
            doomed = asyncio.create_task(db.query("SELECT 1 AS one"))
            survivor = asyncio.create_task(db.query("SELECT 1 AS one"))
            await asyncio.sleep(0.01)
            doomed.cancel()
            await asyncio.sleep(0)
        assert (await survivor)[0].one == 1
        with pytest.raises(asyncio.CancelledError):
            await doomed


async def test_killed_connection_is_replaced_transparently_on_next_checkout(
    server_url: str,
) -> None:
    async with connect(server_url, max_size=1, ping_after=0) as db:
        await kill_pooled_connection(db, server_url)
        assert (await db.get("SELECT 1 AS one")) == {"one": 1}


async def test_connection_the_driver_saw_close_is_replaced_without_a_ping(
    server_url: str,
) -> None:
    async with connect(server_url, max_size=1, ping_after=None) as db:
        async with db.pool.connection() as pooled:
            pass
        await kill_pooled_connection(db, server_url)
        # Once the client has read the server's close, checkout skips the connection.
        for _ in range(200):
            if pooled.is_broken():
                break
            await asyncio.sleep(0.01)
        assert pooled.is_broken()
        assert (await db.get("SELECT 1 AS one")) == {"one": 1}


async def test_statement_on_a_killed_connection_fails_once_then_the_pool_recovers(
    server_url: str,
) -> None:
    async with connect(server_url, max_size=1, ping_after=None) as db:
        which, kill = SERVER_ID[db.dialect]
        async with db.pool.connection() as conn:
            row = (await conn.fetch(which, ()))[0]
            async with connect(server_url, max_size=1) as killer:
                await killer.execute(kill, int(row["id"]))
            with pytest.raises(ConnectionLost):
                for _ in range(200):  # until the client notices the close
                    await conn.fetch("SELECT 1 AS one", ())
                    await asyncio.sleep(0.01)
        assert db.pool.size == 0
        assert (await db.get("SELECT 1 AS one")) == {"one": 1}


async def test_statement_cancelled_mid_query_leaves_the_pool_usable(server_url: str) -> None:
    async with connect(server_url, max_size=1) as db:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await db.query(SLEEP[db.dialect])
        assert (await db.get("SELECT 1 AS one")) == {"one": 1}
