"""HTTP handlers of the places API: JSON in, JSON out, clear 4xx for bad input."""

from __future__ import annotations

import json
from typing import Any

from squall.escape import json_decode
from squall.models import ValidationError
from squall.web import HTTPError, RequestHandler

from .models import Place, Visit

MAX_PAGE = 100


class JSONHandler(RequestHandler):
    """Errors as JSON bodies; request bodies decoded with a 400 on bad JSON."""

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json; charset=UTF-8")

    def json_body(self) -> dict[str, Any]:
        try:
            data = json_decode(self.request.body)
        except (ValueError, UnicodeDecodeError) as err:
            raise HTTPError(400, "request body is not valid JSON: %s", err,
                            reason="Invalid JSON") from None
        if not isinstance(data, dict):
            raise HTTPError(400, "request body must be a JSON object", reason="Invalid JSON")
        return data

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        body: dict[str, Any] = {"error": self._reason, "status": status_code}
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, HTTPError) and exc.log_message:
            body["detail"] = exc.log_message % exc.args
        if isinstance(exc, ValidationError):
            body["fields"] = exc.errors
        self.finish(json.dumps(body))

    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, ValidationError) and not self._finished:
            self.send_error(400, exc_info=(type(e), e, e.__traceback__), reason="Invalid Fields")
            return
        super()._handle_request_exception(e)

    def int_argument(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.get_argument(name, str(default))
        try:
            value = int(raw)
        except ValueError:
            raise HTTPError(400, "%s must be an integer, got %r", name, raw) from None
        if not low <= value <= high:
            raise HTTPError(400, "%s must be between %d and %d, got %d", name, low, high, value)
        return value


async def place_or_404(place_id: str) -> Place:
    place = await Place.get(int(place_id))
    if place is None:
        raise HTTPError(404, "no place with id %s", place_id)
    return place


class PlaceListHandler(JSONHandler):
    async def get(self) -> None:
        limit = self.int_argument("limit", 20, 1, MAX_PAGE)
        offset = self.int_argument("offset", 0, 0, 10**9)
        places = await Place.find(order_by="id", limit=limit, offset=offset)
        total = await Place.count()
        self.write({"places": [p.to_dict() for p in places], "total": total,
                    "limit": limit, "offset": offset})

    async def post(self) -> None:
        place = Place.from_json(self.json_body())
        await place.save()
        self.set_status(201)
        self.set_header("Location", self.reverse_url("place", place.id))
        self.write(place.to_dict())


class PlaceHandler(JSONHandler):
    async def get(self, place_id: str) -> None:
        self.write((await place_or_404(place_id)).to_dict())

    async def put(self, place_id: str) -> None:
        place = await place_or_404(place_id)
        data = self.json_body()
        data.pop("id", None)
        place.update(data)
        await place.save()
        self.write(place.to_dict())

    async def delete(self, place_id: str) -> None:
        place = await place_or_404(place_id)
        async with Place.db().transaction():
            await Visit.db().execute("DELETE FROM visits WHERE place_id = ?", place.id)
            await place.delete()
        self.set_status(204)


class VisitsHandler(JSONHandler):
    async def get(self, place_id: str) -> None:
        place = await place_or_404(place_id)
        visits = await Visit.find(place_id=place.id, order_by="id")
        self.write({"visits": [v.to_dict() for v in visits]})

    async def post(self, place_id: str) -> None:
        place = await place_or_404(place_id)
        data = self.json_body()
        data["place_id"] = place.id
        visit = Visit.from_json(data)
        await visit.save()
        self.set_status(201)
        self.write(visit.to_dict())


class MergeHandler(JSONHandler):
    """Move every visit of one place to another and delete the first: both
    tables change in one transaction, so a failure leaves both as they were."""

    async def post(self, source_id: str) -> None:
        target_id = self.json_body().get("into")
        if not isinstance(target_id, int) or isinstance(target_id, bool):
            raise HTTPError(400, "'into' must be the integer id of the place to merge into")
        source = await place_or_404(source_id)
        if target_id == source.id:
            raise HTTPError(400, "cannot merge place %s into itself", source_id)
        async with Place.db().transaction():
            moved = await Visit.db().execute(
                "UPDATE visits SET place_id = ? WHERE place_id = ?", target_id, source.id)
            await source.delete()
            # Checked last on purpose: a missing target rolls back the move above.
            if await Place.get(target_id) is None:
                raise HTTPError(404, "no place with id %s to merge into", target_id)
        self.write({"merged": source.id, "into": target_id, "visits_moved": moved})
