"""WebSockets over real sockets: squall's client, and raw frames for the protocol's edges."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import pytest
from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

from squall.httpclient import HTTPClientError
from squall.testing import TestServer, serve
from squall.web import Application
from squall.websocket import WebSocketClosedError, WebSocketHandler, websocket_connect


class Log:
    """What the server-side handlers saw, for assertions."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.closed = asyncio.Event()
        self.handlers: list[WebSocketHandler] = []


class EchoHandler(WebSocketHandler):
    def initialize(self, log: Log, compression: dict[str, Any] | None = None,
                   subprotocols: tuple[str, ...] = ()) -> None:
        self.log = log
        self.compression = compression
        self.subprotocols = subprotocols

    def open(self, *args: str) -> None:
        self.log.handlers.append(self)
        self.log.events.append(("open", args))

    async def on_message(self, message: str | bytes) -> None:
        if message == "slow":
            await asyncio.sleep(0.05)
        self.log.events.append(("message", message))
        if message == "close-me":
            self.close(4002, "server says bye")
            return
        await self.write_message(message, binary=isinstance(message, bytes))

    def on_ping(self, data: bytes) -> None:
        self.log.events.append(("ping", data))

    def on_pong(self, data: bytes) -> None:
        self.log.events.append(("pong", data))

    def on_close(self) -> None:
        self.log.events.append(("close", self.close_code, self.close_reason))
        self.log.closed.set()

    def get_compression_options(self) -> dict[str, Any] | None:
        return self.compression

    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        for name in self.subprotocols:
            if name in subprotocols:
                return name
        return None


def make_app(log: Log, **settings: Any) -> Application:
    return Application([
        (r"/echo/?(.*)", EchoHandler, {"log": log}),
        (r"/deflate", EchoHandler, {"log": log, "compression": {"compression_level": 9}}),
        (r"/chat", EchoHandler, {"log": log, "subprotocols": ("chat.v2", "chat.v1")}),
    ], **settings)


def ws_url(srv: TestServer, path: str) -> str:
    return f"ws://127.0.0.1:{srv.port}{path}"


class RawClient:
    """websockets' sans-I/O client over a raw socket: exact bytes in, events out."""

    def __init__(self, srv: TestServer, path: str, deflate: bool = False) -> None:
        self.srv = srv
        extensions = [ClientPerMessageDeflateFactory()] if deflate else None
        self.protocol = ClientProtocol(parse_uri(ws_url(srv, path)), extensions=extensions)
        self.received_bytes = 0
        self.response: Response | None = None
        self.frames: list[Frame] = []

    async def __aenter__(self) -> RawClient:
        self.reader, self.writer = await self.srv.open()
        self.protocol.send_request(self.protocol.connect())
        self._send_pending()
        while self.response is None:
            for event in await self._receive():
                if isinstance(event, Response):
                    self.response = event
                elif isinstance(event, Frame):
                    self.frames.append(event)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()

    def _send_pending(self) -> None:
        for data in self.protocol.data_to_send():
            if data:
                self.writer.write(data)

    async def _receive(self) -> list[Any]:
        data = await asyncio.wait_for(self.reader.read(65536), 5)
        self.received_bytes += len(data)
        if not data:
            self.protocol.receive_eof()
        else:
            self.protocol.receive_data(data)
        self._send_pending()
        return self.protocol.events_received()

    def send_raw(self, data: bytes) -> None:
        self.writer.write(data)

    async def next_frame(self) -> Frame:
        while not self.frames:
            self.frames.extend(e for e in await self._receive() if isinstance(e, Frame))
        return self.frames.pop(0)

    async def close_frame(self) -> tuple[int, str]:
        """Read until the server's close frame; its (code, reason)."""
        while True:
            frame = await self.next_frame()
            if frame.opcode is Opcode.CLOSE:
                received = self.protocol.close_rcvd
                assert received is not None
                return int(received.code), received.reason


def masked(opcode: Opcode, data: bytes, fin: bool = True) -> bytes:
    return Frame(opcode, data, fin).serialize(mask=True)


# -- messages ---------------------------------------------------------------


async def test_text_binary_and_dict_messages_round_trip_and_open_gets_url_groups() -> None:
    log = Log()
    async with serve(make_app(log)) as srv:
        conn = await websocket_connect(ws_url(srv, "/echo/room-7"))
        await conn.write_message("héllo")
        assert await conn.read_message() == "héllo"
        await conn.write_message(b"\x00\xffbin", binary=True)
        assert await conn.read_message() == b"\x00\xffbin"
        await conn.write_message({"a": [1, 2]})
        assert json.loads(await conn.read_message() or "") == {"a": [1, 2]}
        await conn.close()
    assert log.events[0] == ("open", ("room-7",))


async def test_async_on_message_finishes_before_the_next_message_is_delivered() -> None:
    log = Log()
    async with serve(make_app(log)) as srv:
        conn = await websocket_connect(ws_url(srv, "/echo/"))
        for message in ("slow", "fast", "slow", "last"):
            conn.write_message(message)
        replies = [await conn.read_message() for _ in range(4)]
        assert replies == ["slow", "fast", "slow", "last"]
        assert [e[1] for e in log.events if e[0] == "message"] == replies
        await conn.close()


async def test_fragmented_text_message_is_reassembled() -> None:
    log = Log()
    async with serve(make_app(log)) as srv, RawClient(srv, "/echo/") as raw:
        text = "fragmenté".encode()
        # The "é" is split across two frames: UTF-8 is checked incrementally.
        raw.send_raw(masked(Opcode.TEXT, text[:3], fin=False)
                     + masked(Opcode.CONT, text[3:9], fin=False)
                     + masked(Opcode.PING, b"between")  # control frames may interleave
                     + masked(Opcode.CONT, text[9:], fin=True))
        frames = [await raw.next_frame(), await raw.next_frame()]
        assert (frames[0].opcode, bytes(frames[0].data)) == (Opcode.PONG, b"between")
        assert (frames[1].opcode, bytes(frames[1].data)) == (Opcode.TEXT, text)
    assert ("ping", b"between") in log.events


async def test_bytes_sent_with_the_handshake_are_not_lost() -> None:
    log = Log()
    async with serve(make_app(log)) as srv:
        reader, writer = await srv.open()
        writer.write(
            b"GET /echo/ HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            + masked(Opcode.TEXT, b"early")
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
        assert b"Sec-Websocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head
        assert await asyncio.wait_for(reader.readexactly(7), 5) == b"\x81\x05early"
        writer.close()


# -- ping / pong ------------------------------------------------------------


async def test_ping_from_either_side_is_answered_with_a_pong() -> None:
    log = Log()
    async with serve(make_app(log)) as srv:
        pongs: list[bytes] = []
        conn = await websocket_connect(ws_url(srv, "/echo/"))
        conn.on_pong = pongs.append  # type: ignore[method-assign]
        conn.ping(b"client-ping")
        await conn.write_message("sync")  # the echo comes after the pong
        assert await conn.read_message() == "sync"
        assert pongs == [b"client-ping"]
        assert ("ping", b"client-ping") in log.events
        log.handlers[0].ping("server-ping")
        await conn.write_message("sync2")
        assert await conn.read_message() == "sync2"
        assert ("pong", b"server-ping") in log.events
        with pytest.raises(ValueError, match="at most 125 bytes"):
            log.handlers[0].ping(b"x" * 126)
        await conn.close()


async def test_keepalive_pings_keep_a_live_client_and_close_a_silent_one() -> None:
    log = Log()
    app = make_app(log, websocket_ping_interval=0.05, websocket_ping_timeout=0.2)
    async with serve(app) as srv:
        live = await websocket_connect(ws_url(srv, "/echo/"))
        _reader, writer = await srv.open()  # handshakes, then never reads or answers
        writer.write(
            b"GET /echo/ HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        await asyncio.wait_for(log.closed.wait(), 5)
        closed = [e for e in log.events if e[0] == "close"]
        assert len(closed) == 1  # only the silent one
        assert ("pong", b"") in log.events  # the live client answered
        await live.write_message("still here")
        assert await live.read_message() == "still here"
        await live.close()
        writer.close()


# -- closing ----------------------------------------------------------------


async def test_client_close_code_and_reason_reach_on_close() -> None:
    log = Log()
    async with serve(make_app(log)) as srv:
        conn = await websocket_connect(ws_url(srv, "/echo/"))
        await conn.close(4001, "client done")
        await asyncio.wait_for(log.closed.wait(), 5)
        assert log.events[-1] == ("close", 4001, "client done")
        assert await conn.read_message() is None
        with pytest.raises(WebSocketClosedError):
            conn.write_message("too late")


async def test_server_close_code_and_reason_reach_the_client() -> None:
    log = Log()
    async with serve(make_app(log)) as srv:
        conn = await websocket_connect(ws_url(srv, "/echo/"))
        await conn.write_message("close-me")
        assert await conn.read_message() is None
        assert (conn.close_code, conn.close_reason) == (4002, "server says bye")
        await asyncio.wait_for(log.closed.wait(), 5)
        with pytest.raises(WebSocketClosedError):
            log.handlers[0].write_message("too late")


async def test_invalid_utf8_in_a_text_frame_closes_with_1007() -> None:
    log = Log()
    async with serve(make_app(log)) as srv, RawClient(srv, "/echo/") as raw:
        raw.send_raw(masked(Opcode.TEXT, b"ok \xff\xfe"))
        code, reason = await raw.close_frame()
        assert code == 1007 and "invalid UTF-8" in reason
        await asyncio.wait_for(log.closed.wait(), 5)
    assert not [e for e in log.events if e[0] == "message"]


async def test_unmasked_client_frame_closes_with_1002() -> None:
    log = Log()
    async with serve(make_app(log)) as srv, RawClient(srv, "/echo/") as raw:
        # RFC 6455 §5.1: a server MUST close on an unmasked client frame.
        raw.send_raw(Frame(Opcode.TEXT, b"naked").serialize(mask=False))
        code, reason = await raw.close_frame()
        assert code == 1002 and "mask" in reason
        await asyncio.wait_for(log.closed.wait(), 5)


async def test_message_over_max_message_size_closes_with_1009() -> None:
    log = Log()
    async with serve(make_app(log, websocket_max_message_size=1024)) as srv:
        conn = await websocket_connect(ws_url(srv, "/echo/"))
        await conn.write_message("x" * 1024)
        assert await conn.read_message() == "x" * 1024
        await conn.write_message("y" * 1025)
        assert await conn.read_message() is None
        assert conn.close_code == 1009
    async with serve(make_app(log, websocket_max_message_size=1024)) as srv, \
            RawClient(srv, "/echo/") as raw:
        # The limit counts the whole message, not each fragment.
        raw.send_raw(masked(Opcode.BINARY, b"a" * 600, fin=False)
                     + masked(Opcode.CONT, b"b" * 600))
        assert (await raw.close_frame())[0] == 1009


async def test_server_drain_closes_websockets_with_1001_without_hanging() -> None:
    log = Log()
    async with serve(make_app(log)) as srv:
        conns = [await websocket_connect(ws_url(srv, "/echo/")) for _ in range(3)]
        state = srv.server.state
        assert len(state.upgraded) == 3 and not state.connections
        srv.server.stop()
        await asyncio.wait_for(srv.server.close_all_connections(timeout=5), 2)
        assert not state.upgraded
        for conn in conns:
            assert await conn.read_message() is None
            assert (conn.close_code, conn.close_reason) == (1001, "server shutting down")


# -- handshake --------------------------------------------------------------


async def test_handshakes_that_are_not_websocket_upgrades_are_refused_clearly() -> None:
    log = Log()
    async with serve(make_app(log)) as srv:
        got = await srv.fetch("/echo/")
        assert (got.code, got.body) == (400, b'Can "Upgrade" only to "WebSocket".')
        got = await srv.fetch("/echo/", headers={"Upgrade": "websocket"})
        assert (got.code, got.body) == (400, b'"Connection" must be "Upgrade".')
        got = await srv.fetch("/echo/", headers={
            "Upgrade": "websocket", "Connection": "Upgrade",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "8"})
        assert got.code == 426 and got.headers["Sec-WebSocket-Version"] == "13"
        got = await srv.fetch("/echo/", headers={
            "Upgrade": "websocket", "Connection": "Upgrade",
            "Sec-WebSocket-Key": "short", "Sec-WebSocket-Version": "13"})
        assert got.code == 400 and b"Sec-WebSocket-Key" in got.body
        got = await srv.fetch("/echo/", method="POST", body="")
        assert got.code == 405 and got.headers["Allow"] == "GET"
    assert not log.events


async def test_refused_upgrade_closes_the_connection_it_cannot_parse_further() -> None:
    async with serve(make_app(Log())) as srv:
        data = await srv.raw(
            b"GET /echo/ HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n"
        )
        assert data.startswith(b"HTTP/1.1 400 ")
        assert b"Connection: close\r\n" in data


async def test_cross_origin_upgrade_is_refused_with_403() -> None:
    log = Log()
    async with serve(make_app(log)) as srv:
        with pytest.raises(HTTPClientError) as caught:
            await websocket_connect(ws_url(srv, "/echo/"),
                                    headers={"Origin": "http://evil.example"})
        assert caught.value.code == 403
        conn = await websocket_connect(
            ws_url(srv, "/echo/"), headers={"Origin": f"http://127.0.0.1:{srv.port}"})
        await conn.write_message("same origin")
        assert await conn.read_message() == "same origin"
        await conn.close()


async def test_subprotocol_is_the_servers_choice_among_those_offered() -> None:
    log = Log()
    async with serve(make_app(log)) as srv:
        conn = await websocket_connect(ws_url(srv, "/chat"), subprotocols=["chat.v1", "chat.v2"])
        assert conn.selected_subprotocol == "chat.v2"
        assert log.handlers[0].selected_subprotocol == "chat.v2"
        await conn.close()
        conn = await websocket_connect(ws_url(srv, "/chat"), subprotocols=["other"])
        assert conn.selected_subprotocol is None
        await conn.close()


# -- compression ------------------------------------------------------------


async def test_permessage_deflate_is_negotiated_and_shrinks_a_compressible_message() -> None:
    log = Log()
    message = "squall websocket compression " * 4000  # ~116 kB, very compressible
    async with serve(make_app(log)) as srv:
        async with RawClient(srv, "/deflate", deflate=True) as raw:
            assert raw.response is not None and raw.response.status_code == 101
            assert raw.response.headers["Sec-WebSocket-Extensions"].startswith(
                "permessage-deflate")
            before = raw.received_bytes
            raw.protocol.send_text(message.encode())
            raw._send_pending()
            frame = await raw.next_frame()
            assert bytes(frame.data).decode() == message
            on_the_wire = raw.received_bytes - before
            assert on_the_wire < len(message) // 20
        async with RawClient(srv, "/echo/", deflate=True) as raw:
            assert raw.response is not None
            assert "Sec-WebSocket-Extensions" not in raw.response.headers
        conn = await websocket_connect(ws_url(srv, "/deflate"), compression_options={})
        assert conn.headers["Sec-WebSocket-Extensions"].startswith("permessage-deflate")
        await conn.write_message(message)
        assert await conn.read_message() == message
        await conn.close()


# -- flow control -----------------------------------------------------------


class FloodHandler(WebSocketHandler):
    def initialize(self, progress: list[int]) -> None:
        self.progress = progress

    async def open(self) -> None:
        chunk = b"z" * 65536
        for i in range(256):  # 16 MiB, far beyond the socket buffers
            await self.write_message(chunk, binary=True)
            self.progress.append(i)
        self.close()


async def test_write_message_waits_while_the_client_is_not_reading() -> None:
    progress: list[int] = []
    app = Application([(r"/flood", FloodHandler, {"progress": progress})])
    async with serve(app) as srv, RawClient(srv, "/flood") as raw:
        await asyncio.sleep(0.3)
        stalled_at = len(progress)
        assert stalled_at < 200, "write_message did not wait for the slow reader"
        total = 0
        while True:
            frame = await raw.next_frame()
            if frame.opcode is Opcode.CLOSE:
                break
            total += len(frame.data)
        assert total == 256 * 65536 and len(progress) == 256


# -- many idle connections ----------------------------------------------------

IDLE_SERVER = """
import asyncio, socket, sys
import uvloop
from squall.http.server import bind_sockets
from squall.httpserver import HTTPServer
from squall.web import Application
from squall.websocket import WebSocketHandler

class Idle(WebSocketHandler):
    def on_message(self, message):
        return self.write_message(message)

async def main():
    sock = bind_sockets(0, "127.0.0.1", family=socket.AF_INET, backlog=4096)[0]
    server = HTTPServer(Application([(r"/ws", Idle)]))
    server.add_sockets([sock])
    await server.wait_started()
    print(sock.getsockname()[1], flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    server.stop()
    await server.close_all_connections(timeout=5)
    print(len(server.state.upgraded), flush=True)

uvloop.run(main())
"""

HANDSHAKE = (
    b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


async def _open_websockets(
    port: int, count: int, into: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]
) -> None:
    async def one() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(HANDSHAKE)
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101 "), head
        into.append((reader, writer))

    for start in range(0, count, 250):
        await asyncio.gather(*(one() for _ in range(min(250, count - start))))


@pytest.mark.loops("uvloop")
async def test_five_thousand_idle_websockets_cost_little_server_memory() -> None:
    import os
    import resource
    import subprocess
    import sys

    total, warmup = 5000, 200
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = 2 * total + 512  # our client sockets; the server is a child with the same limit
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} < {needed}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, needed), hard))
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    server = subprocess.Popen([sys.executable, "-c", IDLE_SERVER], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, env=env)
    clients: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    try:
        assert server.stdout is not None and server.stdin is not None
        port = int(await asyncio.to_thread(server.stdout.readline))
        loop = asyncio.get_running_loop()
        await _open_websockets(port, warmup, clients)  # imports and first-use caches
        await asyncio.sleep(0.2)
        before = _rss_kib(server.pid)
        started = loop.time()
        await _open_websockets(port, total - warmup, clients)
        elapsed = loop.time() - started
        await asyncio.sleep(0.5)
        after = _rss_kib(server.pid)
        per_connection = (after - before) * 1024 / (total - warmup)
        print(f"\n{total} idle WebSockets: server RSS {before} KiB -> {after} KiB, "
              f"{per_connection / 1024:.1f} KiB per connection "
              f"({total - warmup} handshakes in {elapsed:.1f}s)")
        # Every connection is alive: a sample of them still echoes.
        for reader, writer in clients[:: total // 10]:
            writer.write(masked(Opcode.TEXT, b"ping?"))
            assert await asyncio.wait_for(reader.readexactly(7), 5) == b"\x81\x05ping?"
        assert per_connection < 48 * 1024
        # Draining closes them all with 1001 and nothing is left open.
        server.stdin.close()
        for reader, _writer in clients[:: total // 10]:
            frame = await asyncio.wait_for(reader.readexactly(4), 10)
            assert frame[:4] == b"\x88\x16\x03\xe9"  # close, 22 bytes, code 1001
        for _reader, writer in clients:  # the server then sees the TCP close at once
            writer.close()
        left = await asyncio.to_thread(server.stdout.readline)
        assert int(left) == 0
        await asyncio.to_thread(server.wait, 10)
    finally:
        for _reader, writer in clients:
            writer.close()
        if server.poll() is None:
            server.kill()
            server.wait()
        if server.stdout is not None:
            server.stdout.close()
        if server.stdin is not None and not server.stdin.closed:
            server.stdin.close()
