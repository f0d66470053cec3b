"""HTTP/1.1 framing over real sockets: raw bytes in, raw bytes out."""

from __future__ import annotations

import asyncio
import contextlib
import re

from squall.testing import serve
from squall.web import Application, RequestHandler, stream_request_body

HOST = b"Host: t\r\n"


class Recorder:
    """Counts handler runs, so tests can prove a rejected request never ran."""

    def __init__(self) -> None:
        self.calls: list[str] = []


def make_app(recorder: Recorder | None = None) -> Application:
    rec = recorder or Recorder()

    class Echo(RequestHandler):
        def get(self, n: str = "") -> None:
            rec.calls.append("GET " + self.request.uri)
            self.write(f"n={n}")

        def post(self, n: str = "") -> None:
            rec.calls.append("POST " + self.request.uri)
            self.write(self.request.body)

        def head(self, n: str = "") -> None:
            self.set_header("Content-Length", "5")

    class Slow(RequestHandler):
        async def get(self) -> None:
            await asyncio.sleep(float(self.get_argument("s", "0.3")))
            self.write("slow done")

    class Chunked(RequestHandler):
        async def get(self) -> None:
            for part in ("one,", "two,", "three"):
                self.write(part)
                await self.flush()

    return Application([(r"/echo/?([0-9]*)", Echo), (r"/slow", Slow), (r"/chunked", Chunked)])


def responses(data: bytes) -> list[tuple[int, bytes]]:
    """Split a byte stream of Content-Length responses into (status, body)."""
    out = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        match = re.search(rb"(?i)content-length: (\d+)", head)
        length = int(match.group(1)) if match else 0
        out.append((status, rest[:length]))
        data = rest[length:]
    return out


async def test_pipelined_requests_answered_completely_and_in_order() -> None:
    async with serve(make_app()) as srv:
        batch = b"".join(
            b"GET /echo/%d HTTP/1.1\r\n%s\r\n" % (i, HOST) for i in range(100)
        ) + b"GET /echo/100 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        got = responses(await srv.raw(batch))
    assert [body for _, body in got] == [b"n=%d" % i for i in range(101)]
    assert {status for status, _ in got} == {200}


async def test_pipelined_slow_request_does_not_let_later_responses_overtake() -> None:
    async with serve(make_app()) as srv:
        data = (b"GET /slow?s=0.2 HTTP/1.1\r\nHost: t\r\n\r\n"
                b"GET /echo/2 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        got = responses(await srv.raw(data))
    assert [body for _, body in got] == [b"slow done", b"n=2"]


async def test_content_length_with_transfer_encoding_is_400_closed_and_never_handled() -> None:
    rec = Recorder()
    async with serve(make_app(rec)) as srv:
        reply = await srv.raw(
            b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /echo/1 HTTP/1.1\r\nHost: t\r\n\r\n"
        )
    assert reply.startswith(b"HTTP/1.1 400 ")
    assert b"Connection: close" in reply
    assert reply.count(b"HTTP/1.1") == 1  # the smuggled GET was never answered
    assert rec.calls == []


async def test_transfer_encoding_before_content_length_is_also_refused() -> None:
    rec = Recorder()
    async with serve(make_app(rec)) as srv:
        reply = await srv.raw(
            b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
            b"Content-Length: 5\r\n\r\n0\r\n\r\n"
        )
    assert reply.startswith(b"HTTP/1.1 400 ")
    assert rec.calls == []


async def test_duplicate_and_malformed_content_length_are_400() -> None:
    rec = Recorder()
    async with serve(make_app(rec)) as srv:
        for header in (b"Content-Length: 3\r\nContent-Length: 3\r\n",
                       b"Content-Length: 3, 3\r\n",
                       b"Content-Length: +3\r\n",
                       b"Content-Length: 0x3\r\n"):
            reply = await srv.raw(b"POST /echo HTTP/1.1\r\nHost: t\r\n" + header + b"\r\nabc")
            assert reply.startswith(b"HTTP/1.1 400 "), (header, reply)
    assert rec.calls == []


async def test_unknown_transfer_coding_is_400() -> None:
    rec = Recorder()
    async with serve(make_app(rec)) as srv:
        for coding in (b"gzip", b"gzip, chunked", b"chunked, gzip", b"identity"):
            reply = await srv.raw(
                b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: " + coding
                + b"\r\n\r\n0\r\n\r\n"
            )
            assert reply.startswith(b"HTTP/1.1 400 "), (coding, reply)
    assert rec.calls == []


async def test_http11_request_without_host_is_400() -> None:
    async with serve(make_app()) as srv:
        reply = await srv.raw(b"GET /echo HTTP/1.1\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400 ")


async def test_chunked_request_body_is_reassembled() -> None:
    async with serve(make_app()) as srv:
        reply = await srv.raw(
            b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
            b"Connection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        )
    assert responses(reply) == [(200, b"hello world")]


async def test_flushed_response_is_sent_chunked() -> None:
    async with serve(make_app()) as srv:
        reply = await srv.raw(b"GET /chunked HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    head, _, body = reply.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in head
    assert body == b"4\r\none,\r\n4\r\ntwo,\r\n5\r\nthree\r\n0\r\n\r\n"


async def test_http10_gets_no_chunking_and_the_connection_closes() -> None:
    async with serve(make_app()) as srv:
        reply = await srv.raw(b"GET /chunked HTTP/1.0\r\n\r\n")
    head, _, body = reply.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding" not in head
    assert b"Connection: close" in head
    assert body == b"one,two,three"


async def test_http10_keep_alive_is_honoured_with_content_length() -> None:
    async with serve(make_app()) as srv:
        reader, writer = await srv.open()
        writer.write(b"GET /echo/1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        assert b"Connection: keep-alive" in head
        assert await reader.readexactly(3) == b"n=1"
        writer.write(b"GET /echo/2 HTTP/1.0\r\n\r\n")
        rest = await asyncio.wait_for(reader.read(), 5)
        assert rest.endswith(b"n=2")
        writer.close()


async def test_head_response_has_no_body_but_keeps_content_length() -> None:
    async with serve(make_app()) as srv:
        reply = await srv.raw(b"HEAD /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"Content-Length: 5" in head
    assert body == b""


async def test_expect_100_continue_gets_interim_response_before_body() -> None:
    async with serve(make_app()) as srv:
        reader, writer = await srv.open()
        writer.write(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n"
                     b"Expect: 100-continue\r\n\r\n")
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(b"ping")
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 ")
        assert await reader.readexactly(4) == b"ping"
        writer.close()


async def test_oversized_body_is_413_without_reading_it() -> None:
    rec = Recorder()
    async with serve(make_app(rec), max_body_size=1000) as srv:
        reply = await srv.raw(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 413 ")
        chunked = await srv.raw(
            b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"200\r\n" + b"x" * 512 + b"\r\n" + b"200\r\n" + b"x" * 512 + b"\r\n0\r\n\r\n"
        )
        assert chunked.startswith(b"HTTP/1.1 413 ")
    assert rec.calls == []


async def test_oversized_headers_are_431() -> None:
    async with serve(make_app(), max_header_size=2048, max_header_count=10) as srv:
        big = await srv.raw(b"GET /echo HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 4000 + b"\r\n\r\n")
        assert big.startswith(b"HTTP/1.1 431 ")
        many = await srv.raw(b"GET /echo HTTP/1.1\r\nHost: t\r\n"
                             + b"".join(b"X-%d: 1\r\n" % i for i in range(11)) + b"\r\n")
        assert many.startswith(b"HTTP/1.1 431 ")
        long_url = await srv.raw(b"GET /" + b"a" * 3000 + b" HTTP/1.1\r\nHost: t\r\n\r\n")
        assert long_url.startswith(b"HTTP/1.1 431 ")
        # A header block sent in small pieces is counted as a whole.
        reader, writer = await srv.open()
        writer.write(b"GET /echo HTTP/1.1\r\nHost: t\r\n")
        for _ in range(40):
            writer.write(b"X-Pad: " + b"b" * 100 + b"\r\n")
            await writer.drain()
        reply = await asyncio.wait_for(reader.read(), 5)
        assert reply.startswith(b"HTTP/1.1 431 ")
        writer.close()


async def test_malformed_request_line_is_400() -> None:
    async with serve(make_app()) as srv:
        reply = await srv.raw(b"GARBAGE\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400 ")


async def test_slow_header_client_is_dropped_while_others_are_served() -> None:
    async with serve(make_app(), header_timeout=0.5) as srv:
        reader, writer = await srv.open()

        async def trickle() -> None:
            with contextlib.suppress(ConnectionError):
                for byte in b"GET /echo HTTP/1.1\r\nHost: t\r\n":
                    writer.write(bytes([byte]))
                    await writer.drain()
                    await asyncio.sleep(0.1)

        trickler = asyncio.ensure_future(trickle())
        # Others are served normally meanwhile.
        for i in range(3):
            response = await srv.fetch(f"/echo/{i}")
            assert response.code == 200
        reply = await asyncio.wait_for(reader.read(), 5)
        assert reply.startswith(b"HTTP/1.1 408 ")
        assert not trickler.done() or trickler.exception() is None
        trickler.cancel()
        writer.close()


async def test_idle_keep_alive_connection_is_closed_after_timeout() -> None:
    async with serve(make_app(), idle_connection_timeout=0.3) as srv:
        reader, writer = await srv.open()
        writer.write(b"GET /echo/1 HTTP/1.1\r\nHost: t\r\n\r\n")
        await reader.readuntil(b"n=1")
        assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the server
        writer.close()


async def test_body_timeout_drops_a_stalled_upload() -> None:
    async with serve(make_app(), body_timeout=0.3) as srv:
        reader, writer = await srv.open()
        writer.write(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
        reply = await asyncio.wait_for(reader.read(), 5)
        assert reply.startswith(b"HTTP/1.1 408 ")
        writer.close()


async def test_streaming_body_pauses_reading_while_handler_is_busy() -> None:
    received: list[int] = []

    @stream_request_body
    class Upload(RequestHandler):
        async def data_received(self, chunk: bytes) -> None:
            received.append(len(chunk))
            await asyncio.sleep(0.01)

        def post(self) -> None:
            self.write(str(sum(received)))

    total = 4 * 1024 * 1024
    async with serve(Application([(r"/up", Upload)]), read_high_water=64 * 1024) as srv:
        reader, writer = await srv.open()
        writer.write(b"POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % total)
        writer.write(b"x" * total)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        assert head.startswith(b"HTTP/1.1 200 ")
        body = await reader.readexactly(len(str(total)))
        assert body == str(total).encode()
        writer.close()
    assert sum(received) == total


async def test_graceful_stop_lets_in_flight_request_finish_and_refuses_new_connections() -> None:
    async with serve(make_app()) as srv:
        reader, writer = await srv.open()
        writer.write(b"GET /slow?s=0.3 HTTP/1.1\r\nHost: t\r\n\r\n")
        idle_reader, idle_writer = await srv.open()
        await asyncio.sleep(0.05)
        srv.server.stop()
        drain = asyncio.ensure_future(srv.server.close_all_connections(timeout=5))
        await asyncio.sleep(0.05)
        try:
            _, late = await asyncio.open_connection("127.0.0.1", srv.port)
            late.close()
            refused = False
        except ConnectionRefusedError:
            refused = True
        assert refused
        assert await asyncio.wait_for(idle_reader.read(), 5) == b""  # idle closed at once
        reply = await asyncio.wait_for(reader.read(), 5)
        assert reply.startswith(b"HTTP/1.1 200 ")
        assert b"Connection: close" in reply
        assert reply.endswith(b"slow done")
        await drain
        writer.close()
        idle_writer.close()


async def test_thousand_concurrent_keep_alive_clients_are_served() -> None:
    async with serve(make_app()) as srv:
        async def client(i: int) -> int:
            reader, writer = await srv.open()
            ok = 0
            try:
                for j in range(3):
                    writer.write(b"GET /echo/%d HTTP/1.1\r\nHost: t\r\n\r\n" % j)
                    await reader.readuntil(b"\r\n\r\n")
                    if await reader.readexactly(3) == b"n=%d" % j:
                        ok += 1
            finally:
                writer.close()
            return ok

        results = await asyncio.gather(*(client(i) for i in range(1000)))
    assert sum(results) == 3000
