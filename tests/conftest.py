from __future__ import annotations

import pathlib

import pytest

from tests import services


@pytest.fixture
def mysql_dsn() -> str:
    services.require("mysql")
    return services.MYSQL_DSN


@pytest.fixture
def postgres_dsn() -> str:
    services.require("postgresql")
    return services.POSTGRES_DSN


@pytest.fixture
def redis_url() -> str:
    services.require("redis")
    return services.REDIS_URL


@pytest.fixture(params=("sqlite", "mysql", "postgresql"))
def db_url(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> str:
    """A database URL per backend: a temp SQLite file, then MariaDB, then PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    fixture = "mysql_dsn" if request.param == "mysql" else "postgres_dsn"
    return str(request.getfixturevalue(fixture))
