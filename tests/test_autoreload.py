"""autoreload: a debug server re-executes itself when an imported module changes."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]

MAIN = """
import asyncio, os, sys
import helper
from squall.web import Application

with open(sys.argv[1], "a") as log:
    log.write(f"{os.getpid()} {helper.VALUE}\\n")

async def main():
    Application([], **helper.SETTINGS).listen(0, "127.0.0.1")
    await asyncio.Event().wait()

asyncio.run(main())
"""


def wait_for_lines(path: pathlib.Path, count: int, timeout: float = 15.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= count:
            return lines
        time.sleep(0.05)
    return path.read_text().splitlines() if path.exists() else []


def run_until_edit(tmp_path: pathlib.Path, settings: str, wait: float) -> list[str]:
    (tmp_path / "main.py").write_text(textwrap.dedent(MAIN))
    helper = tmp_path / "helper.py"
    helper.write_text(f"VALUE = 'one'\nSETTINGS = {settings}\n")
    log = tmp_path / "starts.log"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), str(tmp_path)]))
    proc = subprocess.Popen([sys.executable, str(tmp_path / "main.py"), str(log)], env=env,
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for_lines(log, 1), "the server never started"
        time.sleep(1.2)  # let the checker record the first modification times
        helper.write_text(f"VALUE = 'two'\nSETTINGS = {settings}\n")
        future = time.time() + 10
        os.utime(helper, (future, future))
        lines = wait_for_lines(log, 2, timeout=wait)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    return lines


def test_debug_server_restarts_in_the_same_process_with_new_code(tmp_path: pathlib.Path) -> None:
    lines = run_until_edit(tmp_path, "{'debug': True}", wait=10)
    assert len(lines) == 2, lines
    (pid1, value1), (pid2, value2) = (line.split() for line in lines)
    assert (value1, value2) == ("one", "two")
    assert pid1 == pid2  # re-executed in place, as Tornado does


def test_without_autoreload_edits_do_not_restart(tmp_path: pathlib.Path) -> None:
    # Three check intervals pass without a restart.
    lines = run_until_edit(tmp_path, "{'debug': True, 'autoreload': False}", wait=1.5)
    assert len(lines) == 1, lines
