from __future__ import annotations

import pathlib

import pytest

import squall.db
from squall.db import DatabaseError, IntegrityError, MultipleRowsError, PoolClosed, Row, connect
from tests.db.helpers import items_db


async def test_insert_returns_the_new_id_and_query_reads_rows_back(db_url: str) -> None:
    async with items_db(db_url) as (db, table):
        first = await db.insert(f"INSERT INTO {table} (name, qty) VALUES (?, ?)", "apple", 3)
        second = await db.insert(f"INSERT INTO {table} (name, qty) VALUES (?, ?)", "pear", 5)
        assert second == first + 1
        rows = await db.query(f"SELECT id, name, qty FROM {table} ORDER BY id")
        assert [dict(r) for r in rows] == [
            {"id": first, "name": "apple", "qty": 3},
            {"id": second, "name": "pear", "qty": 5},
        ]


async def test_row_reads_by_attribute_and_key(db_url: str) -> None:
    async with items_db(db_url) as (db, table):
        await db.insert(f"INSERT INTO {table} (name, qty) VALUES (?, ?)", "fig", 1)
        row = await db.get(f"SELECT name, qty FROM {table} WHERE name = ?", "fig")
        assert isinstance(row, Row)
        assert row.name == row["name"] == "fig"
        with pytest.raises(AttributeError, match="row has no column 'nope'; columns: name, qty"):
            _ = row.nope


async def test_get_returns_none_when_nothing_matches(db_url: str) -> None:
    async with items_db(db_url) as (db, table):
        assert await db.get(f"SELECT * FROM {table} WHERE name = ?", "ghost") is None


async def test_get_refuses_more_than_one_row(db_url: str) -> None:
    async with items_db(db_url) as (db, table):
        await db.executemany(
            f"INSERT INTO {table} (name, qty) VALUES (?, ?)", [("a", 1), ("b", 1)]
        )
        with pytest.raises(MultipleRowsError, match="expected at most one row but the query returned 2"):
            await db.get(f"SELECT * FROM {table} WHERE qty = ?", 1)


async def test_execute_returns_the_number_of_rows_changed(db_url: str) -> None:
    async with items_db(db_url) as (db, table):
        await db.executemany(
            f"INSERT INTO {table} (name, qty) VALUES (?, ?)", [("a", 1), ("b", 1), ("c", 2)]
        )
        assert await db.execute(f"UPDATE {table} SET qty = ? WHERE qty = ?", 9, 1) == 2
        assert await db.execute(f"DELETE FROM {table} WHERE name = ?", "zzz") == 0


async def test_values_are_parameters_never_sql(db_url: str) -> None:
    async with items_db(db_url) as (db, table):
        hostile = "x'); DROP TABLE items; -- 50% ? done"
        await db.insert(f"INSERT INTO {table} (name, qty) VALUES (?, ?)", hostile, 1)
        row = await db.get(f"SELECT name FROM {table} WHERE name = ?", hostile)
        assert row is not None and row.name == hostile


async def test_placeholder_inside_a_literal_reaches_the_database_as_text(db_url: str) -> None:
    async with items_db(db_url) as (db, table):
        await db.insert(f"INSERT INTO {table} (name, qty) VALUES ('what?', ?)", 7)
        row = await db.get(f"SELECT name, qty FROM {table} WHERE name = 'what?'")
        assert row is not None and (row.name, row.qty) == ("what?", 7)


async def test_constraint_violation_is_an_integrity_error_with_the_database_message(
    db_url: str,
) -> None:
    async with items_db(db_url) as (db, table):
        await db.insert(f"INSERT INTO {table} (name, qty) VALUES (?, ?)", "dup", 1)
        with pytest.raises(IntegrityError) as info:
            await db.insert(f"INSERT INTO {table} (name, qty) VALUES (?, ?)", "dup", 2)
        message = info.value.message.lower()
        assert "unique" in message or "duplicate" in message
        assert info.value.code is not None


async def test_sql_error_is_a_database_error_carrying_the_server_text(db_url: str) -> None:
    async with items_db(db_url) as (db, table):
        with pytest.raises(DatabaseError) as info:
            await db.query(f"SELECT no_such_column FROM {table}")
        assert not isinstance(info.value, IntegrityError)
        assert "no_such_column" in info.value.message
        # The connection survives a SQL error and serves the next statement.
        assert await db.query(f"SELECT * FROM {table}") == []


async def test_wrong_number_of_parameters_is_a_value_error(db_url: str) -> None:
    async with items_db(db_url) as (db, table):
        with pytest.raises(ValueError, match=r"1 \? placeholder\(s\) but 2 parameter"):
            await db.query(f"SELECT * FROM {table} WHERE id = ?", 1, 2)


async def test_closed_database_refuses_statements(db_url: str) -> None:
    db = await connect(db_url)
    await db.close()
    with pytest.raises(PoolClosed, match="is closed"):
        await db.query("SELECT 1")


async def test_memory_sqlite_keeps_its_data_in_its_single_connection() -> None:
    async with connect("sqlite:///:memory:") as db:
        await db.execute("CREATE TABLE t (x INTEGER)")
        await db.execute("INSERT INTO t VALUES (?)", 1)
        assert [r.x for r in await db.query("SELECT x FROM t")] == [1]


def test_memory_sqlite_refuses_a_bigger_pool() -> None:
    with pytest.raises(ValueError, match="max_size must be 1 for sqlite:///:memory:"):
        connect("sqlite:///:memory:", max_size=4)


def test_unknown_scheme_fails_before_connecting() -> None:
    with pytest.raises(ValueError, match="unknown database URL scheme 'mongodb'"):
        squall.db.connect("mongodb://h/db")


@pytest.mark.parametrize(
    "url",
    ["mysql://root@127.0.0.1:1/test", "postgresql://postgres@127.0.0.1:1/test"],
)
async def test_unreachable_server_fails_at_connect_naming_the_url(url: str) -> None:
    with pytest.raises(DatabaseError, match=r"cannot connect to DatabaseURL\(.*127.0.0.1:1/test\)"):
        await connect(url, timeout=5)


async def test_wrong_database_name_fails_at_connect_with_the_server_message(
    postgres_dsn: str,
) -> None:
    url = postgres_dsn.rsplit("/", 1)[0] + "/no_such_db_squall"
    with pytest.raises(DatabaseError, match='database "no_such_db_squall" does not exist'):
        await connect(url)


async def test_unopenable_sqlite_file_fails_at_connect(tmp_path: pathlib.Path) -> None:
    with pytest.raises(DatabaseError, match=r"cannot connect to .*unable to open database file"):
        await connect(f"sqlite:///{tmp_path}/missing-dir/x.db")
