from __future__ import annotations

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
