# ruff: noqa: RUF001  (the table uses the multiplication sign for ratios)
"""The places API's single-row GET /place/N against the raw driver, per database.

    python bench/db.py [--databases sqlite,mysql,postgresql] [--duration 5]

For each database: the places example app (squall + squall.models, pool of 10)
and a bare uvloop + httptools server running the same SELECT through the raw
driver's pool of 10 (aiosqlite / asyncmy / asyncpg), each pinned to core 0
under wrk (64 connections) on core 1. The figure is the HTTP server's CPU µs
per request; the database server's own CPU (MariaDB, PostgreSQL) is not in it,
SQLite's is (aiosqlite's threads live in the server process).

Uses the databases named by --sqlite / --mysql / --postgresql; the MariaDB and
PostgreSQL ones (``squall_bench`` by default) are created when missing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from typing import Any

from common import (
    CLIENT_CORE,
    RESULTS,
    SERVER_CORE,
    SERVERS,
    ServerSpec,
    fetch,
    log,
    machine_info,
    markdown_table,
    measure,
    raise_nofile,
    running,
    write_results,
)

DEFAULTS = {
    "sqlite": f"sqlite:///{RESULTS / 'places-bench.db'}",
    "mysql": "mysql://root@127.0.0.1:3306/squall_bench",
    "postgresql": "postgresql://postgres@127.0.0.1:5432/squall_bench",
}


async def create_database(kind: str, url: str) -> None:
    """CREATE DATABASE for the MariaDB / PostgreSQL URL, through the server's default db."""
    from urllib.parse import urlsplit

    if kind == "sqlite":
        return  # the file is created on first connect
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name.isidentifier():
        raise ValueError(f"database name {name!r} in {url!r} is not a plain identifier")
    if kind == "mysql":
        import asyncmy

        conn = await asyncmy.connect(host=parts.hostname, port=parts.port or 3306,
                                     user=parts.username or "root", password=parts.password or "",
                                     autocommit=True)
        try:
            async with conn.cursor() as cursor:
                await cursor.execute(
                    "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (name,))
                if not await cursor.fetchone():
                    await cursor.execute(f"CREATE DATABASE {name}")
        finally:
            conn.close()
    elif kind == "postgresql":
        import asyncpg

        admin = parts._replace(path="/postgres").geturl()
        conn = await asyncpg.connect(admin)
        try:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await conn.execute(f"CREATE DATABASE {name}")
        finally:
            await conn.close()


def seed_place(port: int) -> int:
    """The id of a place in the table, created through the API when there is none."""
    status, body = fetch(port, "/place?limit=1")
    places = json.loads(body)["places"]
    if places:
        return int(places[0]["id"])
    payload = json.dumps({"name": "Lighthouse", "lat": 48.3904, "lon": -4.4861,
                          "description": "a place to benchmark"}).encode()
    status, body = fetch(port, "/place", payload)
    if status != 201:
        raise RuntimeError(f"could not create a place: {status} {body!r}")
    return int(json.loads(body)["id"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", default="sqlite,mysql,postgresql")
    parser.add_argument("--duration", type=int, default=5, help="seconds per measured run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per run")
    parser.add_argument("--connections", type=int, default=64)
    for kind, url in DEFAULTS.items():
        parser.add_argument(f"--{kind}", default=url, help=f"database URL (default {url})")
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.databases.split(",") if k.strip()]
    for kind in kinds:
        if kind not in DEFAULTS:
            parser.error(f"unknown database {kind!r}; known: {', '.join(DEFAULTS)}")
    raise_nofile()
    os.sched_setaffinity(0, {CLIENT_CORE})
    RESULTS.mkdir(exist_ok=True)
    info = machine_info()

    results: dict[str, dict[str, Any]] = {}
    for kind in kinds:
        url = getattr(args, kind)
        asyncio.run(create_database(kind, url))
        squall_spec = ServerSpec(f"places-{kind}", [
            "{python}", str(SERVERS / "places_squall.py"), "--port", "{port}", "--db", url])
        raw_spec = ServerSpec(f"raw-{kind}", [
            "{python}", str(SERVERS / "db_raw.py"), "--port", "{port}", "--db", url])
        results[kind] = {"url": url}
        with running(squall_spec, "/place?limit=1") as server:
            place_id = seed_place(server.port)
            path = f"/place/{place_id}"
            _status, squall_body = fetch(server.port, path)
            m = measure(server, path, args.connections, args.duration, warmup=args.warmup)
            results[kind]["squall"] = m.as_dict()
            log(f"  {kind:10} squall+models {m.cpu_us_per_request:8.1f} µs/req {m.rps:8.0f} req/s"
                f"{' errors ' + str(m.errors) if m.errors else ''}"
                f"{' non-2xx ' + str(m.non_2xx) if m.non_2xx else ''}")
        with running(raw_spec, path) as server:
            _status, raw_body = fetch(server.port, path)
            if json.loads(raw_body) != json.loads(squall_body):
                raise RuntimeError(f"{kind}: raw answer {raw_body!r} differs from {squall_body!r}")
            m = measure(server, path, args.connections, args.duration, warmup=args.warmup)
            results[kind]["raw"] = m.as_dict()
            log(f"  {kind:10} raw driver    {m.cpu_us_per_request:8.1f} µs/req {m.rps:8.0f} req/s"
                f"{' errors ' + str(m.errors) if m.errors else ''}"
                f"{' non-2xx ' + str(m.non_2xx) if m.non_2xx else ''}")

    report = render(results, kinds, args, info)
    print(report)
    path = write_results("db", {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "machine": info, "args": vars(args),
        "results": results, "report": report,
    })
    log(f"bench: results written to {path}")
    return 0


def render(results: dict[str, dict[str, Any]], kinds: list[str], args: argparse.Namespace,
           info: dict[str, Any]) -> str:
    header = ["database", "squall + models µs/req", "raw driver µs/req", "×raw",
              "squall req/s", "raw req/s"]
    rows = []
    for kind in kinds:
        s, r = results[kind]["squall"], results[kind]["raw"]
        rows.append([kind, f"{s['cpu_us_per_request']:.1f}", f"{r['cpu_us_per_request']:.1f}",
                     f"{s['cpu_us_per_request'] / r['cpu_us_per_request']:.2f}",
                     f"{s['rps']:,.0f}", f"{r['rps']:,.0f}"])
    return "\n".join([
        f"squall DB bench, {time.strftime('%Y-%m-%d %H:%M')}, {info['cpus']} CPUs, Python "
        f"{info['python']}; server on core {SERVER_CORE}, wrk -t1 -c{args.connections} on core "
        f"{CLIENT_CORE}; {args.duration} s per run after {args.warmup} s warm-up.",
        "Figures from a noisy shared machine; database servers' own CPU not included.",
        "",
        "**GET /place/N (one row by primary key): HTTP server CPU µs per request**",
        "",
        markdown_table(header, rows),
        "",
    ])


if __name__ == "__main__":
    sys.exit(main())
