"""`squall` command-line errors and the generated nginx and systemd configurations."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from squall.process.nginx import render_nginx_config
from squall.process.systemd import render_systemd_unit
from tests.process.support import squall, write_app


def test_bad_arguments_exit_2_with_a_message() -> None:
    result = squall("serve", "app:app", "--instances", "0")
    assert result.returncode == 2
    assert "--instances: must be at least 1, not 0" in result.stderr


def test_daemon_without_pidfile_is_refused() -> None:
    result = squall("serve", "app:app", "--daemon")
    assert result.returncode == 2
    assert "--daemon needs --pidfile" in result.stderr


def test_unimportable_app_exits_2_naming_the_module_and_the_error(tmp_path: Path) -> None:
    result = squall("serve", "no_such_module_xyz:app", cwd=tmp_path)
    assert result.returncode == 2
    assert "cannot import module 'no_such_module_xyz'" in result.stderr
    assert "No module named 'no_such_module_xyz'" in result.stderr


def test_app_file_without_an_app_is_reported(tmp_path: Path) -> None:
    app = write_app(tmp_path, "empty.py", "x = 1\n")
    result = squall("serve", str(app), cwd=tmp_path)
    assert result.returncode == 2
    assert "defines none of app, application or make_app()" in result.stderr


def test_held_pidfile_exits_2_naming_the_running_pid(tmp_path: Path) -> None:
    from squall.process.pidfile import PIDFile

    app = write_app(tmp_path)
    with PIDFile(tmp_path / "s.pid"):
        result = squall("serve", str(app), "--pidfile", str(tmp_path / "s.pid"), cwd=tmp_path)
    assert result.returncode == 2
    assert f"already running as PID {os.getpid()} (pidfile {tmp_path / 's.pid'})" in result.stderr


def test_status_and_stop_of_an_instance_that_is_not_running(tmp_path: Path) -> None:
    (tmp_path / "s.pid").write_text("999999\n")
    status = squall("status", "--pidfile", str(tmp_path / "s.pid"))
    assert status.returncode == 3
    assert "not running" in status.stdout
    stop = squall("stop", "--pidfile", str(tmp_path / "s.pid"))
    assert stop.returncode == 0
    assert "stale pidfile names PID 999999, which was not signalled" in stop.stdout


def test_nginx_config_lists_every_instance_with_keepalive_and_retries() -> None:
    result = squall("nginx-config", "--instances", "4", "--port", "8000",
                    "--server-name", "example.com", "--static-path", "/srv/app/static")
    assert result.returncode == 0, result.stderr
    conf = result.stdout
    for port in range(8000, 8004):
        assert f"server 127.0.0.1:{port} max_fails=0;" in conf
    assert "server 127.0.0.1:8004" not in conf
    for line in ("keepalive 32;", "proxy_http_version 1.1;", 'proxy_set_header Connection "";',
                 "proxy_set_header X-Real-IP $remote_addr;",
                 "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
                 "proxy_set_header X-Forwarded-Proto $scheme;",
                 "proxy_next_upstream error timeout http_502 http_503;",
                 "server_name example.com;", "alias /srv/app/static/;"):
        assert line in conf
    assert "non_idempotent" not in conf


def test_nginx_websocket_location_upgrades_the_connection() -> None:
    conf = render_nginx_config(2, 9000, websocket_prefix="/ws")
    assert "map $http_upgrade $connection_upgrade {" in conf
    assert "proxy_set_header Connection $connection_upgrade;" in conf
    assert "location ^~ /ws/ {" in conf


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"instances": 0}, "instances must be at least 1, not 0"),
        ({"instances": 2, "port": 65535}, "last instance port 65536 is not a TCP port"),
        ({"instances": 1, "server_name": "a;b"}, "server_name 'a;b'"),
        ({"instances": 1, "static_path": "/x y"}, "static_path '/x y/'"),
    ],
)
def test_nginx_config_rejects_values_that_would_break_the_file(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        render_nginx_config(**kwargs)  # type: ignore[arg-type]


def test_systemd_unit_runs_in_the_foreground_and_reloads_with_hup() -> None:
    unit = render_systemd_unit("myapp:app", instances=4, port=8000, user="www-data",
                               python="/usr/bin/python3")
    assert "Type=simple" in unit
    assert ("ExecStart=/usr/bin/python3 -m squall serve myapp:app --port 8000 "
            "--address 127.0.0.1 --instances 4 --per-port --graceful-timeout 30") in unit
    assert "ExecReload=/bin/kill -HUP $MAINPID" in unit
    assert "KillMode=mixed" in unit
    assert "User=www-data" in unit
    assert "--daemon" not in unit
