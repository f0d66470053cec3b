"""``Model``: a class per table, declared with type annotations.

    class Place(Model):
        id: int = Field(primary_key=True)
        name: str
        lat: float
        lon: float
        note: str | None = None

    Model.bind(db)          # every model uses db (or Place.bind(db) for one)
    await Place.create_table()
    place = await Place.create(name="Kyoto", lat=35.0, lon=135.8)

The table is ``__table__`` when set, else the class name in snake_case,
pluralised (``Place`` -> ``places``, ``BlogEntry`` -> ``blog_entries``). A model
without a primary key field uses ``id: int`` (declared or implied) as its
auto-incremented key.
Table, column and ``order_by`` names are always checked against the declared
fields, so user input never becomes SQL text; values are always parameters.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Mapping
from typing import Any, ClassVar, Self

from squall.db import Database
from squall.models import ddl
from squall.models.fields import IDENTIFIER, MISSING, Column, Field, Invalid, coerce, from_db
from squall.models.fields import resolve as resolve_field
from squall.models.fields import to_json as value_to_json
from squall.models.validation import ValidationError


class Model:
    __table__: ClassVar[str]
    __fields__: ClassVar[dict[str, Column]] = {}
    __primary_key__: ClassVar[str] = "id"
    __db__: ClassVar[Database | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        try:
            hints = typing.get_type_hints(cls)
        except NameError as exc:
            raise TypeError(
                f"{cls.__name__}: cannot resolve a field annotation ({exc}); "
                "import the types it names at module level"
            ) from None
        fields: dict[str, Column] = {}
        for name, hint in hints.items():
            if name.startswith("_") or typing.get_origin(hint) is ClassVar:
                continue
            if hasattr(Model, name):
                raise TypeError(
                    f"{cls.__name__}.{name}: the field name clashes with Model.{name}"
                )
            fields[name] = resolve_field(cls.__name__, name, hint, _declared(cls, name))
        keys = [c.name for c in fields.values() if c.primary_key]
        if len(keys) > 1:
            raise TypeError(f"{cls.__name__} declares {len(keys)} primary keys: {keys}")
        if not keys:
            # ``id: int`` (or no id at all) is the auto-incremented key.
            if "id" in fields and fields["id"].type is not int:
                raise TypeError(f"{cls.__name__}.id: an implicit primary key must be an int")
            pk = resolve_field(cls.__name__, "id", int, Field(primary_key=True))
            fields = {"id": pk, **{n: c for n, c in fields.items() if n != "id"}}
            keys = ["id"]
        cls.__fields__ = fields
        cls.__primary_key__ = keys[0]
        table = cls.__dict__.get("__table__") or table_name(cls.__name__)
        if not isinstance(table, str) or not IDENTIFIER.match(table):
            raise ValueError(f"{cls.__name__}.__table__ must be an ASCII identifier, got {table!r}")
        cls.__table__ = table

    def __init__(self, **values: Any) -> None:
        """Build an unsaved object from Python values, validated as for JSON input."""
        self._set(self.validate(values))
        self._persisted = False

    # -- binding -----------------------------------------------------------

    @classmethod
    def bind(cls, db: Database | None) -> None:
        """Use ``db`` for this model and its subclasses; ``Model.bind(db)`` binds all."""
        cls.__db__ = db

    @classmethod
    def db(cls) -> Database:
        db = cls.__db__
        if db is None:
            raise RuntimeError(
                f"{cls.__name__} is not bound to a database; call "
                f"{cls.__name__}.bind(db) or Model.bind(db) first"
            )
        return db

    # -- validation --------------------------------------------------------

    @classmethod
    def validate(cls, data: Any, *, partial: bool = False) -> dict[str, Any]:
        """Check and coerce decoded JSON; the clean values, or ValidationError.

        With ``partial=True`` (a PUT/PATCH body) only the fields present are
        checked and returned; otherwise missing fields take their defaults and
        missing required ones are errors.
        """
        if not isinstance(data, Mapping):
            raise ValidationError(cls.__name__, {"_": "expected a JSON object"})
        errors: dict[str, str] = {}
        clean: dict[str, Any] = {}
        for key in data:
            if key not in cls.__fields__:
                errors[str(key)] = "unknown field"
        for name, column in cls.__fields__.items():
            if name in data:
                try:
                    clean[name] = coerce(column, data[name])
                except Invalid as exc:
                    errors[name] = str(exc)
            elif partial:
                continue
            elif column.required:
                errors[name] = "required"
            else:
                clean[name] = column.make_default()
        if errors:
            raise ValidationError(cls.__name__, errors)
        return clean

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """A new, unsaved object from a decoded JSON body (ValidationError if unfit)."""
        obj = cls.__new__(cls)
        obj._set(cls.validate(data))
        obj._persisted = False
        return obj

    def update(self, data: Any) -> None:
        """Apply a partial JSON body to this object (not saved until :meth:`save`)."""
        clean = self.validate(data, partial=True)
        key = self.__primary_key__
        if key in clean and clean[key] != getattr(self, key):
            raise ValidationError(type(self).__name__, {key: "cannot be changed"})
        self._set(clean)

    def to_dict(self) -> dict[str, Any]:
        """Field values as Python objects."""
        return {name: getattr(self, name) for name in self.__fields__}

    def to_json(self) -> dict[str, Any]:
        """Field values ready for ``json.dumps`` (datetimes as ISO 8601 strings)."""
        return {name: value_to_json(getattr(self, name)) for name in self.__fields__}

    # -- queries -----------------------------------------------------------

    @classmethod
    async def create_table(cls) -> None:
        """``CREATE TABLE IF NOT EXISTS`` with portable types for the bound database."""
        db = cls.db()
        sql = ddl.create_table_sql(db.dialect, cls.__table__, list(cls.__fields__.values()))
        await db.execute(sql)

    @classmethod
    async def drop_table(cls) -> None:
        db = cls.db()
        await db.execute(f"DROP TABLE IF EXISTS {ddl.quote(db.dialect, cls.__table__)}")

    @classmethod
    async def get(cls, key: Any) -> Self | None:
        """The object with primary key ``key`` (an int or a string of digits), or None."""
        if isinstance(key, str) and key.isascii() and key.isdigit():
            key = int(key)
        if isinstance(key, bool) or not isinstance(key, int):
            return None
        db = cls.db()
        row = await db.get(
            f"SELECT {cls._columns(db)} FROM {cls._table(db)} "
            f"WHERE {ddl.quote(db.dialect, cls.__primary_key__)} = ?",
            key,
        )
        return None if row is None else cls._from_row(row)

    @classmethod
    async def find(
        cls,
        *,
        order_by: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        **filters: Any,
    ) -> list[Self]:
        """Objects whose fields equal ``filters`` (None matches NULL), in ``order_by``
        order (a field name, ``-name`` for descending), at most ``limit`` of them."""
        db = cls.db()
        where, params = cls._where(db, filters)
        sql = f"SELECT {cls._columns(db)} FROM {cls._table(db)}{where}"
        sql += cls._order(db, order_by) + ddl.limit_sql(
            db.dialect, _count_arg("limit", limit), _count_arg("offset", offset)
        )
        return [cls._from_row(row) for row in await db.query(sql, *params)]

    @classmethod
    async def count(cls, **filters: Any) -> int:
        db = cls.db()
        where, params = cls._where(db, filters)
        row = await db.get(f"SELECT COUNT(*) AS n FROM {cls._table(db)}{where}", *params)
        return int(row["n"]) if row is not None else 0

    @classmethod
    async def create(cls, **values: Any) -> Self:
        """Validate, insert and return a new object."""
        obj = cls(**values)
        await obj.save()
        return obj

    async def save(self) -> None:
        """Insert this object if it is new, else update its row; validates first."""
        cls = type(self)
        db = cls.db()
        values = cls.validate(self.to_dict())
        key = cls.__primary_key__
        if self._persisted:
            names = [n for n in cls.__fields__ if n != key]
            assignments = ", ".join(f"{ddl.quote(db.dialect, n)} = ?" for n in names)
            await db.execute(
                f"UPDATE {cls._table(db)} SET {assignments} "
                f"WHERE {ddl.quote(db.dialect, key)} = ?",
                *(values[n] for n in names),
                values[key],
            )
        else:
            names = [n for n in cls.__fields__ if n != key or values[key] is not None]
            columns = ", ".join(ddl.quote(db.dialect, n) for n in names)
            sql = (
                f"INSERT INTO {cls._table(db)} ({columns}) "
                f"VALUES ({', '.join('?' for _ in names)})"
            )
            if db.dialect == "postgresql":
                sql += f" RETURNING {ddl.quote(db.dialect, key)}"
            new_id = await db.insert(sql, *(values[n] for n in names))
            if values[key] is None:
                values[key] = int(new_id)
        self._set(values)
        self._persisted = True

    async def delete(self) -> None:
        """Delete this object's row; the object becomes new again (key cleared)."""
        cls = type(self)
        db = cls.db()
        key = cls.__primary_key__
        await db.execute(
            f"DELETE FROM {cls._table(db)} WHERE {ddl.quote(db.dialect, key)} = ?",
            getattr(self, key),
        )
        setattr(self, key, None)
        self._persisted = False

    # -- helpers -----------------------------------------------------------

    def _set(self, values: Mapping[str, Any]) -> None:
        for name, value in values.items():
            setattr(self, name, value)

    @classmethod
    def _from_row(cls, row: Mapping[str, Any]) -> Self:
        obj = cls.__new__(cls)
        for name, column in cls.__fields__.items():
            setattr(obj, name, from_db(column, row[name]))
        obj._persisted = True
        return obj

    @classmethod
    def _table(cls, db: Database) -> str:
        return ddl.quote(db.dialect, cls.__table__)

    @classmethod
    def _columns(cls, db: Database) -> str:
        return ", ".join(ddl.quote(db.dialect, n) for n in cls.__fields__)

    @classmethod
    def _where(cls, db: Database, filters: Mapping[str, Any]) -> tuple[str, list[Any]]:
        errors: dict[str, str] = {}
        clauses: list[str] = []
        params: list[Any] = []
        for name, value in filters.items():
            column = cls.__fields__.get(name)
            if column is None:
                errors[name] = "unknown field"
                continue
            if value is None:
                clauses.append(f"{ddl.quote(db.dialect, name)} IS NULL")
                continue
            try:
                params.append(coerce(column, value))
            except Invalid as exc:
                errors[name] = str(exc)
                continue
            clauses.append(f"{ddl.quote(db.dialect, name)} = ?")
        if errors:
            raise ValidationError(cls.__name__, errors)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params

    @classmethod
    def _order(cls, db: Database, order_by: str | None) -> str:
        if order_by is None:
            return f" ORDER BY {ddl.quote(db.dialect, cls.__primary_key__)}"
        name = order_by[1:] if order_by.startswith("-") else order_by
        if name not in cls.__fields__:
            raise ValidationError(
                cls.__name__, {"order_by": f"unknown field {name!r}"}
            )
        direction = " DESC" if order_by.startswith("-") else ""
        return f" ORDER BY {ddl.quote(db.dialect, name)}{direction}"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable: equal objects may change

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items())
        return f"{type(self).__name__}({shown})"


def _declared(cls: type, name: str) -> Any:
    """What a model class (not Model itself) assigned to ``name``, or MISSING."""
    for klass in cls.__mro__:
        if klass is Model:
            break
        if name in vars(klass):
            return vars(klass)[name]
    return MISSING


def table_name(class_name: str) -> str:
    """``BlogEntry`` -> ``blog_entries``: snake_case, then a simple English plural."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", class_name).lower()
    if re.search(r"[^aeiou]y\Z", snake):
        return snake[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)\Z", snake):
        return snake + "es"
    return snake + "s"


def _count_arg(name: str, value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError("query", {name: "expected a non-negative integer"})
    return value
