"""Deployment: PID files, daemonizing, the worker supervisor, nginx and systemd configs.

Nothing here is imported by the wire or web layers; ``squall.cli`` drives it.
"""

from __future__ import annotations

from squall.process.loader import AppLoadError, load_app
from squall.process.nginx import render_nginx_config
from squall.process.pidfile import PIDFile, PIDFileLocked, is_locked, read_pid
from squall.process.supervisor import Supervisor, SupervisorConfig
from squall.process.systemd import render_systemd_unit
from squall.process.worker import run_worker

__all__ = [
    "AppLoadError",
    "PIDFile",
    "PIDFileLocked",
    "Supervisor",
    "SupervisorConfig",
    "is_locked",
    "load_app",
    "read_pid",
    "render_nginx_config",
    "render_systemd_unit",
    "run_worker",
]
