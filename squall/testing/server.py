"""Serve an application on an ephemeral port inside a running event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from squall.httpclient import AsyncHTTPClient, HTTPResponse
from squall.httpserver import HTTPServer
from squall.testing.ports import bind_unused_port


class TestServer:
    """A running server plus helpers to talk to it over real sockets."""

    __test__ = False  # not a pytest test class

    def __init__(self, server: HTTPServer, port: int) -> None:
        self.server = server
        self.port = port
        self._client: AsyncHTTPClient | None = None

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def fetch(self, path: str, raise_error: bool = False, **kwargs: Any) -> HTTPResponse:
        """Request ``path`` through squall's HTTP client; errors come back as responses."""
        if self._client is None:
            self._client = AsyncHTTPClient(force_instance=True)
        response: HTTPResponse = await self._client.fetch(self.url(path), raise_error=raise_error, **kwargs)
        return response

    async def open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A raw connection, for byte-exact tests."""
        return await asyncio.open_connection("127.0.0.1", self.port)

    async def raw(self, data: bytes, timeout: float = 5.0) -> bytes:
        """Send ``data`` on a new connection and read until the server closes it."""
        reader, writer = await self.open()
        try:
            writer.write(data)
            return await asyncio.wait_for(reader.read(), timeout)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        self.server.stop()
        await self.server.close_all_connections(timeout=5)


@contextlib.asynccontextmanager
async def serve(app: Any, **server_options: Any) -> AsyncIterator[TestServer]:
    """``async with serve(app) as srv: await srv.fetch("/")`` -- stopped on exit."""
    sock, port = bind_unused_port()
    server = HTTPServer(app, **server_options)
    server.add_sockets([sock])
    await server.wait_started()
    test_server = TestServer(server, port)
    try:
        yield test_server
    finally:
        await test_server.close()
