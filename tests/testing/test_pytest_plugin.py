"""The pytest plugin's fixtures: an ``app`` fixture plus ``fetch`` is all a project needs."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import textwrap
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from squall.httpclient import HTTPResponse
from squall.testing.pytest_plugin import LazyTestServer
from squall.web import Application, RequestHandler

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
Fetch = Callable[..., Awaitable[HTTPResponse]]


class EchoHandler(RequestHandler):
    def get(self) -> None:
        self.write({"ip": self.request.remote_ip, "path": self.request.path})

    def post(self) -> None:
        self.write(self.request.body)


@pytest.fixture
def app() -> Application:
    return Application([(r"/.*", EchoHandler)])


async def test_fetch_starts_the_app_lazily_and_returns_responses(fetch: Fetch) -> None:
    response = await fetch("/hello")
    assert response.code == 200
    assert b'"path": "/hello"' in response.body
    response = await fetch("/x", method="POST", body="data")
    assert response.body == b"data"


async def test_squall_server_is_the_same_server_fetch_uses(
    fetch: Fetch, squall_server: LazyTestServer
) -> None:
    await fetch("/")
    server = await squall_server.start()
    assert (await server.fetch("/a")).code == 200
    assert server.url("/a") == f"http://127.0.0.1:{server.port}/a"


class TestServerOptions:
    @pytest.fixture
    def http_server_options(self) -> dict[str, Any]:
        return {"xheaders": True}

    async def test_http_server_options_reach_the_server(self, fetch: Fetch) -> None:
        response = await fetch("/", headers={"X-Real-IP": "203.0.113.9"})
        assert b'"ip": "203.0.113.9"' in response.body


def test_http_server_options_default_to_empty(http_server_options: dict[str, Any]) -> None:
    assert http_server_options == {}


def run_pytest(directory: pathlib.Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), str(directory)]))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(directory)],
        cwd=directory, env=env, capture_output=True, text=True, timeout=60, check=False,
    )


def test_ten_line_example_from_the_docs_runs_and_the_server_is_stopped(
    tmp_path: pathlib.Path,
) -> None:
    (tmp_path / "myapp.py").write_text(textwrap.dedent("""
        from squall.web import Application, RequestHandler

        class Home(RequestHandler):
            def get(self):
                self.write("home")

        def make_app():
            return Application([(r"/", Home)])
    """))
    (tmp_path / "test_myapp.py").write_text(textwrap.dedent("""
        import pytest
        from myapp import make_app
        @pytest.fixture
        def app(): return make_app()
        async def test_home(fetch):
            response = await fetch("/")
            assert response.code == 200
            assert response.body == b"home"
        async def test_missing(fetch):
            assert (await fetch("/nope")).code == 404
    """))
    result = run_pytest(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout  # two tests, each on asyncio and uvloop


def test_a_failing_test_still_stops_its_server(tmp_path: pathlib.Path) -> None:
    (tmp_path / "test_fail.py").write_text(textwrap.dedent("""
        import pytest
        from squall.web import Application
        from squall.testing.pytest_plugin import LazyTestServer
        SERVERS = []
        @pytest.fixture
        def app(): return Application([])
        @pytest.mark.loops("asyncio")
        async def test_fails(fetch, squall_server):
            SERVERS.append(squall_server)
            await fetch("/")
            raise RuntimeError("boom")
        def test_server_was_stopped():
            assert SERVERS and SERVERS[0]._server is None
    """))
    result = run_pytest(tmp_path)
    assert "1 failed, 1 passed" in result.stdout, result.stdout + result.stderr
    assert "boom" in result.stdout
