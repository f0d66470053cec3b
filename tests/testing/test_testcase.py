"""AsyncHTTPTestCase as a Tornado user writes it, on each loop kind."""

from __future__ import annotations

import asyncio

from squall.testing import AsyncHTTPTestCase, AsyncTestCase, ExpectLog, gen_test
from squall.web import Application, RequestHandler


class Hello(RequestHandler):
    async def get(self) -> None:
        await asyncio.sleep(0)
        self.write("Hello, world")


class Crash(RequestHandler):
    def get(self) -> None:
        raise ValueError("nope")


class HelloAppTest(AsyncHTTPTestCase):
    def get_app(self) -> Application:
        return Application([(r"/", Hello), (r"/crash", Crash)])

    def test_fetch_returns_the_response(self) -> None:
        response = self.fetch("/")
        self.assertEqual(response.code, 200)
        self.assertEqual(response.body, b"Hello, world")

    def test_errors_come_back_as_responses(self) -> None:
        with ExpectLog("squall.application", "Uncaught exception"):
            response = self.fetch("/crash")
        self.assertEqual(response.code, 500)

    @gen_test
    async def test_gen_test_can_use_the_client_directly(self) -> None:
        response = await self.http_client.fetch(self.get_url("/"))
        self.assertEqual(response.body, b"Hello, world")


class HelloAppOnAsyncioTest(HelloAppTest):
    loop_kind = "asyncio"


class HelloAppOnUvloopTest(HelloAppTest):
    loop_kind = "uvloop"


class GenTestTimeoutTest(AsyncTestCase):
    def test_gen_test_times_out_with_a_clear_error(self) -> None:
        @gen_test(timeout=0.05)
        async def slow(self: AsyncTestCase) -> None:
            await asyncio.sleep(1)

        with self.assertRaisesRegex(TimeoutError, "0.05 seconds"):
            slow(self)
