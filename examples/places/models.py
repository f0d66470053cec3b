"""The places API's tables: places, and the visits recorded at each."""

from __future__ import annotations

from squall.models import Field, Model


class Place(Model):
    __table__ = "places"

    id: int = Field(primary_key=True)
    name: str = Field(max_length=200)
    lat: float
    lon: float
    description: str | None = None


class Visit(Model):
    __table__ = "visits"

    id: int = Field(primary_key=True)
    place_id: int
    visitor: str = Field(max_length=200)
