"""Find the external servers some tests need, and skip or fail when one is absent.

A test that needs MariaDB, PostgreSQL, Redis, nginx, wrk or Chromium asks for it
through :func:`require`. When the server is missing the test is skipped with the
reason, unless ``SQUALL_TEST_REQUIRE`` names it (comma-separated, or ``all``): then
the test fails, so CI cannot pass by skipping.
"""

from __future__ import annotations

import os
import shutil
import socket

import pytest

SERVICES = ("mysql", "postgresql", "redis", "nginx", "wrk", "chromium")

MYSQL_DSN = os.environ.get("SQUALL_TEST_MYSQL", "mysql://root@127.0.0.1:3306/test")
POSTGRES_DSN = os.environ.get("SQUALL_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("SQUALL_TEST_REDIS", "redis://127.0.0.1:6379/0")

_PORTS = {"mysql": 3306, "postgresql": 5432, "redis": 6379}
_BINARIES = {
    "nginx": ("nginx", "/usr/sbin/nginx"),
    "wrk": ("wrk",),
    "chromium": ("chromium", "/usr/bin/chromium"),
}


def required_services() -> set[str]:
    """The services ``SQUALL_TEST_REQUIRE`` says must be present."""
    raw = os.environ.get("SQUALL_TEST_REQUIRE", "")
    names = {part.strip().lower() for part in raw.split(",") if part.strip()}
    if "all" in names:
        return set(SERVICES)
    unknown = names - set(SERVICES)
    if unknown:
        raise ValueError(
            f"SQUALL_TEST_REQUIRE names unknown services {sorted(unknown)}; known: {SERVICES}"
        )
    return names


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def find_binary(name: str) -> str | None:
    """Path of the named tool's executable, or None when it is not installed."""
    for candidate in _BINARIES[name]:
        path = shutil.which(candidate) or (candidate if os.path.isabs(candidate) and os.access(candidate, os.X_OK) else None)
        if path:
            return path
    return None


def available(name: str) -> tuple[bool, str]:
    """Whether the service can be used here, and if not, why."""
    if name in _PORTS:
        port = _PORTS[name]
        if _port_open(port):
            return True, ""
        return False, f"{name} is not listening on 127.0.0.1:{port}"
    if name in _BINARIES:
        if find_binary(name):
            return True, ""
        return False, f"{name} is not installed (apt-get install -y {name})"
    raise ValueError(f"unknown service {name!r}; known: {SERVICES}")


def require(name: str) -> None:
    """Skip the calling test when ``name`` is absent, or fail if CI requires it."""
    ok, why = available(name)
    if ok:
        return
    if name in required_services():
        pytest.fail(f"{why}, and SQUALL_TEST_REQUIRE requires it", pytrace=False)
    pytest.skip(why)
