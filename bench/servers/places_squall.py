"""The places example app (squall + squall.models) on the database at --db."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import squall.ioloop
from examples.places.app import make_app, open_database


async def main(port: int, db_url: str, pool_size: int) -> None:
    db = await open_database(db_url, pool_size)
    server = make_app().listen(port, "127.0.0.1", backlog=4096)
    try:
        await asyncio.Event().wait()
    finally:
        server.stop()
        await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--pool-size", type=int, default=10)
    args = parser.parse_args()
    loop = squall.ioloop.IOLoop.current().asyncio_loop
    loop.run_until_complete(main(args.port, args.db, args.pool_size))
