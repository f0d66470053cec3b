"""PID file lock semantics, checked across real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from squall.process.pidfile import PIDFile, PIDFileLocked, is_locked, read_pid
from tests.process.support import ENV

HOLDER = """
import sys, time
from squall.process.pidfile import PIDFile
pidfile = PIDFile(sys.argv[1])
pidfile.acquire()
print("held", flush=True)
time.sleep(60)
"""


def _hold(path: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], env=ENV,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "held"
    proc.stdout.close()
    return proc


def test_second_acquire_fails_naming_the_running_pid_and_the_path(tmp_path: Path) -> None:
    path = tmp_path / "app.pid"
    holder = _hold(path)
    try:
        with pytest.raises(PIDFileLocked) as info:
            PIDFile(path).acquire()
        assert info.value.pid == holder.pid
        assert str(info.value) == f"already running as PID {holder.pid} (pidfile {path})"
        assert read_pid(path) == holder.pid, "a contender must not truncate the holder's PID"
        assert is_locked(path)
    finally:
        holder.kill()
        holder.wait()


def test_stale_file_left_by_a_sigkilled_process_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "app.pid"
    holder = _hold(path)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert read_pid(path) == holder.pid
    assert not is_locked(path)
    with PIDFile(path) as pidfile:
        assert pidfile.pid == os.getpid()
        assert read_pid(path) == os.getpid()
        assert is_locked(path)
    assert not path.exists()


def test_clean_release_removes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "app.pid"
    pidfile = PIDFile(path)
    pidfile.acquire()
    assert path.read_text() == f"{os.getpid()}\n"
    pidfile.release()
    pidfile.release()  # idempotent
    assert not path.exists()
    assert not is_locked(path)
    assert read_pid(path) is None


def test_release_keeps_a_file_that_is_no_longer_ours(tmp_path: Path) -> None:
    path = tmp_path / "app.pid"
    pidfile = PIDFile(path)
    pidfile.acquire()
    os.unlink(path)
    path.write_text("424242\n")  # someone else's file now sits at the path
    pidfile.release()
    assert path.read_text() == "424242\n"


def test_garbled_or_missing_files_name_no_pid(tmp_path: Path) -> None:
    path = tmp_path / "app.pid"
    assert read_pid(path) is None
    path.write_text("not a pid\n")
    assert read_pid(path) is None
    assert not is_locked(path)
