"""A private nginx for tests: its own prefix, config and PID file, never the system's."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from tests import services

_MAIN_CONF = """daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
{user}
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
{http}
}}
"""


def start_nginx(prefix: Path, http_block: str) -> subprocess.Popen[bytes]:
    """Run nginx in the foreground with ``http_block`` inside its ``http {}``.

    Skips (or fails, under SQUALL_TEST_REQUIRE) when nginx is not installed.
    """
    services.require("nginx")
    binary = services.find_binary("nginx")
    if binary is None:
        raise RuntimeError("nginx disappeared after services.require found it")
    user = "user root;" if os.geteuid() == 0 else ""
    conf = prefix / "nginx.conf"
    conf.write_text(_MAIN_CONF.format(prefix=prefix, user=user, http=http_block))
    return subprocess.Popen(
        [binary, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def stop_nginx(nginx: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """Graceful quit, then kill if it lingers."""
    nginx.send_signal(signal.SIGQUIT)
    try:
        nginx.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        nginx.kill()
        nginx.wait()
