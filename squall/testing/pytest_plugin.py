"""pytest plugin: run ``async def`` tests on every supported event loop, and serve apps.

Each coroutine test function is collected once per loop kind (``[asyncio]`` and
``[uvloop]``) and run to completion on a fresh loop of that kind, so code is
proven on both. Registered through the ``pytest11`` entry point, so installing
squall is enough to use it.

Define an ``app`` fixture and ask for ``fetch``::

    @pytest.fixture
    def app():
        return make_app()

    async def test_home(fetch):
        response = await fetch("/")
        assert response.code == 200

The runner has no async fixtures, so the server is started lazily: the first
``await fetch(...)`` (or ``await squall_server.start()``) starts ``app`` on an
ephemeral port inside the test's own loop, and the plugin stops it after the
test body, on that same loop. ``http_server_options`` (default ``{}``) are the
``HTTPServer`` keyword arguments; override the fixture to change them.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from squall.httpclient import HTTPResponse
from squall.testing.loops import LOOP_KINDS, loop_factory
from squall.testing.server import TestServer, serve

LOOP_FIXTURE = "squall_loop_kind"
SERVER_FIXTURE = "squall_server"


class LazyTestServer:
    """Serves ``app`` from the first use inside a running loop until :meth:`aclose`."""

    __test__ = False  # not a pytest test class

    def __init__(self, app: Any, server_options: dict[str, Any]) -> None:
        self.app = app
        self.server_options = dict(server_options)
        self._context: contextlib.AbstractAsyncContextManager[TestServer] | None = None
        self._server: TestServer | None = None

    async def start(self) -> TestServer:
        """The running :class:`~squall.testing.TestServer`, started on first call."""
        if self._server is None:
            context = serve(self.app, **self.server_options)
            self._server = await context.__aenter__()
            self._context = context
        return self._server

    async def fetch(self, path: str, **kwargs: Any) -> HTTPResponse:
        """Request ``path``; error statuses come back as responses (``raise_error=False``)."""
        server = await self.start()
        return await server.fetch(path, **kwargs)

    async def aclose(self) -> None:
        context, self._context, self._server = self._context, None, None
        if context is not None:
            await context.__aexit__(None, None, None)

    async def __aenter__(self) -> TestServer:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


@pytest.fixture
def http_server_options() -> dict[str, Any]:
    """Keyword arguments for the test ``HTTPServer``; override to set limits or xheaders."""
    return {}


@pytest.fixture
def squall_server(app: Any, http_server_options: dict[str, Any]) -> LazyTestServer:
    """The user's ``app`` fixture, served lazily inside the async test's loop."""
    return LazyTestServer(app, http_server_options)


@pytest.fixture
def fetch(squall_server: LazyTestServer) -> Callable[..., Awaitable[HTTPResponse]]:
    """``await fetch("/path", method="POST", body=...)`` against the ``app`` fixture."""
    return squall_server.fetch


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "loops(*kinds): run this async test only on the named event loop kinds"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if not inspect.iscoroutinefunction(metafunc.function):
        return
    marker = metafunc.definition.get_closest_marker("loops")
    kinds = [k for k in LOOP_KINDS if marker is None or k in marker.args]
    if LOOP_FIXTURE not in metafunc.fixturenames:
        metafunc.fixturenames.append(LOOP_FIXTURE)
    metafunc.parametrize(LOOP_FIXTURE, kinds, ids=kinds)


async def _run_and_stop_server(test: Awaitable[None], server: LazyTestServer | None) -> None:
    try:
        await test
    finally:
        if server is not None:
            await server.aclose()


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    func = pyfuncitem.obj
    if not inspect.iscoroutinefunction(func):
        return None
    kind = pyfuncitem.funcargs.get(LOOP_FIXTURE, LOOP_KINDS[-1])
    names = pyfuncitem._fixtureinfo.argnames
    kwargs: dict[str, Any] = {name: pyfuncitem.funcargs[name] for name in names}
    candidate = pyfuncitem.funcargs.get(SERVER_FIXTURE)
    server = candidate if isinstance(candidate, LazyTestServer) else None
    with asyncio.Runner(loop_factory=loop_factory(str(kind))) as runner:
        runner.run(_run_and_stop_server(func(**kwargs), server))
    return True
