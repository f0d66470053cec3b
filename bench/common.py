"""What every bench in this folder shares: the peers' virtualenv, pinned server
processes, wrk runs, CPU and memory readings from /proc, and markdown tables.

Method (the developers' guide): wall-clock requests per second vary several-fold
on a shared machine, so the figure to compare is the server's own CPU time per
request: utime+stime of the server's process tree, read from /proc before and
after a wrk run pinned to the other core, divided by the requests wrk completed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SERVERS = BENCH / "servers"
PEER_VENV = BENCH / ".venv"
PEER_REQUIREMENTS = BENCH / "requirements-peers.txt"
RESULTS = BENCH / "results"
WRK = "/usr/bin/wrk"
SERVER_CORE = 0
CLIENT_CORE = 1
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


# -- environment -------------------------------------------------------------


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def raise_nofile() -> int:
    """Raise this process's open-file limit to its hard limit (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def peer_python() -> str:
    """bench/.venv's interpreter, creating the venv and installing the pinned peers
    when requirements-peers.txt changed since the last install."""
    python = PEER_VENV / "bin" / "python"
    stamp = PEER_VENV / ".requirements-sha256"
    digest = hashlib.sha256(PEER_REQUIREMENTS.read_bytes()).hexdigest()
    if python.exists() and stamp.exists() and stamp.read_text().strip() == digest:
        return str(python)
    log(f"bench: installing the pinned peers into {PEER_VENV.relative_to(ROOT)} ...")
    if not python.exists():
        # The base interpreter, not a venv's: the peers' venv stands alone.
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", str(PEER_VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-r", str(PEER_REQUIREMENTS)], check=True
    )
    stamp.write_text(digest + "\n")
    return str(python)


def py_spy() -> str:
    peer_python()
    return str(PEER_VENV / "bin" / "py-spy")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def machine_info() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": sys.version.split()[0],
        "kernel": os.uname().release,
        "loadavg_at_start": os.getloadavg(),
    }


# -- /proc readings ----------------------------------------------------------


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (a server's workers, if it forks any)."""
    children = _children_map()
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, ()))
    return tree


def cpu_seconds(pid: int) -> float:
    """utime+stime (fields 14, 15 of /proc/PID/stat, all threads included) of the
    process tree, plus cutime+cstime (16, 17) of children it already reaped."""
    user, system = cpu_split(pid)
    return user + system


def cpu_split(pid: int) -> tuple[float, float]:
    """(user, system) seconds of the process tree, as :func:`cpu_seconds` sums them."""
    user = system = 0
    for member in process_tree(pid):
        try:
            with open(f"/proc/{member}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # Fields after "(comm)" start at field 3; comm may contain spaces.
        fields = stat[stat.rindex(")") + 2 :].split()
        user += int(fields[11]) + int(fields[13])
        system += int(fields[12]) + int(fields[14])
    return user / CLK_TCK, system / CLK_TCK


def rss_kb(pid: int) -> int:
    """VmRSS of the process tree, in KiB."""
    total = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError), open(f"/proc/{member}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    break
    return total


def open_fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


# -- servers -----------------------------------------------------------------


@dataclass
class ServerSpec:
    name: str
    argv: list[str]  # {python} {port} are filled in
    venv: str = "project"  # "project" (squall's .venv) or "peers" (bench/.venv)
    env: dict[str, str] = field(default_factory=dict)


class Server:
    """A server subprocess pinned to SERVER_CORE, in its own session so that
    stopping it reaches any worker it forked."""

    def __init__(self, spec: ServerSpec, port: int, ready_path: str) -> None:
        self.spec = spec
        self.port = port
        self.ready_path = ready_path
        python = peer_python() if spec.venv == "peers" else sys.executable
        self.argv = [a.format(python=python, port=port) for a in spec.argv]
        self.proc: subprocess.Popen[bytes] | None = None
        self.stderr_path = RESULTS / f".{spec.name}-{port}.stderr"

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise RuntimeError(f"server {self.spec.name} not started")
        return self.proc.pid

    def start(self, timeout: float = 30.0) -> None:
        RESULTS.mkdir(exist_ok=True)
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", **self.spec.env)
        env.pop("PYTHONPATH", None)
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                ["taskset", "-c", str(SERVER_CORE), *self.argv],
                stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                cwd=ROOT, env=env, start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.spec.name} exited at start:\n{self.stderr()}")
            try:
                fetch(self.port, self.ready_path, timeout=1.0)
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f"{self.spec.name} not answering on :{self.port}:\n{self.stderr()}"
                    ) from None
                time.sleep(0.1)

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        with contextlib.suppress(OSError):
            self.stderr_path.unlink()


@contextlib.contextmanager
def running(spec: ServerSpec, ready_path: str) -> Iterator[Server]:
    server = Server(spec, free_port(), ready_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def fetch(port: int, path: str, body: bytes | None = None, timeout: float = 5.0) -> tuple[int, bytes]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body)
    if body is not None:
        request.add_header("Content-Type", "application/octet-stream")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return int(response.status), bytes(response.read())


# -- wrk ---------------------------------------------------------------------


@dataclass
class WrkResult:
    requests: int
    seconds: float
    rps: float
    errors: dict[str, int]
    non_2xx: int


_UNIT = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def run_wrk(port: int, path: str, connections: int, seconds: float,
            script: Path | None = None) -> WrkResult:
    argv = ["taskset", "-c", str(CLIENT_CORE), WRK, "-t", "1", "-c", str(connections),
            "-d", f"{max(1, round(seconds))}s", "--timeout", "10s"]  # wrk takes whole seconds
    if script is not None:
        argv += ["-s", str(script)]
    argv.append(f"http://127.0.0.1:{port}{path}")
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    text = out.stdout + out.stderr
    match = re.search(r"(\d+) requests in ([\d.]+)(\w+)", text)
    if out.returncode != 0 or match is None:
        raise RuntimeError(f"wrk failed ({out.returncode}):\n{text}")
    requests = int(match.group(1))
    elapsed = float(match.group(2)) * _UNIT[match.group(3)]
    errors: dict[str, int] = {}
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    if socket_errors:
        for name, value in zip(("connect", "read", "write", "timeout"), socket_errors.groups(),
                               strict=True):
            if int(value):
                errors[name] = int(value)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return WrkResult(requests, elapsed, requests / elapsed if elapsed else 0.0, errors,
                     int(non_2xx.group(1)) if non_2xx else 0)


@dataclass
class Measurement:
    cpu_us_per_request: float
    rps: float
    requests: int
    cpu_seconds: float
    wall_seconds: float
    errors: dict[str, int]
    non_2xx: int
    sys_us_per_request: float = 0.0  # the kernel's part (stime) of cpu_us_per_request

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def measure(server: Server, path: str, connections: int, seconds: float,
            script: Path | None = None, warmup: float = 2.0) -> Measurement:
    """A warm-up wrk run, then a measured one: server CPU per completed request."""
    run_wrk(server.port, path, connections, warmup, script)
    time.sleep(0.2)  # let the warm-up's connections close before the reading
    user0, sys0 = cpu_split(server.pid)
    result = run_wrk(server.port, path, connections, seconds, script)
    user1, sys1 = cpu_split(server.pid)
    used = (user1 - user0) + (sys1 - sys0)
    if result.requests == 0:
        raise RuntimeError(f"{server.spec.name}: wrk completed no request on {path}")
    return Measurement(used / result.requests * 1e6, result.rps, result.requests, used,
                       result.seconds, result.errors, result.non_2xx,
                       (sys1 - sys0) / result.requests * 1e6)


# -- output ------------------------------------------------------------------


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), sep, *(line(r) for r in rows)])


def write_results(kind: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    path = RESULTS / f"{stamp}{'' if kind == 'http' else '-' + kind}.json"
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return path
