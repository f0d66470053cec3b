"""Four instances behind a real nginx with the generated config (the seed's deployment)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from squall.process.nginx import render_nginx_config
from tests import services
from tests.nginx import start_nginx, stop_nginx
from tests.process.support import Load, free_ports, get, serving, wait_for_pid, write_app

INSTANCES = 4



@pytest.fixture
def nginx_front(tmp_path: Path) -> Iterator[tuple[int, int]]:
    """squall serving 4 per-port instances, nginx in front; yields (nginx port, base port)."""
    services.require("nginx")
    app = write_app(tmp_path)
    base = free_ports(INSTANCES)
    listen = free_ports(1)
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    (prefix / "squall.conf").write_text(
        render_nginx_config(INSTANCES, base, listen_port=listen, server_name="localhost")
        .replace(f"listen {listen};", f"listen 127.0.0.1:{listen};")
    )
    with serving(app, "--port", str(base), "--instances", str(INSTANCES),
                 "--graceful-timeout", "10", cwd=tmp_path, log=tmp_path / "s.log") as master:
        for i in range(INSTANCES):
            wait_for_pid(base + i)
        nginx = start_nginx(prefix, f"    include {prefix}/squall.conf;")
        try:
            wait_for_pid(listen)
            yield listen, base
        finally:
            stop_nginx(nginx)
        del master


def test_twenty_thousand_requests_are_shared_by_every_instance(nginx_front: tuple[int, int]) -> None:
    listen, base = nginx_front
    workers = {wait_for_pid(base + i) for i in range(INSTANCES)}
    stats = Load([listen], concurrency=16, total=20_000).start().wait(timeout=100)
    assert stats.ok + stats.failed == 20_000
    assert stats.failed == 0, stats.errors[:5]
    assert set(stats.pids) == workers
    for pid, count in stats.pids.items():
        assert count > 20_000 / INSTANCES / 4, f"PID {pid} served only {count}"
    print(f"\nnginx: {stats.ok} requests, shares {sorted(stats.pids.values())}")


def test_rolling_restart_through_nginx_fails_no_request(
    nginx_front: tuple[int, int], tmp_path: Path
) -> None:
    listen, base = nginx_front
    old = {wait_for_pid(base + i) for i in range(INSTANCES)}
    master_pid = _master_pid(base)
    load = Load([listen], concurrency=16).start()
    time.sleep(0.5)
    os.kill(master_pid, signal.SIGHUP)
    for i in range(INSTANCES):
        wait_for_pid(base + i, timeout=30, not_in=old)
    time.sleep(0.5)
    stats = load.stop()
    assert stats.failed == 0, stats.errors[:5]
    assert set(stats.pids) - old, "new workers served through nginx"
    print(f"\nnginx HUP: {stats.ok} requests, {stats.failed} failed")


def test_a_worker_killed_under_load_is_back_within_two_seconds(nginx_front: tuple[int, int]) -> None:
    listen, base = nginx_front
    victim = wait_for_pid(base)
    load = Load([listen], concurrency=16).start()
    time.sleep(0.5)
    os.kill(victim, signal.SIGKILL)
    killed = time.monotonic()
    wait_for_pid(base, timeout=5, not_in={victim})
    restart = time.monotonic() - killed
    time.sleep(0.5)
    stats = load.stop()
    print(f"\nnginx SIGKILL: restart {restart:.2f}s, {stats.ok} requests, {stats.failed} failed")
    assert restart < 2.0
    assert stats.failed <= stats.ok // 1000, stats.errors[:5]
    assert get(listen)[0] == 200


def _master_pid(base: int) -> int:
    """The supervisor is the parent of the worker answering on ``base``."""
    worker = wait_for_pid(base)
    with open(f"/proc/{worker}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])
