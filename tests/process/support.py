"""Helpers for the process tests: run the CLI, find ports, speak HTTP, generate load."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

ENV = dict(os.environ, PYTHONPATH=str(ROOT))
ENV.pop("SQUALL_STANDIN_SERVER", None)
# Workers serving through the internal stand-in responder (squall.process._standin).
STANDIN_ENV = dict(ENV, SQUALL_STANDIN_SERVER="1")

APP_SOURCE = '''
import asyncio
import os

if os.environ.get("SQUALL_STANDIN_SERVER") == "1":
    async def app(method, path):
        if path.startswith("/slow"):
            await asyncio.sleep(float(path.partition("s=")[2] or 2))
        return 200, str(os.getpid()).encode()
else:
    from squall.web import Application, RequestHandler

    class PidHandler(RequestHandler):
        def get(self):
            self.write(str(os.getpid()))

    class SlowHandler(RequestHandler):
        async def get(self):
            await asyncio.sleep(float(self.get_argument("s", "2")))
            self.write(str(os.getpid()))

    app = Application([(r"/", PidHandler), (r"/slow", SlowHandler)])
'''


def write_app(directory: Path, name: str = "pidapp.py", source: str = APP_SOURCE) -> Path:
    path = directory / name
    path.write_text(source)
    return path


def squall(*args: str, cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``python -m squall ARGS`` to completion."""
    return subprocess.run(
        [sys.executable, "-m", "squall", *args],
        env=ENV, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False,
    )


def free_ports(count: int) -> int:
    """A base port such that ``base .. base+count-1`` are all free right now."""
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + count >= 65535:
            continue
        held: list[socket.socket] = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                held.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in held:
                s.close()
    raise RuntimeError(f"no {count} consecutive free ports found")


def get(port: int, path: str = "/", timeout: float = 10) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


def wait_for_pid(port: int, timeout: float = 15, not_in: set[int] | frozenset[int] = frozenset()) -> int:
    """Poll until ``port`` answers with a worker PID not in ``not_in``; return it."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            status, body = get(port, timeout=2)
            if status == 200 and int(body) not in not_in:
                return int(body)
            last = (status, body)
        except (OSError, ValueError, http.client.HTTPException) as exc:
            last = exc
        time.sleep(0.05)
    raise AssertionError(f"port {port} gave no new PID within {timeout}s; last: {last!r}")


def wait_exit(proc: subprocess.Popen[str], timeout: float) -> int:
    return proc.wait(timeout=timeout)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_gone(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() > deadline:
            raise AssertionError(f"PID {pid} still alive after {timeout}s")
        time.sleep(0.05)


@contextlib.contextmanager
def serving(app: Path, *args: str, cwd: Path, log: Path,
            env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[str]]:
    """``squall serve`` in the foreground; TERM and reap it on the way out."""
    with open(log, "a") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "squall", "serve", str(app), *args],
            env=env or ENV, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, text=True,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# -- load generation ---------------------------------------------------------------


@dataclass
class LoadStats:
    issued: int = 0
    ok: int = 0
    failed: int = 0
    pids: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip().lower()
    if headers.get("transfer-encoding") == "chunked":
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
    else:
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, body, headers.get("connection") == "close"


async def _client(ports: list[int], index: int, stats: LoadStats, stop: threading.Event,
                  total: int | None, path: str) -> None:
    # Keep-alive GETs, no retries: any error or non-200 counts as a failed request.
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    connects = index
    sent = 0
    while not stop.is_set() and (total is None or stats.issued < total):
        stats.issued += 1
        sent += 1
        try:
            if writer is None:
                port = ports[connects % len(ports)]
                connects += 1
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            assert reader is not None
            writer.write(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
            status, body, close = await asyncio.wait_for(_read_response(reader), 10)
            if status == 200:
                stats.ok += 1
                stats.pids[int(body)] += 1
            else:
                stats.failed += 1
                stats.errors.append(f"status {status}")
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError) as exc:
            stats.failed += 1
            stats.errors.append(repr(exc))
            close = True
        if close and writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            reader = writer = None
        if len(ports) > 1 and writer is not None and sent % 50 == 0:
            # Spread over per-port instances: hop to the next port now and then.
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


class Load:
    """Run keep-alive GET clients in a background thread until stopped."""

    def __init__(self, ports: list[int], *, concurrency: int = 8, total: int | None = None,
                 path: str = "/") -> None:
        self.stats = LoadStats()
        self._stop = threading.Event()
        self._args = (ports, concurrency, total, path)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        ports, concurrency, total, path = self._args

        async def main() -> None:
            await asyncio.gather(*(
                _client(ports, i, self.stats, self._stop, total, path) for i in range(concurrency)
            ))

        asyncio.run(main())

    def start(self) -> Load:
        self._thread.start()
        return self

    def stop(self) -> LoadStats:
        self._stop.set()
        self._thread.join(timeout=60)
        return self.stats

    def wait(self, timeout: float) -> LoadStats:
        self._thread.join(timeout=timeout)
        self._stop.set()
        self._thread.join(timeout=30)
        return self.stats
