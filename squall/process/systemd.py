"""Render a systemd unit that runs ``squall serve`` in the foreground.

systemd is the supervisor's supervisor: ``Type=simple`` (no ``--daemon``: systemd
tracks the main PID itself), ``ExecReload`` sends HUP for a rolling restart, and
``KillMode=mixed`` sends the stop signal to the squall supervisor only, which
drains its workers; systemd kills what is left once ``TimeoutStopSec`` passes.
"""

from __future__ import annotations

import math
import shlex
import sys


def render_systemd_unit(
    app: str,
    *,
    instances: int = 4,
    port: int = 8000,
    address: str = "127.0.0.1",
    per_port: bool = True,
    graceful_timeout: float = 30.0,
    user: str | None = None,
    group: str | None = None,
    working_directory: str | None = None,
    python: str | None = None,
    description: str | None = None,
) -> str:
    """A ``.service`` file's text; ``python`` defaults to the running interpreter."""
    if instances < 1:
        raise ValueError(f"instances must be at least 1, not {instances}")
    if graceful_timeout <= 0:
        raise ValueError(f"graceful_timeout must be positive, not {graceful_timeout}")
    for name, value in (("app", app), ("user", user), ("group", group),
                        ("working_directory", working_directory)):
        if value is not None and ("\n" in value or not value.strip()):
            raise ValueError(f"{name} {value!r} is empty or spans lines")
    command = [
        python or sys.executable, "-m", "squall", "serve", app,
        "--port", str(port), "--address", address, "--instances", str(instances),
        "--per-port" if per_port else "--shared-socket",
        "--graceful-timeout", f"{graceful_timeout:g}",
    ]
    lines = [
        "[Unit]",
        f"Description={description or f'squall: {app}'}",
        "After=network.target",
        "",
        "[Service]",
        "Type=simple",
    ]
    if user:
        lines.append(f"User={user}")
    if group:
        lines.append(f"Group={group}")
    if working_directory:
        lines.append(f"WorkingDirectory={working_directory}")
    lines += [
        f"ExecStart={shlex.join(command)}",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "KillSignal=SIGTERM",
        "KillMode=mixed",
        f"TimeoutStopSec={math.ceil(graceful_timeout) + 10}",
        "Restart=on-failure",
        "RestartSec=2",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
    ]
    return "\n".join(lines) + "\n"
