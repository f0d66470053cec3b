"""The same single-row lookup as the places app's GET /place/N, through the raw
driver pool (aiosqlite / asyncmy / asyncpg) in a bare uvloop + httptools server."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
from typing import Any
from urllib.parse import urlsplit

import httptools
import uvloop

_COLUMNS = "id, name, lat, lon, description"
_PLACE = re.compile(rb"/place/([0-9]+)")


class SQLitePool:
    """aiosqlite has no pool: a queue of connections, as many as squall's pool holds."""

    def __init__(self, path: str, size: int) -> None:
        self.path = path
        self.size = size
        self.free: asyncio.Queue[Any] = asyncio.Queue()

    async def open(self) -> None:
        import aiosqlite

        for _ in range(self.size):
            conn = await aiosqlite.connect(self.path, isolation_level=None)
            await conn.execute("PRAGMA journal_mode = WAL")
            self.free.put_nowait(conn)

    async def place(self, place_id: int) -> dict[str, Any] | None:
        conn = await self.free.get()
        try:
            async with conn.execute(
                f"SELECT {_COLUMNS} FROM places WHERE id = ?", (place_id,)
            ) as cursor:
                row = await cursor.fetchone()
                names = [d[0] for d in cursor.description]
        finally:
            self.free.put_nowait(conn)
        return None if row is None else dict(zip(names, row, strict=True))


class MySQLPool:
    def __init__(self, url: Any, size: int) -> None:
        self.url = url
        self.size = size
        self.pool: Any = None

    async def open(self) -> None:
        import asyncmy

        self.pool = await asyncmy.create_pool(
            host=self.url.hostname, port=self.url.port or 3306, user=self.url.username or "root",
            password=self.url.password or "", database=self.url.path.lstrip("/"),
            autocommit=True, charset="utf8mb4", minsize=1, maxsize=self.size,
        )

    async def place(self, place_id: int) -> dict[str, Any] | None:
        async with self.pool.acquire() as conn, conn.cursor() as cursor:
            await cursor.execute(f"SELECT {_COLUMNS} FROM places WHERE id = %s", (place_id,))
            row = await cursor.fetchone()
            names = [d[0] for d in cursor.description]
        return None if row is None else dict(zip(names, row, strict=True))


async def _no_reset(conn: Any) -> None:
    return None


class PostgresPool:
    def __init__(self, url: str, size: int) -> None:
        self.url = url
        self.size = size
        self.pool: Any = None

    async def open(self) -> None:
        import asyncpg

        # reset=: skip the RESET ALL / UNLISTEN round trip asyncpg's pool makes on
        # every release by default; squall's pool makes none, so neither do we.
        self.pool = await asyncpg.create_pool(self.url, min_size=1, max_size=self.size,
                                              reset=_no_reset)

    async def place(self, place_id: int) -> dict[str, Any] | None:
        row = await self.pool.fetchrow(f"SELECT {_COLUMNS} FROM places WHERE id = $1", place_id)
        return None if row is None else dict(row)


def _response(status: bytes, body: bytes) -> bytes:
    return (
        b"HTTP/1.1 %b\r\nContent-Type: application/json; charset=UTF-8\r\n"
        b"Content-Length: %d\r\n\r\n%b" % (status, len(body), body)
    )


class RawProtocol(asyncio.Protocol):
    def __init__(self, db: Any) -> None:
        self.db = db
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.queue: list[bytes] = []
        self.busy = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.transport is not None:
                self.transport.close()

    def on_message_begin(self) -> None:
        self.url = b""

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_message_complete(self) -> None:
        self.queue.append(self.url)
        if not self.busy:
            self.busy = True
            asyncio.get_running_loop().create_task(self.answer())

    async def answer(self) -> None:
        # Answers in request order, one at a time, as HTTP/1.1 requires.
        while self.queue:
            url = self.queue.pop(0)
            match = _PLACE.fullmatch(url)
            row = await self.db.place(int(match.group(1))) if match else None
            if row is None:
                data = _response(b"404 Not Found", b'{"error": "Not Found", "status": 404}')
            else:
                data = _response(b"200 OK", json.dumps(row).encode())
            if self.transport is not None:
                self.transport.write(data)
        self.busy = False


async def main(port: int, db_url: str, pool_size: int) -> None:
    url = urlsplit(db_url)
    db: Any
    if url.scheme == "sqlite":
        db = SQLitePool(db_url[len("sqlite:///"):], pool_size)
    elif url.scheme in ("mysql", "mariadb"):
        db = MySQLPool(url, pool_size)
    elif url.scheme in ("postgresql", "postgres"):
        db = PostgresPool(db_url, pool_size)
    else:
        raise SystemExit(f"unsupported database URL {db_url!r}")
    await db.open()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: RawProtocol(db), "127.0.0.1", port, backlog=4096)
    await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--pool-size", type=int, default=10)
    args = parser.parse_args()
    uvloop.run(main(args.port, args.db, args.pool_size))
