"""squall's own per-request cost without sockets: a repeatable micro-bench.

    python bench/inprocess.py [--requests 20000] [--batches 7] [--profile]
    python bench/inprocess.py --instructions [--server squall|lean|floor]  # valgrind

A ``ServerState`` and an ``HTTP1ServerProtocol`` on a fake transport are fed
wrk's request bytes through ``data_received`` on a uvloop loop, so every
Python line squall runs per request is measured and nothing else (no kernel,
no wrk). The best of several batches is printed in microseconds per request.
It is a tool for comparing two versions of squall on this machine, not a
figure to report: ``run.py`` measures the real server.
"""

from __future__ import annotations

import os
import sys

# bench/profile.py would shadow the standard library's profile module.
_BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _BENCH]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import cProfile  # noqa: E402
import pstats  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "servers"))

from squall_app import make_app  # noqa: E402

from squall.http.config import ServerConfig  # noqa: E402
from squall.http.protocol import HTTP1ServerProtocol  # noqa: E402
from squall.http.server import ServerState  # noqa: E402

REQUESTS = {
    "plaintext": b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n",
    "json": b"GET /json/123 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n",
}


class CountingTransport:
    """Just enough of a transport: counts bytes written, never pauses."""

    def __init__(self) -> None:
        self.written = 0
        self.last = b""

    def write(self, data: bytes) -> None:
        self.written += len(data)
        self.last = data

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000) if name == "peername" else default

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


SERVERS = ("squall", "lean", "floor")


def make_protocol(server: str, loop: asyncio.AbstractEventLoop) -> Any:
    """One connection's protocol of ``server``: squall's, or bench/servers' lean or floor."""
    if server == "squall":
        return HTTP1ServerProtocol(ServerState(loop, make_app(), ServerConfig()))
    import floor
    import lean
    return {"floor": floor.FloorProtocol, "lean": lean.LeanProtocol}[server]()


def measure(request: bytes, count: int, batches: int, server: str = "squall") -> tuple[float, bytes]:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    protocol = make_protocol(server, loop)
    transport = CountingTransport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    feed = protocol.data_received
    feed(request)
    size = transport.written  # every response has the same length
    best = float("inf")
    for _ in range(batches):
        start = time.perf_counter()
        for _ in range(count):
            feed(request)
        best = min(best, (time.perf_counter() - start) / count)
    loop.close()
    # The loop never runs: a response deferred to it (call_soon, a task) would
    # be left out of the figure, not measured. Refuse rather than under-count.
    if size == 0 or transport.written != size * (batches * count + 1):
        raise RuntimeError(f"{transport.written} bytes written for {batches * count + 1} requests"
                           f" of {size}: not every response was written inside data_received")
    return best * 1e6, transport.last


def instructions(name: str, server: str = "squall",
                 counts: tuple[int, int] = (200, 2200)) -> float:
    """CPU instructions per request of scenario ``name`` on ``server``, counted by callgrind."""
    totals = []
    for count in counts:
        result = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
             sys.executable, os.path.abspath(__file__), "--raw", name, "--server", server,
             "--requests", str(count)],
            capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        found = re.search(r"Collected : (\d+)", result.stderr)
        if result.returncode != 0 or not found:
            raise RuntimeError(f"valgrind failed ({result.returncode}): {result.stderr[-2000:]}")
        totals.append(int(found.group(1)))
    return (totals[1] - totals[0]) / (counts[1] - counts[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--batches", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="cProfile one batch of each")
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions per request under valgrind instead of timing")
    parser.add_argument("--server", choices=SERVERS, default="squall",
                        help="squall (default), or bench/servers' lean or floor protocol")
    parser.add_argument("--raw", choices=sorted(REQUESTS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    try:
        import uvloop
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    if args.raw:  # one batch, no output: the process valgrind counts
        measure(REQUESTS[args.raw], args.requests, 1, args.server)
        return
    if args.instructions:
        for name in REQUESTS:
            count = instructions(name, args.server)
            print(f"{args.server} {name:10s} {count:9,.0f} instructions/request")
        return
    for name, request in REQUESTS.items():
        micros, last = measure(request, args.requests, args.batches, args.server)
        status = last.split(b"\r\n", 1)[0].decode()
        print(f"{args.server} {name:10s} {micros:6.2f} µs/request   ({status})")
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            measure(request, args.requests, 1, args.server)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
