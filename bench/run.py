# ruff: noqa: RUF001  (the tables use the multiplication sign for ratios)
"""squall against its peers: server CPU per request, requests/s, idle-connection memory.

    make bench                                   # everything, ~5 minutes
    python bench/run.py --only squall,floor --scenarios plaintext,json --duration 5
    python bench/run.py --scenarios idle_memory --idle-connections 10000

Every server runs pinned to core 0, wrk (one thread) pinned to core 1. Each
measurement is a warm-up run, then a measured run of ``--duration`` seconds.
The table figures are the server's CPU µs per completed request (utime+stime
of its process tree from /proc) and wrk's requests/s, each also as a ratio to
the floor server measured in the same run. Results also go to
bench/results/<timestamp>.json. This is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import (
    BENCH,
    CLIENT_CORE,
    SERVER_CORE,
    SERVERS,
    Server,
    ServerSpec,
    fetch,
    log,
    machine_info,
    markdown_table,
    measure,
    open_fds,
    raise_nofile,
    rss_kb,
    run_wrk,
    running,
    write_results,
)

SERVER_SPECS = {
    "floor": ServerSpec("floor", ["{python}", str(SERVERS / "floor.py"), "--port", "{port}"]),
    "lean": ServerSpec("lean", ["{python}", str(SERVERS / "lean.py"), "--port", "{port}"]),
    "squall": ServerSpec("squall", ["{python}", str(SERVERS / "squall_app.py"), "--port", "{port}"]),
    "tornado": ServerSpec(
        "tornado", ["{python}", str(SERVERS / "tornado_app.py"), "--port", "{port}"], "peers"),
    "aiohttp": ServerSpec(
        "aiohttp", ["{python}", str(SERVERS / "aiohttp_app.py"), "--port", "{port}"], "peers"),
    "uvicorn": ServerSpec(
        "uvicorn", ["{python}", str(SERVERS / "uvicorn_raw.py"), "--port", "{port}"], "peers"),
    "starlette": ServerSpec(
        "starlette", ["{python}", str(SERVERS / "starlette_app.py"), "--port", "{port}"], "peers"),
}


@dataclass
class Scenario:
    name: str
    title: str
    path: str
    connections: int = 64
    script: Path | None = None


SCENARIOS = {
    "plaintext": Scenario("plaintext", "plaintext", "/plaintext"),
    "json": Scenario("json", "JSON /json/123", "/json/123"),
    "post4k": Scenario("post4k", "POST 4 KB echo", "/echo", script=BENCH / "post.lua"),
    "pipeline": Scenario("pipeline", "pipelined ×16", "/plaintext", script=BENCH / "pipeline.lua"),
    "c1000": Scenario("c1000", "plaintext, 1000 conns", "/plaintext", connections=1000),
}
IDLE = "idle_memory"


def check_responses(server: Server) -> None:
    """Every server must give the same answers before its speed means anything."""
    status, body = fetch(server.port, "/plaintext")
    if status != 200 or body != b"Hello, World!":
        raise RuntimeError(f"{server.spec.name}: GET /plaintext gave {status} {body!r}")
    status, body = fetch(server.port, "/json/123")
    if status != 200 or json.loads(body) != {"id": 123, "message": "Hello"}:
        raise RuntimeError(f"{server.spec.name}: GET /json/123 gave {status} {body!r}")
    payload = b"x" * 4096
    status, body = fetch(server.port, "/echo", payload)
    if status != 200 or body != payload:
        raise RuntimeError(f"{server.spec.name}: POST /echo gave {status} {body[:60]!r}...")


# -- idle connections --------------------------------------------------------

_REQUEST = b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


async def _open_idle(port: int, count: int, parallel: int) -> tuple[list[Any], int]:
    """Open ``count`` keep-alive connections, each answered once, and keep them."""
    gate = asyncio.Semaphore(parallel)
    writers: list[Any] = []
    failures = 0

    async def one() -> None:
        nonlocal failures
        async with gate:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", port), 30)
                writer.write(_REQUEST)
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await asyncio.wait_for(reader.readexactly(length), 30)
                writers.append((reader, writer))
            except (OSError, asyncio.IncompleteReadError):
                failures += 1

    await asyncio.gather(*(one() for _ in range(count)))
    return writers, failures


def idle_memory(server: Server, count: int) -> dict[str, Any]:
    """RSS growth of the server per idle keep-alive connection."""
    run_wrk(server.port, "/plaintext", 64, 1.0)  # warm the server as for the other runs
    time.sleep(0.5)
    rss_before = rss_kb(server.pid)
    fds_before = open_fds(server.pid)
    loop = asyncio.new_event_loop()
    try:
        started = time.monotonic()
        conns, failures = loop.run_until_complete(_open_idle(server.port, count, 200))
        opened_in = time.monotonic() - started
        time.sleep(1.0)  # idle
        rss_after = rss_kb(server.pid)
        fds_after = open_fds(server.pid)
        for _reader, writer in conns:
            writer.close()
        loop.run_until_complete(asyncio.sleep(0.5))
    finally:
        loop.close()
    gc.collect()
    held = fds_after - fds_before
    opened = len(conns)
    return {
        "connections": opened,
        "failures": failures,
        "held_by_server": held,
        "rss_before_kb": rss_before,
        "rss_after_kb": rss_after,
        "kb_per_connection": (rss_after - rss_before) / opened if opened else float("nan"),
        "seconds_to_open": opened_in,
    }


# -- the run -----------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(SERVER_SPECS),
                        help="servers, comma-separated (default: all): " + ",".join(SERVER_SPECS))
    parser.add_argument("--scenarios", default=",".join([*SCENARIOS, IDLE]),
                        help="comma-separated (default: all): " + ",".join([*SCENARIOS, IDLE]))
    parser.add_argument("--duration", type=int, default=5, help="seconds per measured run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per run")
    parser.add_argument("--idle-connections", type=int, default=10_000)
    parser.add_argument("--db", action="store_true",
                        help="also run the database bench (bench/db.py) after this one")
    parser.add_argument("--report", metavar="RESULTS_JSON",
                        help="print the tables of an earlier run's bench/results/*.json and exit")
    args = parser.parse_args(argv)
    if args.report:
        saved = json.loads(Path(args.report).read_text())
        saved_args = argparse.Namespace(**saved["args"])
        servers = [s for s in saved_args.only.split(",") if s in saved["results"]]
        print(render(saved["results"], servers, saved_args.scenarios.split(","), saved_args,
                     saved["machine"], str(saved["date"])[:16]))
        return 0

    servers = [s.strip() for s in args.only.split(",") if s.strip()]
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    for name in servers:
        if name not in SERVER_SPECS:
            parser.error(f"unknown server {name!r}; known: {', '.join(SERVER_SPECS)}")
    for name in scenarios:
        if name not in SCENARIOS and name != IDLE:
            parser.error(f"unknown scenario {name!r}; known: {', '.join([*SCENARIOS, IDLE])}")

    nofile = raise_nofile()
    if IDLE in scenarios and nofile < args.idle_connections + 100:
        parser.error(f"RLIMIT_NOFILE hard limit {nofile} is below --idle-connections")
    os.sched_setaffinity(0, {CLIENT_CORE})  # the idle-memory client shares wrk's core

    info = machine_info()
    log(f"bench: {len(servers)} servers x {len(scenarios)} scenarios, {args.duration:g} s each "
        f"(load average {info['loadavg_at_start'][0]:.2f})")
    results: dict[str, dict[str, Any]] = {name: {} for name in servers}
    for name in servers:
        spec = SERVER_SPECS[name]
        with running(spec, "/plaintext") as server:
            check_responses(server)
            for scenario_name in scenarios:
                if scenario_name == IDLE:
                    continue
                sc = SCENARIOS[scenario_name]
                m = measure(server, sc.path, sc.connections, args.duration, sc.script,
                            warmup=args.warmup)
                results[name][scenario_name] = m.as_dict()
                extra = f" errors {m.errors}" if m.errors else ""
                extra += f" non-2xx {m.non_2xx}" if m.non_2xx else ""
                log(f"  {name:9} {scenario_name:9} {m.cpu_us_per_request:8.1f} µs/req "
                    f"{m.rps:10.0f} req/s{extra}")
        if IDLE in scenarios:
            # A fresh process: memory freed after the load runs (1,000 connections)
            # would otherwise be reused and hide the growth.
            log(f"  {name:9} {IDLE}: {args.idle_connections} connections ...")
            with running(spec, "/plaintext") as server:
                results[name][IDLE] = idle_memory(server, args.idle_connections)
            r = results[name][IDLE]
            log(f"  {name:9} {IDLE}: {r['kb_per_connection']:.2f} KB per connection "
                f"({r['connections']} open, {r['failures']} failed)")

    date = time.strftime("%Y-%m-%d %H:%M")
    report = render(results, servers, scenarios, args, info, date)
    print(report)
    path = write_results("http", {
        "date": date,
        "machine": info,
        "args": vars(args),
        "results": results,
        "report": report,
    })
    log(f"bench: results written to {path}")
    if args.db:
        import db

        return db.main(["--duration", str(args.duration), "--warmup", str(args.warmup)])
    return 0


def _ratio(value: float, floor: float | None) -> str:
    return f"{value / floor:.2f}" if floor else "-"


def render(results: dict[str, dict[str, Any]], servers: list[str], scenarios: list[str],
           args: argparse.Namespace, info: dict[str, Any], date: str) -> str:
    floor = results.get("floor", {})
    scenarios_measured = [s for s in scenarios if s in SCENARIOS]
    out = [
        f"squall bench, {date}, {info['cpus']} CPUs ({info['cpu_model']}),"
        f" Python {info['python']}; servers on core {SERVER_CORE}, wrk -t1 on core {CLIENT_CORE};"
        f" {args.duration:g} s per run after {args.warmup:g} s warm-up.",
        "Figures from a noisy shared machine: compare servers within one run, not across runs.",
        "",
    ]
    if scenarios_measured:
        header = ["server", *(SCENARIOS[s].title for s in scenarios_measured)]

        def ratio_rows(metric: str, fmt: str) -> list[list[str]]:
            """One row per server: ``metric`` per scenario, with its ratio to the floor."""
            table = []
            for name in servers:
                row = [name]
                for s in scenarios_measured:
                    m = results[name].get(s)
                    f = floor.get(s)
                    if m is None:
                        row.append("-")
                        continue
                    cell = format(m[metric], fmt)
                    if f and name != "floor":
                        cell += f" (×{_ratio(m[metric], f[metric])})"
                    row.append(cell)
                table.append(row)
            return table

        out += ["**Server CPU µs per request** (lower is better; ×floor in brackets)", "",
                markdown_table(header, ratio_rows("cpu_us_per_request", ".1f")), ""]
        rps_rows = ratio_rows("rps", ",.0f")
        rows = []
        for name in servers:
            row = [name]
            for s in scenarios_measured:
                m = results[name].get(s)
                row.append("-" if m is None or "sys_us_per_request" not in m else
                           f"{m['sys_us_per_request']:.1f} / "
                           f"{m['cpu_us_per_request'] - m['sys_us_per_request']:.1f}")
            rows.append(row)
        out += ["**Of which kernel / user** (stime / utime µs per request: the kernel's part is "
                "mostly the socket reads and writes every server pays)", "",
                markdown_table(header, rows), ""]
        out += ["**Requests per second** (higher is better; ×floor in brackets; wall-clock, noisy)",
                "", markdown_table(header, rps_rows), ""]
        problems = []
        for name in servers:
            for s in scenarios_measured:
                m = results[name].get(s)
                if m and (m["errors"] or m["non_2xx"]):
                    problems.append(f"{name} {s}: socket errors {m['errors']}, non-2xx {m['non_2xx']}")
        if problems:
            out += ["wrk reported: " + "; ".join(problems), ""]
    if IDLE in scenarios:
        header = ["server", "connections held", "RSS before", "RSS after", "KiB per connection"]
        rows = []
        floor_kb = floor.get(IDLE, {}).get("kb_per_connection")
        for name in servers:
            r = results[name].get(IDLE)
            if r is None:
                continue
            per = f"{r['kb_per_connection']:.2f}"
            if floor_kb and name != "floor":
                per += f" (×{_ratio(r['kb_per_connection'], floor_kb)})"
            held = f"{r['connections']:,}"
            if r["failures"]:
                held += f" ({r['failures']} failed)"
            if abs(r["held_by_server"] - r["connections"]) > r["connections"] * 0.01:
                held += f" (server fds +{r['held_by_server']})"
            rows.append([name, held, f"{r['rss_before_kb'] / 1024:.1f} MiB",
                         f"{r['rss_after_kb'] / 1024:.1f} MiB", per])
        out += [f"**Idle keep-alive connections: server RSS growth** ({args.idle_connections:,}"
                " connections, each answered once, then idle)", "", markdown_table(header, rows), ""]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
