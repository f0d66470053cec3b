"""Where squall's time goes: py-spy samples squall's server under wrk load.

    python bench/profile.py [--scenarios plaintext,json] [--duration 10] [--top 25]

The squall server of run.py runs pinned to core 0, wrk and py-spy on core 1.
py-spy records raw (folded) stacks; this script sums them into self time (the
frame on top of the stack) and total time (the frame anywhere on the stack),
as shares of all samples, and prints them as markdown tables. Idle samples
(the loop waiting in epoll) are left out by py-spy, so shares are of busy time.
The raw stacks are kept in bench/results/ for a flame graph
(``flamegraph.pl`` or speedscope.app read them).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from common import (
    CLIENT_CORE,
    RESULTS,
    log,
    markdown_table,
    py_spy,
    raise_nofile,
    run_wrk,
    running,
)
from run import SCENARIOS, SERVER_SPECS

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def record(server_name: str, scenario: str, seconds: int, rate: int) -> Path:
    sc = SCENARIOS[scenario]
    out = RESULTS / f"profile-{server_name}-{scenario}-{time.strftime('%Y%m%dT%H%M%S')}.txt"
    with running(SERVER_SPECS[server_name], "/plaintext") as server:
        run_wrk(server.port, sc.path, sc.connections, 2, sc.script)  # warm-up
        spy = subprocess.Popen(
            ["taskset", "-c", str(CLIENT_CORE), py_spy(), "record", "--pid", str(server.pid),
             "--format", "raw", "--rate", str(rate), "--duration", str(seconds + 1),
             "--function", "--output", str(out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        time.sleep(0.5)
        run_wrk(server.port, sc.path, sc.connections, seconds, sc.script)
        _, err = spy.communicate(timeout=seconds + 30)
        if spy.returncode != 0 or not out.exists():
            raise RuntimeError(f"py-spy failed ({spy.returncode}): {err.decode(errors='replace')}")
    return out


def _label(frame: str) -> str:
    match = _FRAME.match(frame)
    if not match:
        return frame
    return f"{match.group('func')} ({match.group('file')}:{match.group('line') or '?'})"


def summarize(path: Path, top: int) -> tuple[str, int]:
    self_time: Counter[str] = Counter()
    total_time: Counter[str] = Counter()
    samples = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_label(f) for f in stack.split(";") if f and not f.startswith("process ")
                  and not f.startswith("thread ")]
        if not frames:
            continue
        samples += count
        self_time[frames[-1]] += count
        for frame in set(frames):
            total_time[frame] += count

    def table(counter: Counter[str], title: str) -> str:
        rows = [[f"{n / samples * 100:.1f}%", f"`{name}`"] for name, n in counter.most_common(top)]
        return f"**{title}**\n\n" + markdown_table(["share", "function (file:first line)"], rows)

    text = "\n\n".join([
        table(self_time, "Self time (the function itself, not its callees)"),
        table(total_time, "Total time (the function and everything it calls)"),
    ])
    return text, samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default="squall", choices=list(SERVER_SPECS))
    parser.add_argument("--scenarios", default="plaintext,json")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rate", type=int, default=500, help="py-spy samples per second")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    raise_nofile()
    os.sched_setaffinity(0, {CLIENT_CORE})
    RESULTS.mkdir(exist_ok=True)
    for scenario in [s.strip() for s in args.scenarios.split(",") if s.strip()]:
        if scenario not in SCENARIOS:
            parser.error(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
        log(f"profile: {args.server} {scenario}, {args.duration} s at {args.rate} Hz ...")
        path = record(args.server, scenario, args.duration, args.rate)
        text, samples = summarize(path, args.top)
        print(f"## {args.server}, {scenario} ({samples} busy samples; raw stacks in "
              f"{path.relative_to(RESULTS.parent.parent)})\n\n{text}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
