"""Test utilities for squall applications (Tornado's ``tornado.testing`` API).

``AsyncHTTPTestCase`` starts your application on an ephemeral port of a
fresh event loop for every test method; ``self.fetch(path)`` requests it over
a real socket. ``SQUALL_TEST_LOOP=asyncio|uvloop`` picks the loop kind
(uvloop when installed). For pytest users, :mod:`squall.testing.pytest_plugin`
offers fixtures instead.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import os
import re
import unittest
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, TypeVar

from squall.httpclient import AsyncHTTPClient, HTTPResponse
from squall.httpserver import HTTPServer
from squall.ioloop import IOLoop
from squall.testing.loops import LOOP_KINDS, loop_factory
from squall.testing.ports import bind_unused_port
from squall.testing.server import TestServer, serve

__all__ = [
    "AsyncHTTPTestCase",
    "AsyncTestCase",
    "ExpectLog",
    "TestServer",
    "bind_unused_port",
    "gen_test",
    "get_async_test_timeout",
    "serve",
]

_F = TypeVar("_F", bound=Callable[..., Any])


def get_async_test_timeout() -> float:
    """Seconds a ``gen_test`` may run: ``ASYNC_TEST_TIMEOUT`` or 5."""
    try:
        return float(os.environ.get("ASYNC_TEST_TIMEOUT", "5"))
    except ValueError:
        return 5.0


class AsyncTestCase(unittest.TestCase):
    """A TestCase with a fresh :class:`IOLoop` per test as ``self.io_loop``."""

    loop_kind: str | None = None

    def get_new_ioloop(self) -> IOLoop:
        kind = self.loop_kind or os.environ.get("SQUALL_TEST_LOOP") or LOOP_KINDS[-1]
        return IOLoop(loop_factory(kind)(), make_current=True)

    def setUp(self) -> None:
        super().setUp()
        self.io_loop = self.get_new_ioloop()

    def tearDown(self) -> None:
        loop = self.io_loop.asyncio_loop
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        self.io_loop.close(all_fds=True)
        IOLoop.clear_current()
        asyncio.set_event_loop(None)
        super().tearDown()


def gen_test(func: _F | None = None, timeout: float | None = None) -> Any:
    """Run an ``async def`` test method on ``self.io_loop`` with a timeout.

    Usable bare (``@gen_test``) or with arguments (``@gen_test(timeout=10)``).
    """
    if timeout is None:
        timeout = get_async_test_timeout()

    def wrap(coro_func: _F) -> _F:
        if not inspect.iscoroutinefunction(coro_func):
            raise TypeError(f"@gen_test needs an async def method, got {coro_func!r}")

        @functools.wraps(coro_func)
        def wrapper(self: AsyncTestCase, *args: Any, **kwargs: Any) -> None:
            coro: Coroutine[Any, Any, Any] = coro_func(self, *args, **kwargs)
            self.io_loop.run_sync(lambda: coro, timeout=timeout)

        return wrapper  # type: ignore[return-value]

    if func is not None:
        return wrap(func)
    return wrap


class AsyncHTTPTestCase(AsyncTestCase):
    """Serves ``get_app()`` on an ephemeral port; ``self.fetch()`` talks to it."""

    def get_app(self) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define get_app()")

    def get_httpserver_options(self) -> dict[str, Any]:
        return {}

    def get_protocol(self) -> str:
        return "http"

    def setUp(self) -> None:
        super().setUp()
        sock, port = bind_unused_port()
        self.__port = port
        self._app = self.get_app()
        self.http_server = HTTPServer(self._app, **self.get_httpserver_options())
        self.http_server.add_sockets([sock])
        self.http_client = AsyncHTTPClient(force_instance=True)

    def get_http_port(self) -> int:
        return self.__port

    def get_url(self, path: str) -> str:
        return f"{self.get_protocol()}://127.0.0.1:{self.__port}{path}"

    def fetch(self, path: str, raise_error: bool = False, **kwargs: Any) -> HTTPResponse:
        """Request ``path`` (or a full URL) and return the response, errors included."""
        url = path if path.lower().startswith(("http://", "https://")) else self.get_url(path)
        timeout = kwargs.pop("timeout", get_async_test_timeout())
        response: HTTPResponse = self.io_loop.run_sync(
            lambda: self.http_client.fetch(url, raise_error=raise_error, **kwargs), timeout=timeout,
        )
        return response

    def tearDown(self) -> None:
        self.http_server.stop()
        self.io_loop.run_sync(lambda: self.http_server.close_all_connections(timeout=5))
        self.io_loop.run_sync(self.http_client.aclose)
        super().tearDown()


class ExpectLog(logging.Filter):
    """Swallow and require log records matching ``regex`` on ``logger``::

        with ExpectLog("squall.application", "Uncaught exception"):
            self.fetch("/fail")
    """

    def __init__(
        self,
        logger: logging.Logger | str,
        regex: str,
        required: bool = True,
        level: int | None = None,
    ) -> None:
        super().__init__()
        self.logger = logging.getLogger(logger) if isinstance(logger, str) else logger
        self.regex = re.compile(regex)
        self.required = required
        self.level = level
        self.matched = False
        self.logged_stack = False
        self._old_level = self.logger.level

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info:
            self.logged_stack = True
        message = record.getMessage()
        if self.regex.match(message) and (self.level is None or record.levelno == self.level):
            self.matched = True
            return False
        return True

    def __enter__(self) -> ExpectLog:
        if self.logger.level > logging.WARNING or self.logger.level == logging.NOTSET:
            self.logger.setLevel(min(self.level or logging.INFO, logging.INFO))
        self.logger.addFilter(self)
        return self

    def __exit__(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.logger.removeFilter(self)
        self.logger.setLevel(self._old_level)
        if typ is None and self.required and not self.matched:
            raise AssertionError(f"did not see an expected log message matching {self.regex.pattern!r}")
