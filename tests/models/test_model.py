from __future__ import annotations

import datetime
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from squall.db import IntegrityError, connect
from squall.models import Field, Model, ValidationError
from tests.db.helpers import unique_table


class PlaceBase(Model):
    id: int = Field(primary_key=True)
    name: str = Field(unique=True)
    lat: float
    lon: float
    note: str | None = None
    visited: bool = False
    seen_at: datetime.datetime | None = None


@asynccontextmanager
async def places(url: str) -> AsyncIterator[type[PlaceBase]]:
    """A Place model on its own fresh table in ``url``'s database."""
    model: type[PlaceBase] = type("Place", (PlaceBase,), {"__table__": unique_table("places")})
    async with connect(url) as db:
        model.bind(db)
        await model.create_table()
        try:
            yield model
        finally:
            await model.drop_table()
            model.bind(None)


async def test_created_object_reads_back_with_the_same_typed_values(db_url: str) -> None:
    seen = datetime.datetime(2024, 5, 17, 9, 30, 15, 123456)
    async with places(db_url) as Place:
        made = await Place.create(
            name="Kyoto", lat=35.0116, lon=135.7681, visited=True, seen_at=seen
        )
        assert isinstance(made.id, int)
        got = await Place.get(made.id)
        assert got == made
        assert got is not None
        assert got.to_dict() == {
            "id": made.id, "name": "Kyoto", "lat": 35.0116, "lon": 135.7681,
            "note": None, "visited": True, "seen_at": seen,
        }
        assert type(got.visited) is bool and type(got.lat) is float


async def test_get_returns_none_for_a_missing_or_malformed_key(db_url: str) -> None:
    async with places(db_url) as Place:
        made = await Place.create(name="Oslo", lat=59.9, lon=10.7)
        assert await Place.get(made.id + 1000) is None
        assert await Place.get(str(made.id)) == made  # a key straight from a URL path
        assert await Place.get("not-a-number") is None


async def test_find_filters_orders_and_pages(db_url: str) -> None:
    async with places(db_url) as Place:
        for name, lat, visited in [("b", 2.0, True), ("a", 1.0, False), ("c", 3.0, True)]:
            await Place.create(name=name, lat=lat, lon=0.0, visited=visited)
        assert [p.name for p in await Place.find(order_by="name")] == ["a", "b", "c"]
        assert [p.name for p in await Place.find(order_by="-lat")] == ["c", "b", "a"]
        assert [p.name for p in await Place.find(visited=True, order_by="name")] == ["b", "c"]
        assert [p.name for p in await Place.find(order_by="name", limit=1, offset=1)] == ["b"]
        assert [p.name for p in await Place.find(order_by="name", offset=2)] == ["c"]
        assert [p.name for p in await Place.find(note=None, order_by="name", limit=2)] == ["a", "b"]
        assert await Place.count() == 3
        assert await Place.count(visited=False) == 1


async def test_save_updates_and_delete_removes(db_url: str) -> None:
    async with places(db_url) as Place:
        place = await Place.create(name="Lima", lat=-12.0, lon=-77.0)
        place.note = "capital"
        place.lat = -12.05
        await place.save()
        again = await Place.get(place.id)
        assert again is not None and (again.note, again.lat) == ("capital", -12.05)
        key = place.id
        await place.delete()
        assert await Place.get(key) is None
        assert await Place.count() == 0


async def test_json_body_creates_then_a_partial_body_updates(db_url: str) -> None:
    async with places(db_url) as Place:
        place = Place.from_json({"name": "Quito", "lat": 0, "lon": -78.5})
        await place.save()
        place.update({"note": "high", "seen_at": "2024-01-02T03:04:05+01:00"})
        await place.save()
        got = await Place.get(place.id)
        assert got is not None
        assert got.to_json() == {
            "id": place.id, "name": "Quito", "lat": 0.0, "lon": -78.5,
            "note": "high", "visited": False, "seen_at": "2024-01-02T02:04:05",
        }


async def test_unique_field_violation_is_an_integrity_error(db_url: str) -> None:
    async with places(db_url) as Place:
        await Place.create(name="Rome", lat=41.9, lon=12.5)
        with pytest.raises(IntegrityError):
            await Place.create(name="Rome", lat=0.0, lon=0.0)


async def test_save_validates_attributes_set_in_code(db_url: str) -> None:
    async with places(db_url) as Place:
        place = await Place.create(name="Bern", lat=46.9, lon=7.4)
        place.lat = "north"  # type: ignore[assignment]
        with pytest.raises(ValidationError, match="lat: expected a number"):
            await place.save()


async def test_unknown_filter_and_order_by_fields_are_rejected_before_any_sql(
    db_url: str,
) -> None:
    async with places(db_url) as Place:
        with pytest.raises(ValidationError) as info:
            hostile: dict[str, Any] = {"name; DROP TABLE x": "a"}
            await Place.find(**hostile)
        assert info.value.errors == {"name; DROP TABLE x": "unknown field"}
        with pytest.raises(ValidationError, match="order_by: unknown field 'name DESC, id'"):
            await Place.find(order_by="-name DESC, id")
        with pytest.raises(ValidationError, match="limit: expected a non-negative integer"):
            await Place.find(limit=-1)


async def test_models_take_part_in_the_current_transaction(db_url: str) -> None:
    async with places(db_url) as Place:
        with pytest.raises(RuntimeError):
            async with Place.db().transaction():
                await Place.create(name="Ghost", lat=0.0, lon=0.0)
                assert await Place.count() == 1
                raise RuntimeError("undo")
        assert await Place.count() == 0


async def test_unbound_model_says_how_to_bind_it() -> None:
    class Lonely(Model):
        name: str

    with pytest.raises(RuntimeError, match=r"call Lonely.bind\(db\) or Model.bind\(db\)"):
        await Lonely.find()
