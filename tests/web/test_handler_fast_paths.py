"""The hot path's shortcuts keep every hook and check of RequestHandler."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import re
from typing import Any

import pytest

from squall.http.config import ServerConfig
from squall.http.protocol import HTTP1ServerProtocol
from squall.http.server import ServerState
from squall.testing import serve
from squall.web import Application, RequestHandler

calls: list[str] = []


class HookedHandler(RequestHandler):
    def initialize(self, tag: str = "") -> None:
        calls.append(f"initialize {tag}")

    def set_default_headers(self) -> None:
        self.set_header("X-Default", "yes")

    def prepare(self) -> None:
        calls.append("prepare")

    def decode_argument(self, value: bytes, name: str | None = None) -> str:
        return "decoded:" + value.decode()

    def compute_etag(self) -> str | None:
        return '"custom"'

    def get(self, item: str) -> None:
        calls.append(f"get {item}")
        self.write("body")

    def on_finish(self) -> None:
        calls.append("on_finish")


async def test_overridden_hooks_are_all_called_in_order() -> None:
    calls.clear()
    app = Application([(r"/h/([a-z]+)", HookedHandler, {"tag": "t"})])
    async with serve(app) as srv:
        got = await srv.fetch("/h/abc")
        assert got.code == 200 and got.body == b"body"
        assert got.headers["Etag"] == '"custom"' and got.headers["X-Default"] == "yes"
        assert calls == ["initialize t", "prepare", "get decoded:abc", "on_finish"]
        again = await srv.fetch("/h/abc", headers={"If-None-Match": '"custom"'})
        assert again.code == 304


class PlainHandler(RequestHandler):
    def get(self, *args: str) -> None:
        self.set_header("content-type", "text/plain")
        self.write(" ".join(args) or "plain")


async def test_default_etag_path_args_and_header_names() -> None:
    async with serve(Application([(r"/p", PlainHandler), (r"/a/(.*)/(.*)", PlainHandler)])) as srv:
        got = await srv.fetch("/p")
        assert got.body == b"plain" and got.headers["Content-Type"] == "text/plain"
        assert got.headers["Etag"] == '"' + hashlib.sha1(b"plain").hexdigest() + '"'
        assert (await srv.fetch("/a/caf%C3%A9/x")).body == "café x".encode()
        # Invalid UTF-8 in a path argument is still a 400.
        assert (await srv.fetch("/a/%FF/x")).code == 400


UNSAFE = {"cr": "a\rb", "lf": "a\nb", "nul": "a\x00b"}


class UnsafeHeaderHandler(RequestHandler):
    def get(self) -> None:
        value = UNSAFE[self.get_argument("v")]
        try:
            self.set_header("X-Echo", value)
        except ValueError:
            self.set_status(400)
            self.write("refused")
            return
        self.write("ok")


@pytest.mark.parametrize("value", sorted(UNSAFE))
async def test_set_header_still_refuses_cr_lf_and_nul(value: str) -> None:
    async with serve(Application([(r"/u", UnsafeHeaderHandler)])) as srv:
        got = await srv.fetch("/u?v=" + value)
        assert (got.code, got.body) == (400, b"refused")


class NoInitializeHandler(RequestHandler):
    def get(self) -> None:
        self.write("never")


async def test_rule_kwargs_without_initialize_are_still_refused() -> None:
    app = Application([(r"/n", NoInitializeHandler, {"x": 1})])
    async with serve(app) as srv:
        assert (await srv.fetch("/n")).code == 500


class JSONHandler(RequestHandler):
    def get(self, item_id: str) -> None:
        self.write({"id": int(item_id), "message": "</script>"})


class FakeTransport:
    """Just enough of a transport to feed the protocol bytes in memory."""

    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 5555) if name == "peername" else default

    def pause_reading(self) -> None: ...
    def resume_reading(self) -> None: ...
    def close(self) -> None: ...
    def is_closing(self) -> bool:
        return False

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None: ...


def _in_memory_connection() -> tuple[HTTP1ServerProtocol, FakeTransport]:
    app = Application([(r"/json/([0-9]+)", JSONHandler), (r"/p", PlainHandler)])
    state = ServerState(asyncio.get_running_loop(), app, ServerConfig())
    protocol = HTTP1ServerProtocol(state)
    transport = FakeTransport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    return protocol, transport


def _request(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: t\r\nAccept: */*\r\n\r\n".encode()


async def test_a_plain_response_is_framed_exactly_as_before() -> None:
    protocol, transport = _in_memory_connection()
    protocol.data_received(_request("/p") + _request("/json/7"))
    assert len(transport.written) == 1  # both answers of one read leave in one write
    text = transport.written[0].decode()
    text = re.sub(r"Date: [^\r]+", "Date: D", text)
    plain_tag = hashlib.sha1(b"plain").hexdigest()
    body = b'{"id": 7, "message": "<\\/script>"}'
    assert text == (
        "HTTP/1.1 200 OK\r\nServer: SquallServer/0.1\r\nContent-Type: text/plain\r\n"
        f'Date: D\r\nEtag: "{plain_tag}"\r\nContent-Length: 5\r\n\r\nplain'
        "HTTP/1.1 200 OK\r\nServer: SquallServer/0.1\r\n"
        "Content-Type: application/json; charset=UTF-8\r\n"
        f'Date: D\r\nEtag: "{hashlib.sha1(body).hexdigest()}"\r\n'
        f"Content-Length: {len(body)}\r\n\r\n" + body.decode()
    )


async def test_requests_leave_no_cyclic_garbage() -> None:
    protocol, transport = _in_memory_connection()
    for path in ("/p", "/json/1", "/nowhere"):
        protocol.data_received(_request(path))  # warm up the caches
    gc.collect()
    gc.disable()
    try:
        for i in range(50):
            protocol.data_received(_request("/p"))
            protocol.data_received(_request(f"/json/{i}"))
            protocol.data_received(_request("/nowhere"))
        assert gc.collect() == 0
    finally:
        gc.enable()
    assert len(transport.written) == 153


class BareNoContentHandler(RequestHandler):
    def get(self) -> None:
        for name in ("Server", "Content-Type", "Date"):
            self.clear_header(name)
        self.set_status(204)


async def test_a_response_without_any_header_is_sent() -> None:
    # Before the one-loop header block, an empty block was mistaken for a
    # CR/LF injection and the response failed.
    app = Application([(r"/bare", BareNoContentHandler)])
    state = ServerState(asyncio.get_running_loop(), app, ServerConfig())
    protocol = HTTP1ServerProtocol(state)
    transport = FakeTransport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    protocol.data_received(_request("/bare"))
    assert transport.written == [b"HTTP/1.1 204 No Content\r\n\r\n"]
