from __future__ import annotations

import pathlib

import pytest

BACKENDS = ("sqlite", "mysql", "postgresql")


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> str:
    """A database URL per backend: a temp SQLite file, then MariaDB, then PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    fixture = "mysql_dsn" if request.param == "mysql" else "postgres_dsn"
    return str(request.getfixturevalue(fixture))
