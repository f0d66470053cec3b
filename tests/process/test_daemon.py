"""`squall serve --daemon`: one winner among concurrent starts, and log reopening."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from squall.process.pidfile import is_locked, read_pid
from tests.process.support import ENV, free_ports, squall, wait_for_pid, wait_gone, write_app


def test_twenty_concurrent_daemon_starts_leave_exactly_one_running(tmp_path: Path) -> None:
    app = write_app(tmp_path)
    port = free_ports(1)
    pidfile = tmp_path / "same.pid"
    cmd = [sys.executable, "-m", "squall", "serve", str(app), "--port", str(port), "--daemon",
           "--pidfile", str(pidfile), "--log-file", str(tmp_path / "squall.log")]
    procs = [subprocess.Popen(cmd, env=ENV, cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(20)]
    outputs = [p.communicate(timeout=60) for p in procs]
    results = [(p.returncode, out, err) for p, (out, err) in zip(procs, outputs, strict=True)]
    daemon_pid = read_pid(pidfile)
    try:
        winners = [r for r in results if r[0] == 0]
        losers = [r for r in results if r[0] != 0]
        assert len(winners) == 1, results
        assert winners[0][1].strip() == f"squall started as PID {daemon_pid} (pidfile {pidfile})"
        assert len(losers) == 19
        for code, _out, err in losers:
            assert code == 2
            assert err.strip() == f"squall: already running as PID {daemon_pid} (pidfile {pidfile})"
        assert daemon_pid is not None and is_locked(pidfile)
        worker = wait_for_pid(port)
        assert worker != daemon_pid

        status = squall("status", "--pidfile", str(pidfile))
        assert (status.returncode, status.stdout.strip()) == (
            0, f"squall is running as PID {daemon_pid} (pidfile {pidfile})")
    finally:
        stop = squall("stop", "--pidfile", str(pidfile), "--timeout", "30")
    assert stop.returncode == 0, stop.stderr
    assert stop.stdout.strip() == f"squall PID {daemon_pid} stopped"
    assert not pidfile.exists()
    wait_gone(daemon_pid, 5)


def test_sigusr1_reopens_the_log_file_after_rotation(tmp_path: Path) -> None:
    app = write_app(tmp_path)
    port = free_ports(1)
    pidfile, log = tmp_path / "d.pid", tmp_path / "squall.log"
    start = squall("serve", str(app), "--port", str(port), "--daemon", "--pidfile", str(pidfile),
                   "--log-file", str(log), cwd=tmp_path)
    assert start.returncode == 0, start.stderr
    try:
        wait_for_pid(port)
        os.rename(log, tmp_path / "squall.log.1")
        daemon_pid = read_pid(pidfile)
        assert daemon_pid is not None
        os.kill(daemon_pid, signal.SIGUSR1)
        deadline = time.monotonic() + 10
        while not (log.exists() and "reopened log file" in log.read_text()):
            assert time.monotonic() < deadline, "no new log file after SIGUSR1"
            time.sleep(0.05)
    finally:
        squall("stop", "--pidfile", str(pidfile), "--timeout", "30")
    text = log.read_text()
    assert re.search(r"worker 0 \(pid \d+\) exited with code 0", text), text
    assert "supervisor stopped" in text


DIES_IN_WORKERS_APP = '''
import os
def make_app():
    if "SQUALL_INSTANCE" in os.environ:  # passes the CLI's import check, fails in workers
        raise RuntimeError("boom in the worker")
    return object()
'''


def test_daemon_start_fails_when_a_worker_dies_before_it_is_ready(tmp_path: Path) -> None:
    # As with an app the --user cannot read: the import check passes, the workers fail.
    app = write_app(tmp_path, "dies.py", DIES_IN_WORKERS_APP)
    port = free_ports(2)
    pidfile, log = tmp_path / "d.pid", tmp_path / "squall.log"
    start = squall("serve", str(app), "--port", str(port), "--instances", "2", "--daemon",
                   "--pidfile", str(pidfile), "--log-file", str(log), cwd=tmp_path)
    assert start.returncode == 1, (start.stdout, start.stderr)
    assert start.stdout == ""
    assert re.fullmatch(
        r"squall: worker 0 \(pid \d+\) exited with code 3 before it was ready; see the log file\n",
        start.stderr,
    ), start.stderr
    assert not is_locked(pidfile)
    text = log.read_text()
    assert "boom in the worker" in text
    assert "supervisor stopped" in text


def test_sigusr1_that_cannot_create_the_log_file_keeps_writing_to_the_old_one(tmp_path: Path) -> None:
    # After --user the log directory may not be writable; a failed reopen must not
    # break the supervisor's signal handling nor stop the workers being told.
    app = write_app(tmp_path)
    port = free_ports(1)
    logs, pidfile = tmp_path / "logs", tmp_path / "d.pid"
    logs.mkdir()
    start = squall("serve", str(app), "--port", str(port), "--daemon", "--pidfile", str(pidfile),
                   "--log-file", str(logs / "squall.log"), cwd=tmp_path)
    assert start.returncode == 0, start.stderr
    try:
        wait_for_pid(port)
        old = tmp_path / "logs.old"
        os.rename(logs, old)  # the open log goes with it; logs/ no longer exists
        daemon_pid = read_pid(pidfile)
        assert daemon_pid is not None
        os.kill(daemon_pid, signal.SIGUSR1)
        deadline = time.monotonic() + 10
        while (old / "squall.log").read_text().count("cannot reopen log file") < 2:
            assert time.monotonic() < deadline, (old / "squall.log").read_text()
            time.sleep(0.05)
        text = (old / "squall.log").read_text()
        assert "Exception in callback" not in text
        assert "still writing to the old file" in text
        wait_for_pid(port)  # still serving

        logs.mkdir()  # fixed: the next SIGUSR1 reopens
        os.kill(daemon_pid, signal.SIGUSR1)
        while not ((logs / "squall.log").exists()
                   and "reopened log file" in (logs / "squall.log").read_text()):
            assert time.monotonic() < deadline + 10, "no new log file after the second SIGUSR1"
            time.sleep(0.05)
    finally:
        stop = squall("stop", "--pidfile", str(pidfile), "--timeout", "30")
    assert stop.returncode == 0, stop.stderr
    assert "supervisor stopped" in (logs / "squall.log").read_text()


def test_stale_pidfile_of_a_sigkilled_daemon_does_not_stop_the_next_start(tmp_path: Path) -> None:
    app = write_app(tmp_path)
    port = free_ports(1)
    pidfile = tmp_path / "stale.pid"
    args = ("serve", str(app), "--port", str(port), "--daemon", "--pidfile", str(pidfile),
            "--log-file", str(tmp_path / "squall.log"))
    first = squall(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    killed = read_pid(pidfile)
    assert killed is not None
    old_worker = wait_for_pid(port)
    os.kill(killed, signal.SIGKILL)
    wait_gone(killed, 5)
    assert pidfile.exists()  # left behind, naming a dead process
    wait_gone(old_worker, 10)  # the orphaned worker notices and exits
    second = squall(*args, cwd=tmp_path)
    try:
        assert second.returncode == 0, second.stderr
        new_pid = read_pid(pidfile)
        assert new_pid is not None and new_pid != killed
        assert wait_for_pid(port) != old_worker
    finally:
        squall("stop", "--pidfile", str(pidfile), "--timeout", "30")
