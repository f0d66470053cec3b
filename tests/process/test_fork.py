"""HTTPServer.start(num_processes): Tornado's pre-fork model."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from squall.testing.ports import bind_unused_port

ROOT = Path(__file__).resolve().parents[2]

PROGRAM = """
import os, sys
import squall.httpserver, squall.ioloop, squall.web

class Pid(squall.web.RequestHandler):
    def get(self):
        self.write(str(os.getpid()))

server = squall.httpserver.HTTPServer(squall.web.Application([(r"/", Pid)]))
server.bind(int(sys.argv[1]), "127.0.0.1")
server.start(2)
squall.ioloop.IOLoop.current().start()
"""


def test_start_with_two_processes_serves_from_two_children(tmp_path: Path) -> None:
    script = tmp_path / "forked.py"
    script.write_text(PROGRAM)
    sock, port = bind_unused_port()
    sock.close()
    proc = subprocess.Popen([sys.executable, str(script), str(port)],
                            env=dict(os.environ, PYTHONPATH=str(ROOT)), start_new_session=True)
    try:
        pids: set[str] = set()
        deadline = time.monotonic() + 20
        while len(pids) < 2 and time.monotonic() < deadline:
            try:
                # A fresh connection each time: the kernel spreads accepts over the children.
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    pids.add(response.read().decode())
            except OSError:
                time.sleep(0.05)
        assert len(pids) == 2
        assert str(proc.pid) not in pids  # the parent only supervises
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
