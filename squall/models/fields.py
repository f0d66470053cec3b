"""Field declarations and the value rules for each supported type.

A model field's Python type decides three things kept together here: what
JSON input it accepts (and the reason given when it does not), how a value
read back from any of the three databases is normalised, and its SQL type.
"""

from __future__ import annotations

import datetime
import math
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SUPPORTED_TYPES: tuple[type, ...] = (int, float, str, bool, datetime.datetime)
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
DEFAULT_MAX_LENGTH = 255


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def Field(  # capitalised: it reads as a declaration, like pydantic.Field
    default: Any = MISSING,
    *,
    default_factory: Callable[[], Any] | None = None,
    primary_key: bool = False,
    unique: bool = False,
    max_length: int | None = DEFAULT_MAX_LENGTH,
) -> Any:
    """Extra facts about a field: ``id: int = Field(primary_key=True)``.

    ``max_length`` bounds a ``str`` (default 255, stored as VARCHAR so it can
    be UNIQUE on MySQL); ``max_length=None`` means unbounded TEXT. Typed as
    returning ``Any`` so ``name: str = Field(...)`` type-checks.
    """
    return FieldSpec(
        default,
        default_factory=default_factory,
        primary_key=primary_key,
        unique=unique,
        max_length=max_length,
    )


class FieldSpec:
    """What :func:`Field` declared, read once when the model class is created."""

    def __init__(
        self,
        default: Any = MISSING,
        *,
        default_factory: Callable[[], Any] | None = None,
        primary_key: bool = False,
        unique: bool = False,
        max_length: int | None = DEFAULT_MAX_LENGTH,
    ) -> None:
        if default is not MISSING and default_factory is not None:
            raise TypeError("Field() takes default or default_factory, not both")
        if max_length is not None and (isinstance(max_length, bool) or max_length < 1):
            raise ValueError(f"max_length must be a positive int or None, got {max_length!r}")
        self.default = default
        self.default_factory = default_factory
        self.primary_key = primary_key
        self.unique = unique
        self.max_length = max_length


@dataclass(frozen=True, slots=True)
class Column:
    """A resolved field: its name, base type, and constraints."""

    name: str
    type: type
    nullable: bool
    primary_key: bool = False
    unique: bool = False
    max_length: int | None = DEFAULT_MAX_LENGTH
    default: Any = MISSING
    default_factory: Callable[[], Any] | None = None

    @property
    def required(self) -> bool:
        """Whether JSON input for a new object must name this field."""
        return not (
            self.primary_key
            or self.nullable
            or self.default is not MISSING
            or self.default_factory is not None
        )

    def make_default(self) -> Any:
        if self.default_factory is not None:
            return self.default_factory()
        if self.default is not MISSING:
            return self.default
        return None


def resolve(owner: str, name: str, hint: Any, declared: Any) -> Column:
    """Build the Column for ``name: hint = declared``; TypeError if the type is unsupported."""
    if not IDENTIFIER.match(name):
        raise ValueError(f"{owner}.{name}: field names must be ASCII identifiers")
    base, nullable = _split_optional(hint)
    if base not in SUPPORTED_TYPES:
        raise TypeError(
            f"{owner}.{name}: unsupported field type {hint!r}; supported: int, float, "
            "str, bool, datetime, and any of them | None"
        )
    spec = declared if isinstance(declared, FieldSpec) else FieldSpec(declared)
    if spec.primary_key and base is not int:
        raise TypeError(f"{owner}.{name}: a primary key must be an int (auto-incremented)")
    return Column(
        name=name,
        type=base,
        nullable=nullable,
        primary_key=spec.primary_key,
        unique=spec.unique,
        max_length=spec.max_length if base is str else None,
        default=spec.default,
        default_factory=spec.default_factory,
    )


def _split_optional(hint: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(hint)) == 2:
            return args[0], True
    return hint, False


class Invalid(Exception):
    """A value failed its field's rule; the message is the reason shown to clients."""


def coerce(column: Column, value: Any) -> Any:
    """``value`` (from JSON or Python code) as ``column``'s type, or raise Invalid."""
    if value is None:
        if column.nullable or column.primary_key:
            return None
        raise Invalid("must not be null")
    kind = column.type
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise Invalid("expected true or false")
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise Invalid("expected an integer")
    if kind is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise Invalid("expected a finite number")
            return float(value)
        raise Invalid("expected a number")
    if kind is str:
        if not isinstance(value, str):
            raise Invalid("expected a string")
        if column.max_length is not None and len(value) > column.max_length:
            raise Invalid(f"must be at most {column.max_length} characters")
        return value
    return _coerce_datetime(value)


def _coerce_datetime(raw: Any) -> datetime.datetime:
    value = raw
    if isinstance(raw, str):
        try:
            value = datetime.datetime.fromisoformat(raw)
        except ValueError:
            raise Invalid("expected an ISO 8601 date-time string") from None
    if not isinstance(value, datetime.datetime):
        raise Invalid("expected an ISO 8601 date-time string")
    # Stored as naive UTC: MySQL DATETIME and SQLite text keep no zone, so an
    # aware value is converted rather than silently losing its offset.
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    return value


def from_db(column: Column, value: Any) -> Any:
    """Normalise a value read back from any backend to the field's Python type."""
    if value is None:
        return None
    kind = column.type
    if kind is bool:
        return bool(value)
    if kind is int:
        return int(value)
    if kind is float:
        return float(value)
    if kind is datetime.datetime and isinstance(value, str):
        return datetime.datetime.fromisoformat(value)
    return value


def to_json(value: Any) -> Any:
    """A field value as JSON-ready data (datetimes become ISO 8601 strings)."""
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value
