"""The supervisor: restarts, graceful stop, rolling restart under load, back-off."""

from __future__ import annotations

import os
import re
import signal
import socket
import threading
import time
from pathlib import Path

import pytest

from squall.process import supervisor
from tests.process.support import (
    ENV,
    Load,
    free_ports,
    get,
    serving,
    wait_for_pid,
    wait_gone,
    write_app,
)

CRASHING_APP = '''
import os
def make_app():
    if "SQUALL_INSTANCE" in os.environ:  # only in workers, not in the CLI's import check
        raise RuntimeError("boom at start-up")
    return object()
'''


def test_a_sigkilled_worker_is_restarted_within_two_seconds(tmp_path: Path) -> None:
    app = write_app(tmp_path)
    port = free_ports(2)
    with serving(app, "--port", str(port), "--instances", "2", cwd=tmp_path,
                 log=tmp_path / "s.log"):
        victim = wait_for_pid(port)
        other = wait_for_pid(port + 1)
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        replacement = wait_for_pid(port, timeout=5, not_in={victim})
        elapsed = time.monotonic() - killed_at
        assert elapsed < 2.0, f"restarted after {elapsed:.2f}s"
        assert replacement != victim
        assert get(port + 1) == (200, str(other)), "the other instance is untouched"
    log = (tmp_path / "s.log").read_text()
    assert f"worker 0 (pid {victim}) killed by SIGKILL" in log


def test_graceful_stop_finishes_the_slow_request_then_refuses_connections(tmp_path: Path) -> None:
    app = write_app(tmp_path)
    port = free_ports(1)
    result: list[tuple[int, str]] = []
    with serving(app, "--port", str(port), "--graceful-timeout", "10", cwd=tmp_path,
                 log=tmp_path / "s.log") as master:
        worker = wait_for_pid(port)
        slow = threading.Thread(target=lambda: result.append(get(port, "/slow?s=1.5")))
        slow.start()
        time.sleep(0.5)  # the slow request is in flight
        master.send_signal(signal.SIGTERM)
        slow.join(timeout=10)
        assert result == [(200, str(worker))]
        assert master.wait(timeout=10) == 0
    wait_gone(worker, 5)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_quit_stops_at_once_without_waiting_for_requests(tmp_path: Path) -> None:
    app = write_app(tmp_path)
    port = free_ports(1)
    with serving(app, "--port", str(port), "--graceful-timeout", "30", cwd=tmp_path,
                 log=tmp_path / "s.log") as master:
        wait_for_pid(port)
        errors: list[BaseException] = []

        def slow_get() -> None:
            try:
                get(port, "/slow?s=20")
            except Exception as exc:
                errors.append(exc)

        slow = threading.Thread(target=slow_get)
        slow.start()
        time.sleep(0.5)
        started = time.monotonic()
        master.send_signal(signal.SIGQUIT)
        assert master.wait(timeout=10) == 0
        assert time.monotonic() - started < 10
        slow.join(timeout=10)
        assert len(errors) == 1, "the in-flight request was cut off"


@pytest.mark.parametrize("mode", ["--per-port", "--shared-socket"])
def test_hup_rolling_restart_under_load_fails_no_request(
    tmp_path: Path, mode: str
) -> None:
    app = write_app(tmp_path)
    instances = 2
    port = free_ports(instances)
    ports = [port + i for i in range(instances)] if mode == "--per-port" else [port]
    with serving(app, "--port", str(port), "--instances", str(instances), mode,
                 "--graceful-timeout", "10", cwd=tmp_path, log=tmp_path / "s.log",
                 env=ENV) as master:
        for p in ports:
            wait_for_pid(p)
        load = Load(ports, concurrency=8).start()
        time.sleep(1.0)
        before = set(load.stats.pids)
        master.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 20
        log = tmp_path / "s.log"
        while "rolling restart complete" not in log.read_text():
            assert time.monotonic() < deadline, "rolling restart did not complete"
            time.sleep(0.05)
        time.sleep(1.0)  # keep the load on the new workers for a while
        stats = load.stop()
    after = set(stats.pids) - before
    assert stats.failed == 0, stats.errors[:5]
    assert stats.ok > 500
    # Per-port: every replacement serves its port. Shared socket: long keep-alive
    # connections may all land on the first replacement that accepts.
    assert len(after) >= (instances if mode == "--per-port" else 1), "replacements served"
    print(f"\nHUP ({mode}): {stats.ok} requests, {stats.failed} failed")


def test_a_worker_dying_at_start_up_is_restarted_with_back_off(tmp_path: Path) -> None:
    app = write_app(tmp_path, "crash.py", CRASHING_APP)
    port = free_ports(1)
    log = tmp_path / "s.log"
    with serving(app, "--port", str(port), cwd=tmp_path, log=log):
        time.sleep(3.0)
        text = log.read_text()
    starts = len(re.findall(r"started worker 0", text))
    assert 2 <= starts <= 6, f"{starts} starts in 3s"
    assert "boom at start-up" in text
    assert re.search(r"exited with code 3 after [\d.]+s; restarting in 0\.50s", text), text


class _Report:
    def __init__(self) -> None:
        self.events: list[str] = []

    def ok(self) -> None:
        self.events.append("ok")

    def fail(self, message: str) -> None:
        self.events.append(message)


def test_a_worker_that_cannot_be_started_fails_the_start_report(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As when --user may not execute the interpreter (a pyenv Python under /root).
    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", "/root/python3")

    monkeypatch.setattr(supervisor.subprocess, "Popen", refuse)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    report = _Report()
    config = supervisor.SupervisorConfig(app="x:app", instances=1, per_port=True)
    status = supervisor.Supervisor(config, [sock]).run(report)
    assert status == 1
    assert report.events == [
        "cannot start worker 0: [Errno 13] Permission denied: '/root/python3'; see the log file"
    ]
    assert sock.fileno() == -1  # the supervisor closed its listening socket
