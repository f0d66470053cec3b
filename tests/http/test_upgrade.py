"""The wire layer's upgrade path: 101, handing the socket over, misuse refused precisely."""

from __future__ import annotations

import asyncio

from squall.http.cycle import HTTPOutputError
from squall.http.delegate import ResponseStartLine
from squall.http.headers import HTTPHeaders
from squall.testing import serve
from squall.web import Application, RequestHandler

UPGRADE = (b"GET /%s HTTP/1.1\r\nHost: t\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")


class EchoProtocol(asyncio.Protocol):
    """A toy upgraded protocol: echoes bytes uppercased; says BYE on shutdown."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data.upper())

    def shutdown(self) -> None:
        assert self.transport is not None
        self.transport.write(b"BYE")
        self.transport.close()


class Upgrader(RequestHandler):
    errors: list[str] = []

    def get(self, mode: str) -> None:
        connection = self.request.connection
        if mode == "early":
            try:
                connection.upgrade(EchoProtocol())
            except HTTPOutputError as err:
                self.errors.append(str(err))
            self.finish("no")
            return
        connection.write_headers(ResponseStartLine("HTTP/1.1", 101, "Switching Protocols"),
                                 HTTPHeaders({"Upgrade": "echo", "Connection": "Upgrade"}))
        connection.upgrade(EchoProtocol())
        self._finished = True


class NotUpgrade(RequestHandler):
    def get(self) -> None:
        try:
            self.request.connection.write_headers(
                ResponseStartLine("HTTP/1.1", 101, "Switching Protocols"), HTTPHeaders())
        except HTTPOutputError as err:
            self.finish(str(err))


def make_app() -> Application:
    return Application([(r"/plain", NotUpgrade), (r"/(sync|early)", Upgrader)])


async def test_sync_handler_upgrades_inside_the_parse_and_keeps_bytes_sent_with_the_request() -> None:
    async with serve(make_app()) as srv:
        reader, writer = await srv.open()
        writer.write(UPGRADE % b"sync" + b"hello")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
        assert b"Connection: close" not in head and b"Transfer-Encoding" not in head
        assert await asyncio.wait_for(reader.readexactly(5), 5) == b"HELLO"
        assert not srv.server.connections and len(srv.server.state.upgraded) == 1
        writer.write(b"more")
        assert await asyncio.wait_for(reader.readexactly(4), 5) == b"MORE"
        srv.server.stop()
        await asyncio.wait_for(srv.server.close_all_connections(timeout=5), 2)
        assert await asyncio.wait_for(reader.read(), 5) == b"BYE"
        writer.close()


async def test_upgrade_before_a_101_and_101_without_an_upgrade_request_are_refused() -> None:
    Upgrader.errors.clear()
    async with serve(make_app()) as srv:
        got = await srv.fetch("/plain")
        assert got.body == b"101 Switching Protocols for a request without Upgrade and " \
            b"Connection: upgrade"
        data = await srv.raw(UPGRADE % b"early")
        assert data.startswith(b"HTTP/1.1 200 OK\r\n") and b"Connection: close\r\n" in data
    assert Upgrader.errors == ["cannot upgrade before writing a 101 Switching Protocols response"]
