"""pytest plugin: run ``async def`` tests on every supported event loop.

Each coroutine test function is collected once per loop kind (``[asyncio]`` and
``[uvloop]``) and run to completion on a fresh loop of that kind, so code is
proven on both. Registered through the ``pytest11`` entry point, so installing
squall is enough to use it.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest

from squall.testing.loops import LOOP_KINDS, loop_factory

LOOP_FIXTURE = "squall_loop_kind"


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


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    func = pyfuncitem.obj
    if not inspect.iscoroutinefunction(func):
        return None
    kind = pyfuncitem.funcargs.get(LOOP_FIXTURE, LOOP_KINDS[-1])
    names = pyfuncitem._fixtureinfo.argnames
    kwargs: dict[str, Any] = {name: pyfuncitem.funcargs[name] for name in names}
    with asyncio.Runner(loop_factory=loop_factory(str(kind))) as runner:
        runner.run(func(**kwargs))
    return True
