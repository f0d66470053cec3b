"""Translate squall's one placeholder style, ``?``, into each driver's own.

Statements are written once with ``?`` for every value; SQLite takes them as is,
asyncmy wants ``%s`` (and a literal ``%`` doubled, since it formats with ``%``),
asyncpg wants ``$1 .. $n``. A ``?`` inside a string literal, a quoted
identifier or a comment is text, not a placeholder, so the scanner below skips
those spans using each dialect's quoting rules.

PostgreSQL's jsonb operators ``?``, ``?|`` and ``?&`` cannot be written
directly; use the functions ``jsonb_exists``, ``jsonb_exists_any`` and
``jsonb_exists_all`` instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

Dialect = str  # "sqlite" | "mysql" | "postgresql"


@dataclass(frozen=True, slots=True)
class Statement:
    """A translated statement and how many values it expects."""

    sql: str
    param_count: int


# PERF: applications repeat a few hundred distinct statements; scan each once.
@lru_cache(maxsize=1024)
def translate(sql: str, dialect: Dialect) -> Statement:
    """Rewrite the ``?`` placeholders of ``sql`` for ``dialect``'s driver."""
    out: list[str] = []
    count = 0
    for is_code, text in _spans(sql, dialect):
        if dialect == "mysql":
            text = text.replace("%", "%%")
        if not is_code:
            out.append(text)
            continue
        pieces = text.split("?")
        count_before = count
        count += len(pieces) - 1
        if dialect == "sqlite":
            out.append(text)
            continue
        parts = [pieces[0]]
        for index, piece in enumerate(pieces[1:], start=count_before + 1):
            parts.append("%s" if dialect == "mysql" else f"${index}")
            parts.append(piece)
        out.append("".join(parts))
    return Statement("".join(out), count)


def code_text(sql: str, dialect: Dialect) -> str:
    """``sql`` with literals, quoted names and comments blanked: for keyword checks."""
    return "".join(text if is_code else " " for is_code, text in _spans(sql, dialect))


def _spans(sql: str, dialect: Dialect) -> Iterator[tuple[bool, str]]:
    """Split ``sql`` into (is_code, text) spans; non-code spans are quoted or comments."""
    i = 0
    start = 0
    n = len(sql)
    while i < n:
        ch = sql[i]
        end = -1
        if ch == "'":
            backslashes = dialect == "mysql" or (
                dialect == "postgresql" and _is_escape_string_prefix(sql, i)
            )
            end = _close_quote(sql, i, "'", backslashes)
        elif ch == '"':
            end = _close_quote(sql, i, '"', dialect == "mysql")
        elif ch == "`" and dialect != "postgresql":
            end = _close_quote(sql, i, "`", False)
        elif ch == "[" and dialect == "sqlite":
            end = _find_end(sql, i, "]")
        elif (ch == "-" and sql.startswith("--", i)) or (ch == "#" and dialect == "mysql"):
            newline = sql.find("\n", i)
            end = n if newline < 0 else newline + 1
        elif ch == "/" and sql.startswith("/*", i):
            end = _find_end(sql, i, "*/")
        elif ch == "$" and dialect == "postgresql":
            end = _dollar_quote_end(sql, i)
        if end < 0:
            i += 1
            continue
        if start < i:
            yield True, sql[start:i]
        yield False, sql[i:end]
        start = i = end
    if start < n:
        yield True, sql[start:]


def _close_quote(sql: str, i: int, quote: str, backslashes: bool) -> int:
    """Index just past the quote closing the one at ``i`` (a doubled quote is text)."""
    j = i + 1
    n = len(sql)
    while j < n:
        ch = sql[j]
        if backslashes and ch == "\\":
            j += 2
            continue
        if ch == quote:
            if j + 1 < n and sql[j + 1] == quote:
                j += 2
                continue
            return j + 1
        j += 1
    raise ValueError(f"unterminated {quote} quote starting at offset {i} in SQL: {sql!r}")


def _find_end(sql: str, i: int, closer: str) -> int:
    j = sql.find(closer, i + 1)
    if j < 0:
        raise ValueError(f"unterminated {sql[i:i + 2]!r} starting at offset {i} in SQL: {sql!r}")
    return j + len(closer)


def _is_escape_string_prefix(sql: str, i: int) -> bool:
    # PostgreSQL's E'...' strings honour backslash escapes; plain '...' ones do not.
    return (
        i > 0
        and sql[i - 1] in "eE"
        and (i == 1 or not (sql[i - 2].isalnum() or sql[i - 2] in "_$"))
    )


def _dollar_quote_end(sql: str, i: int) -> int:
    """End of a ``$tag$ ... $tag$`` string starting at ``i``, or -1 if none starts there."""
    j = i + 1
    while j < len(sql) and (sql[j].isalnum() or sql[j] == "_"):
        j += 1
    if j >= len(sql) or sql[j] != "$":
        return -1
    tag = sql[i : j + 1]
    if len(tag) > 2 and tag[1].isdigit():
        return -1  # $1 is a parameter reference, not a tag
    if i > 0 and (sql[i - 1].isalnum() or sql[i - 1] == "_"):
        return -1  # part of an identifier such as a$b$
    close = sql.find(tag, j + 1)
    if close < 0:
        raise ValueError(f"unterminated {tag} string starting at offset {i} in SQL: {sql!r}")
    return close + len(tag)


def prepare(sql: str, params: Sequence[Any], dialect: Dialect) -> str:
    """Translate ``sql`` and check it expects exactly ``len(params)`` values."""
    stmt = translate(sql, dialect)
    if stmt.param_count != len(params):
        raise ValueError(
            f"SQL has {stmt.param_count} ? placeholder(s) but {len(params)} "
            f"parameter(s) were given: {sql!r}"
        )
    return stmt.sql
