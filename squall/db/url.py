"""Parse database URLs (``sqlite:///file.db``, ``mysql://u:p@h:3306/db``, ...)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

# Each accepted scheme, mapped to the backend that serves it.
SCHEMES = {
    "sqlite": "sqlite",
    "mysql": "mysql",
    "mariadb": "mysql",
    "postgresql": "postgresql",
    "postgres": "postgresql",
}
DEFAULT_PORTS = {"mysql": 3306, "postgresql": 5432}


@dataclass(frozen=True, slots=True)
class DatabaseURL:
    """A parsed URL. For SQLite only ``database`` is set: a path or ``:memory:``."""

    backend: str
    database: str
    host: str = ""
    port: int = 0
    user: str | None = None
    password: str | None = None

    @property
    def is_memory(self) -> bool:
        return self.backend == "sqlite" and self.database == ":memory:"

    def __repr__(self) -> str:
        # Never show the password: URLs end up in logs and tracebacks.
        auth = f"{self.user}@" if self.user else ""
        where = f"{auth}{self.host}:{self.port}/" if self.host else "/"
        return f"DatabaseURL({self.backend}://{where}{self.database})"


def parse_url(url: str) -> DatabaseURL:
    """Parse ``url``; raise ValueError naming the URL and what is wrong with it."""
    if not isinstance(url, str):
        raise TypeError(f"database URL must be a str, not {type(url).__name__}")
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"malformed database URL {_redact(url)!r}: expected scheme://...")
    backend = SCHEMES.get(scheme.lower())
    if backend is None:
        raise ValueError(
            f"unknown database URL scheme {scheme!r} in {_redact(url)!r}; "
            f"expected one of {', '.join(sorted(SCHEMES))}"
        )
    if backend == "sqlite":
        return _parse_sqlite(url, rest)
    return _parse_server(url, backend)


def _parse_sqlite(url: str, rest: str) -> DatabaseURL:
    # sqlite:///relative.db -> "relative.db"; sqlite:////abs.db -> "/abs.db"
    if not rest.startswith("/") or len(rest) < 2:
        raise ValueError(
            f"malformed SQLite URL {url!r}: expected sqlite:///path.db or sqlite:///:memory:"
        )
    path = unquote(rest[1:])
    if "?" in path or "#" in path:
        raise ValueError(f"malformed SQLite URL {url!r}: query strings are not supported")
    return DatabaseURL(backend="sqlite", database=path)


def _parse_server(url: str, backend: str) -> DatabaseURL:
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        raise ValueError(
            f"malformed database URL {_redact(url)!r}: query parameters are not supported"
        )
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"malformed database URL {_redact(url)!r}: {exc}") from None
    host = parts.hostname
    database = unquote(parts.path.lstrip("/"))
    if not host:
        raise ValueError(f"malformed database URL {_redact(url)!r}: missing host")
    if not database or "/" in database:
        raise ValueError(f"malformed database URL {_redact(url)!r}: expected one database name")
    return DatabaseURL(
        backend=backend,
        database=database,
        host=host,
        port=port or DEFAULT_PORTS[backend],
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def _redact(url: str) -> str:
    """``url`` with any password replaced, fit for an error message."""
    scheme, sep, rest = url.partition("://")
    auth, at, host = rest.rpartition("@")
    if not at or ":" not in auth:
        return url
    user = auth.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{host}"
