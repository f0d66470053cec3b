"""The blog's tables: the authors who may write, and their entries."""

from __future__ import annotations

from datetime import UTC, datetime

from squall.models import Field, Model


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Author(Model):
    __table__ = "authors"

    id: int = Field(primary_key=True)
    name: str = Field(unique=True, max_length=100)
    # None for an author who signs in some other way (e.g. with GitHub): no
    # password then matches, see passwords.check_password.
    password_hash: str | None = None
    # The GitHub account's numeric id for an author created by "sign in with
    # GitHub"; None otherwise. The id, not the login, identifies the account:
    # logins can be renamed and then claimed by someone else.
    github_id: int | None = Field(default=None, unique=True)
    created: datetime = Field(default_factory=utcnow)


class Entry(Model):
    __table__ = "entries"

    id: int = Field(primary_key=True)
    author_id: int
    title: str = Field(max_length=200)
    body: str = Field(max_length=None)
    published: datetime = Field(default_factory=utcnow)
    updated: datetime = Field(default_factory=utcnow)


MODELS: tuple[type[Model], ...] = (Author, Entry)
