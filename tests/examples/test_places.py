"""The places API (the main job) on each database, through a real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from examples.places.app import make_app, open_database
from squall.models import Model
from squall.testing import TestServer, serve
from squall.testing.ports import bind_unused_port

ROOT = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def places_server(db_url: str) -> AsyncIterator[TestServer]:
    db = await open_database(db_url)
    await db.execute("DELETE FROM visits")
    await db.execute("DELETE FROM places")
    try:
        async with serve(make_app()) as srv:
            yield srv
    finally:
        Model.bind(None)
        await db.close()


async def post_json(srv: TestServer, path: str, data: object) -> tuple[int, dict]:  # type: ignore[type-arg]
    response = await srv.fetch(path, method="POST", body=json.dumps(data))
    return response.code, json.loads(response.body or b"{}")


async def test_create_list_read_update_delete(db_url: str) -> None:
    async with places_server(db_url) as srv:
        code, created = await post_json(srv, "/place", {"name": "Harbour", "lat": 59.9, "lon": 10.7})
        assert code == 201
        response = await srv.fetch("/place", method="POST",
                                   body=json.dumps({"name": "Hill", "lat": 60.1, "lon": 11}))
        assert response.headers["Location"].startswith("/place/")
        listing = json.loads((await srv.fetch("/place?limit=1")).body)
        assert listing["total"] == 2 and len(listing["places"]) == 1
        assert listing["places"][0]["name"] == "Harbour"
        second_page = json.loads((await srv.fetch("/place?limit=1&offset=1")).body)
        assert second_page["places"][0]["lat"] == pytest.approx(60.1)
        place_id = created["id"]
        got = json.loads((await srv.fetch(f"/place/{place_id}")).body)
        assert got == created
        updated = await srv.fetch(f"/place/{place_id}", method="PUT", body='{"name": "Port"}')
        assert json.loads(updated.body)["name"] == "Port"
        assert (await srv.fetch(f"/place/{place_id}", method="DELETE")).code == 204
        assert (await srv.fetch(f"/place/{place_id}")).code == 404


async def test_bad_input_is_a_clear_400_and_missing_ids_404(db_url: str) -> None:
    async with places_server(db_url) as srv:
        bad_json = await srv.fetch("/place", method="POST", body="{nope")
        assert bad_json.code == 400 and json.loads(bad_json.body)["error"] == "Invalid JSON"
        code, body = await post_json(srv, "/place", {"name": 5, "lat": "north", "extra": 1})
        assert code == 400
        assert set(body["fields"]) == {"name", "lat", "lon", "extra"}
        assert (await srv.fetch("/place?limit=1000")).code == 400
        assert (await srv.fetch("/place/999999")).code == 404
        assert (await srv.fetch("/place/999999", method="PUT", body="{}")).code == 404


async def test_merge_moves_visits_in_one_transaction_and_rolls_back_on_failure(db_url: str) -> None:
    async with places_server(db_url) as srv:
        _, a = await post_json(srv, "/place", {"name": "A", "lat": 1, "lon": 1})
        _, b = await post_json(srv, "/place", {"name": "B", "lat": 2, "lon": 2})
        for visitor in ("ann", "bob"):
            code, _ = await post_json(srv, f"/place/{a['id']}/visits", {"visitor": visitor})
            assert code == 201
        # Into a place that does not exist: 404, and nothing changed in either table.
        code, _ = await post_json(srv, f"/place/{a['id']}/merge", {"into": 999999})
        assert code == 404
        visits = json.loads((await srv.fetch(f"/place/{a['id']}/visits")).body)["visits"]
        assert [v["visitor"] for v in visits] == ["ann", "bob"]
        assert (await srv.fetch(f"/place/{a['id']}")).code == 200
        code, result = await post_json(srv, f"/place/{a['id']}/merge", {"into": b["id"]})
        assert (code, result["visits_moved"]) == (200, 2)
        assert (await srv.fetch(f"/place/{a['id']}")).code == 404
        visits = json.loads((await srv.fetch(f"/place/{b['id']}/visits")).body)["visits"]
        assert len(visits) == 2


def test_app_runs_as_a_script_on_sqlite_with_nothing_to_install(tmp_path: Path) -> None:
    sock, port = bind_unused_port()
    sock.close()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "examples/places/app.py"), f"--port={port}",
         f"--db=sqlite:///{tmp_path / 'p.db'}"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}/place"
        for _ in range(100):
            try:
                urllib.request.urlopen(base, timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        request = urllib.request.Request(base, data=b'{"name": "X", "lat": 1, "lon": 2}',
                                         method="POST")
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 201
        with urllib.request.urlopen(base, timeout=5) as response:
            assert json.loads(response.read())["total"] == 1
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()


def test_help_shows_grouped_options() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "examples/places/app.py"), "--help"],
                            capture_output=True, text=True, timeout=30,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert result.returncode == 0
    assert "database options:" in result.stdout and "server options:" in result.stdout
    assert "--db=" in result.stdout and "--port=" in result.stdout
