from __future__ import annotations

import pytest

from squall.db import parse_url


def test_sqlite_relative_and_absolute_paths() -> None:
    assert parse_url("sqlite:///places.db").database == "places.db"
    assert parse_url("sqlite:////var/lib/app/places.db").database == "/var/lib/app/places.db"


def test_sqlite_memory_database() -> None:
    url = parse_url("sqlite:///:memory:")
    assert url.is_memory


def test_server_url_parts_are_decoded_and_default_port_applied() -> None:
    url = parse_url("postgresql://app:p%40ss@db.example:6543/shop")
    assert (url.backend, url.user, url.password, url.host, url.port, url.database) == (
        "postgresql", "app", "p@ss", "db.example", 6543, "shop"
    )
    assert parse_url("mysql://root@localhost/test").port == 3306
    assert parse_url("mariadb://root@localhost/test").backend == "mysql"
    assert parse_url("postgres://u@h/d").port == 5432


def test_repr_never_shows_the_password() -> None:
    assert "secret" not in repr(parse_url("mysql://app:secret@h/db"))


def test_unknown_scheme_is_named() -> None:
    with pytest.raises(ValueError, match="unknown database URL scheme 'oracle'"):
        parse_url("oracle://scott:tiger@h/db")


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("places.db", "expected scheme://"),
        ("sqlite://places.db", "expected sqlite:///path.db"),
        ("mysql:///test", "missing host"),
        ("postgresql://h", "expected one database name"),
        ("mysql://h:notaport/db", "malformed database URL"),
        ("postgresql://h/db?sslmode=require", "query parameters are not supported"),
    ],
)
def test_malformed_urls_are_value_errors_naming_the_problem(url: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_url(url)


def test_malformed_url_message_hides_the_password() -> None:
    with pytest.raises(ValueError) as info:
        parse_url("mysql://app:secret@h:bad/db")
    assert "secret" not in str(info.value)
