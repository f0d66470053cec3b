# ruff: noqa: RUF001  (the tables use the multiplication sign for ratios)
"""squall against its peers: server CPU per request, requests/s, idle-connection memory.

    make bench                                   # everything, ~5 minutes
    python bench/run.py --only squall,floor --scenarios plaintext,json --duration 5
    python bench/run.py --scenarios idle_memory --idle-connections 10000
    python bench/run.py --only floor,squall --scenarios plaintext --rounds 5

Every server runs pinned to core 0, wrk (one thread) pinned to core 1. Each
measurement is a warm-up run, then a measured run of ``--duration`` seconds.
The table figures are the server's CPU µs per completed request (utime+stime
of its process tree from /proc) and wrk's requests/s, each also as a ratio to
the floor server measured in the same run. With ``--rounds N`` the servers are
measured N times round-robin and the tables give medians, the ratios being medians
of per-round ratios: a slow drift in the machine's speed then hits the floor and
the server alike. Results also go to bench/results/<timestamp>.json. This is a
benchmark, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from statistics import median
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

# One round's measurements: server -> scenario -> Measurement.as_dict().
Round = dict[str, dict[str, dict[str, Any]]]


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


def measure_server(spec: ServerSpec, scenarios: list[str],
                   args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """One server's load scenarios, all in one fresh process (as a user's server runs)."""
    results: dict[str, dict[str, Any]] = {}
    with running(spec, "/plaintext") as server:
        check_responses(server)
        for scenario_name in scenarios:
            sc = SCENARIOS[scenario_name]
            m = measure(server, sc.path, sc.connections, args.duration, sc.script,
                        warmup=args.warmup)
            results[scenario_name] = m.as_dict()
            extra = f" errors {m.errors}" if m.errors else ""
            extra += f" non-2xx {m.non_2xx}" if m.non_2xx else ""
            log(f"  {spec.name:9} {scenario_name:9} {m.cpu_us_per_request:8.1f} µs/req "
                f"{m.rps:10.0f} req/s{extra}")
    return results


def measure_idle(spec: ServerSpec, count: int) -> dict[str, Any]:
    """Idle-connection memory in a fresh process: memory freed after the load runs
    (1,000 connections) would otherwise be reused and hide the growth."""
    log(f"  {spec.name:9} {IDLE}: {count} connections ...")
    with running(spec, "/plaintext") as server:
        r = idle_memory(server, count)
    log(f"  {spec.name:9} {IDLE}: {r['kb_per_connection']:.2f} KB per connection "
        f"({r['connections']} open, {r['failures']} failed)")
    return r


# -- rounds ------------------------------------------------------------------


def _per_round(rounds: list[Round], name: str, scenario: str) -> list[dict[str, Any]]:
    """``name``'s measurements of ``scenario``, one per round that has one."""
    return [r[name][scenario] for r in rounds if scenario in r.get(name, {})]


def floor_ratios(rounds: list[Round], name: str, scenario: str, metric: str) -> list[float]:
    """``metric`` over the floor's, round by round: both come from the same round,
    so a drift in the machine's speed slower than a round slows both and cancels."""
    return [r[name][scenario][metric] / r["floor"][scenario][metric] for r in rounds
            if scenario in r.get(name, {}) and r.get("floor", {}).get(scenario, {}).get(metric)]


def summarize(rounds: list[Round], idle: dict[str, dict[str, Any]],
              servers: list[str]) -> dict[str, dict[str, Any]]:
    """The saved ``results``, shaped as before --rounds: per server and scenario the
    median over rounds of every figure, wrk's errors and non-2xx summed."""
    results: dict[str, dict[str, Any]] = {}
    for name in servers:
        results[name] = {}
        for scenario in rounds[0].get(name, {}):
            ms = _per_round(rounds, name, scenario)
            summary: dict[str, Any] = {}
            for key, value in ms[0].items():
                if key == "errors":
                    summary[key] = _sum_errors(ms)
                elif key == "non_2xx":
                    summary[key] = sum(m[key] for m in ms)
                elif isinstance(value, int | float):
                    summary[key] = median(m[key] for m in ms)
            results[name][scenario] = summary
        if name in idle:
            results[name][IDLE] = idle[name]
    return results


def _sum_errors(ms: list[dict[str, Any]]) -> dict[str, int]:
    errors: dict[str, int] = {}
    for m in ms:
        for kind, count in m["errors"].items():
            errors[kind] = errors.get(kind, 0) + count
    return errors


def render_saved(saved: dict[str, Any]) -> str:
    """The tables of a bench/results/*.json; a run saved before --rounds, which
    has no ``rounds``, is its own one round."""
    results = saved["results"]
    idle = {name: r[IDLE] for name, r in results.items() if IDLE in r}
    rounds = saved.get("rounds") or [
        {name: {s: m for s, m in r.items() if s != IDLE} for name, r in results.items()}
    ]
    args = argparse.Namespace(**saved["args"])
    servers = [s for s in args.only.split(",") if s in results]
    return render(rounds, idle, servers, args.scenarios.split(","), args, saved["machine"],
                  str(saved["date"])[:16])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(SERVER_SPECS),
                        help="servers, comma-separated (default: all): " + ",".join(SERVER_SPECS))
    parser.add_argument("--scenarios", default=",".join([*SCENARIOS, IDLE]),
                        help="comma-separated (default: all): " + ",".join([*SCENARIOS, IDLE]))
    parser.add_argument("--duration", type=int, default=5, help="seconds per measured run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per run")
    parser.add_argument("--idle-connections", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure every server N times, interleaved; report medians")
    parser.add_argument("--db", action="store_true",
                        help="also run the database bench (bench/db.py) after this one")
    parser.add_argument("--report", metavar="RESULTS_JSON",
                        help="print the tables of an earlier run's bench/results/*.json and exit")
    args = parser.parse_args(argv)
    if args.report:
        print(render_saved(json.loads(Path(args.report).read_text())))
        return 0
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

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
    load = [s for s in scenarios if s != IDLE]
    n_rounds = args.rounds if load else 1  # without load scenarios a round only checks answers
    log(f"bench: {len(servers)} servers x {len(scenarios)} scenarios, {args.duration:g} s each"
        + (f", {n_rounds} rounds" if n_rounds > 1 else "")
        + f" (load average {info['loadavg_at_start'][0]:.2f})")
    rounds: list[Round] = []
    idle: dict[str, dict[str, Any]] = {}
    for i in range(n_rounds):
        if n_rounds > 1:
            log(f"bench: round {i + 1}/{n_rounds}")
        this_round: Round = {}
        # Each round starts one server later, so no server always runs at the
        # same point of a round (drift within a round is spread over all).
        for name in servers[i % len(servers):] + servers[:i % len(servers)]:
            this_round[name] = measure_server(SERVER_SPECS[name], load, args)
            if i == 0 and IDLE in scenarios:  # memory does not drift with CPU speed: once
                idle[name] = measure_idle(SERVER_SPECS[name], args.idle_connections)
        rounds.append(this_round)

    date = time.strftime("%Y-%m-%d %H:%M")
    report = render(rounds, idle, servers, scenarios, args, info, date)
    print(report)
    path = write_results("http", {
        "date": date,
        "machine": info,
        "args": vars(args),
        "results": summarize(rounds, idle, servers),
        "rounds": rounds,
        "report": report,
    })
    log(f"bench: results written to {path}")
    if args.db:
        import db

        return db.main(["--duration", str(args.duration), "--warmup", str(args.warmup)])
    return 0


# -- output ------------------------------------------------------------------


def _ratio(value: float, floor: float | None) -> str:
    return f"{value / floor:.2f}" if floor else "-"


def _cell(rounds: list[Round], name: str, scenario: str, metric: str, fmt: str) -> str:
    """The median of ``metric`` over the rounds and, in brackets, the median of
    its per-round ratios to the floor (not the ratio of the medians: see floor_ratios)."""
    ms = _per_round(rounds, name, scenario)
    if not ms:
        return "-"
    cell = format(median(m[metric] for m in ms), fmt)
    if name != "floor" and _per_round(rounds, "floor", scenario):
        ratios = floor_ratios(rounds, name, scenario, metric)
        cell += f" (×{median(ratios):.2f})" if ratios else " (×-)"
    return cell


def _split_cell(rounds: list[Round], name: str, scenario: str) -> str:
    """Median stime / utime µs per request; runs saved before the split have none."""
    ms = [m for m in _per_round(rounds, name, scenario) if "sys_us_per_request" in m]
    if not ms:
        return "-"
    system = median(m["sys_us_per_request"] for m in ms)
    user = median(m["cpu_us_per_request"] - m["sys_us_per_request"] for m in ms)
    return f"{system:.1f} / {user:.1f}"


def _spread_cell(rounds: list[Round], name: str, scenario: str) -> str:
    """Lowest to highest per-round CPU ratio to the floor: how far one round can be trusted."""
    ratios = floor_ratios(rounds, name, scenario, "cpu_us_per_request")
    return f"{min(ratios):.2f}–{max(ratios):.2f}" if ratios else "-"


def render(rounds: list[Round], idle: dict[str, dict[str, Any]], servers: list[str],
           scenarios: list[str], args: argparse.Namespace, info: dict[str, Any],
           date: str) -> str:
    scenarios_measured = [s for s in scenarios if s in SCENARIOS]
    head = (f"squall bench, {date}, {info['cpus']} CPUs ({info['cpu_model']}),"
            f" Python {info['python']}; servers on core {SERVER_CORE}, wrk -t1 on core {CLIENT_CORE};"
            f" {args.duration:g} s per run after {args.warmup:g} s warm-up.")
    if len(rounds) > 1:
        head += (f" Medians of {len(rounds)} rounds, servers interleaved round-robin;"
                 " ×floor is the median of the per-round ratios.")
    out = [
        head,
        "Figures from a noisy shared machine: compare servers within one run, not across runs.",
        "",
    ]
    if scenarios_measured:
        header = ["server", *(SCENARIOS[s].title for s in scenarios_measured)]

        def rows(cell: Callable[[str, str], str], names: list[str]) -> list[list[str]]:
            """One row per server, ``cell(server, scenario)`` per scenario."""
            return [[name, *(cell(name, s) for s in scenarios_measured)] for name in names]

        def cpu(name: str, s: str) -> str:
            return _cell(rounds, name, s, "cpu_us_per_request", ".1f")

        def rps(name: str, s: str) -> str:
            return _cell(rounds, name, s, "rps", ",.0f")

        def split(name: str, s: str) -> str:
            return _split_cell(rounds, name, s)

        def spread(name: str, s: str) -> str:
            return _spread_cell(rounds, name, s)

        out += ["**Server CPU µs per request** (lower is better; ×floor in brackets)", "",
                markdown_table(header, rows(cpu, servers)), ""]
        others = [name for name in servers if name != "floor"]
        if len(rounds) > 1 and "floor" in servers and others:
            out += [f"**Spread of the CPU ×floor over the {len(rounds)} rounds** (lowest–highest"
                    " per-round ratio)", "", markdown_table(header, rows(spread, others)), ""]
        out += ["**Of which kernel / user** (stime / utime µs per request: the kernel's part is "
                "mostly the socket reads and writes every server pays)", "",
                markdown_table(header, rows(split, servers)), ""]
        out += ["**Requests per second** (higher is better; ×floor in brackets; wall-clock, noisy)",
                "", markdown_table(header, rows(rps, servers)), ""]
        problems = []
        for name in servers:
            for s in scenarios_measured:
                ms = _per_round(rounds, name, s)
                errors, non_2xx = _sum_errors(ms), sum(m["non_2xx"] for m in ms)
                if errors or non_2xx:
                    problems.append(f"{name} {s}: socket errors {errors}, non-2xx {non_2xx}")
        if problems:
            out += ["wrk reported: " + "; ".join(problems), ""]
    if IDLE in scenarios:
        header = ["server", "connections held", "RSS before", "RSS after", "KiB per connection"]
        idle_rows = []
        floor_kb = idle.get("floor", {}).get("kb_per_connection")
        for name in servers:
            r = idle.get(name)
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
            idle_rows.append([name, held, f"{r['rss_before_kb'] / 1024:.1f} MiB",
                              f"{r['rss_after_kb'] / 1024:.1f} MiB", per])
        out += [f"**Idle keep-alive connections: server RSS growth** ({args.idle_connections:,}"
                " connections, each answered once, then idle)", "",
                markdown_table(header, idle_rows), ""]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
