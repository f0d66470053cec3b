"""Gzip of responses (compress_response) and of request bodies (decompress_request)."""

from __future__ import annotations

import gzip
from urllib.parse import quote

import pytest

from squall.testing import ExpectLog, TestServer, serve
from squall.web import Application, RequestHandler, stream_request_body
from squall.web.compression import accepts_gzip, gunzip_bounded

TEXT = "squall " * 400  # 2800 bytes


class TextHandler(RequestHandler):
    def get(self) -> None:
        kind = self.get_argument("type", "text/html; charset=UTF-8")
        self.set_header("Content-Type", kind)
        if self.get_argument("vary", None):
            self.set_header("Vary", self.get_argument("vary"))
        if self.get_argument("encoded", None):
            self.set_header("Content-Encoding", "br")
        self.write(TEXT[: int(self.get_argument("n", str(len(TEXT))))])

    def head(self) -> None:
        self.set_header("Content-Type", "text/plain")
        self.write(TEXT)


class NoContentHandler(RequestHandler):
    def get(self) -> None:
        self.set_status(204)


class StreamingHandler(RequestHandler):
    async def get(self) -> None:
        self.set_header("Content-Type", "text/plain")
        self.write(TEXT)
        await self.flush()
        self.write(TEXT)


class EchoHandler(RequestHandler):
    def post(self) -> None:
        self.write({"body": self.request.body.decode("latin-1"), "name": self.get_body_argument("name", None),
                    "consumed": self.request.headers.get("X-Consumed-Content-Encoding")})


APP_RULES = [(r"/text", TextHandler), (r"/empty", NoContentHandler), (r"/stream", StreamingHandler),
             (r"/echo", EchoHandler)]


async def raw(srv: TestServer, request: str, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    data = await srv.raw(request.replace("\n", "\r\n").encode() + body)
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, rest


def get(path: str, accept: str | None = "gzip") -> str:
    extra = f"Accept-Encoding: {accept}\n" if accept is not None else ""
    return f"GET {path} HTTP/1.1\nHost: x\nConnection: close\n{extra}\n"


@pytest.mark.parametrize("setting", ["compress_response", "gzip"])
async def test_text_response_is_gzipped_with_length_and_vary(setting: str) -> None:
    async with serve(Application(APP_RULES, **{setting: True})) as srv:
        status, headers, body = await raw(srv, get("/text"))
    assert status == 200
    assert headers["content-encoding"] == "gzip"
    assert headers["content-length"] == str(len(body))
    assert headers["vary"] == "Accept-Encoding"
    assert gzip.decompress(body) == TEXT.encode()
    assert headers["etag"].startswith('W/"')


async def test_http_client_transparently_decodes_compressed_responses() -> None:
    async with serve(Application(APP_RULES, compress_response=True)) as srv:
        got = await srv.fetch("/text")
    assert got.body == TEXT.encode()


@pytest.mark.parametrize("content_type", [
    "text/plain", "application/json", "application/javascript", "text/javascript",
    "application/xml", "image/svg+xml", "application/ld+json",
])
async def test_text_like_types_are_compressed(content_type: str) -> None:
    async with serve(Application(APP_RULES, compress_response=True)) as srv:
        _, headers, _ = await raw(srv, get(f"/text?type={quote(content_type)}"))
    assert headers.get("content-encoding") == "gzip"


@pytest.mark.parametrize(("path", "accept", "vary"), [
    ("/text?type=image/png", "gzip", None),  # not text-like
    ("/text?type=application/octet-stream", "gzip", None),
    ("/text?n=1023", "gzip", "Accept-Encoding"),  # below the threshold
    ("/text", None, "Accept-Encoding"),  # client did not ask
    ("/text", "identity", "Accept-Encoding"),
    ("/text", "gzip;q=0, deflate", "Accept-Encoding"),
    ("/text", "*;q=0", "Accept-Encoding"),
    ("/text?encoded=1", "gzip", None),  # already encoded
])
async def test_responses_left_uncompressed(path: str, accept: str | None, vary: str | None) -> None:
    async with serve(Application(APP_RULES, compress_response=True)) as srv:
        status, headers, body = await raw(srv, get(path, accept))
    assert status == 200
    assert headers.get("content-encoding") != "gzip"
    assert headers.get("vary") == vary
    assert headers["content-length"] == str(len(body))


async def test_existing_vary_is_merged() -> None:
    async with serve(Application(APP_RULES, compress_response=True)) as srv:
        _, headers, _ = await raw(srv, get("/text?vary=Cookie"))
    assert headers["vary"] == "Cookie, Accept-Encoding"


async def test_204_head_and_streamed_responses_are_not_compressed() -> None:
    async with serve(Application(APP_RULES, compress_response=True)) as srv:
        status, headers, body = await raw(srv, get("/empty"))
        assert (status, body) == (204, b"") and "content-encoding" not in headers
        status, headers, body = await raw(
            srv, "HEAD /text HTTP/1.1\nHost: x\nConnection: close\nAccept-Encoding: gzip\n\n")
        assert (status, body) == (200, b"") and "content-encoding" not in headers
        assert headers["content-length"] == str(len(TEXT))
        got = await srv.fetch("/stream", headers={"Accept-Encoding": "gzip"})
        assert got.body == (TEXT * 2).encode() and "Content-Encoding" not in got.headers


async def test_without_the_setting_nothing_is_compressed() -> None:
    async with serve(Application(APP_RULES)) as srv:
        _, headers, _ = await raw(srv, get("/text"))
    assert "content-encoding" not in headers and "vary" not in headers


def test_accept_encoding_parsing_follows_q_values() -> None:
    assert accepts_gzip("gzip") and accepts_gzip("deflate, gzip;q=0.5") and accepts_gzip("*")
    assert accepts_gzip("x-gzip") and accepts_gzip("GZIP ; q=1.0")
    assert not accepts_gzip("") and not accepts_gzip("br") and not accepts_gzip("gzip;q=0")
    assert not accepts_gzip("*, gzip;q=0") and not accepts_gzip("gzip;q=bogus")


def post(body: bytes, encoding: str = "gzip", content_type: str = "text/plain") -> str:
    return (f"POST /echo HTTP/1.1\nHost: x\nConnection: close\nContent-Type: {content_type}\n"
            f"Content-Encoding: {encoding}\nContent-Length: {len(body)}\n\n")


@pytest.mark.parametrize("where", ["application", "server"])
async def test_gzip_request_body_is_decompressed_before_form_parsing(where: str) -> None:
    app = Application(APP_RULES, **({"decompress_request": True} if where == "application" else {}))
    options = {"decompress_request": True} if where == "server" else {}
    body = gzip.compress(b"name=squall&x=1")
    async with serve(app, **options) as srv:
        status, _, out = await raw(srv, post(body, content_type="application/x-www-form-urlencoded"),
                                   body)
    assert status == 200
    assert out == b'{"body": "name=squall&x=1", "name": "squall", "consumed": "gzip"}'


async def test_gzip_request_body_is_left_alone_without_the_option() -> None:
    body = gzip.compress(b"hi")
    async with serve(Application(APP_RULES)) as srv:
        status, _, out = await raw(srv, post(body), body)
    assert status == 200 and b'"consumed": null' in out


async def test_decompression_bomb_is_refused_with_413() -> None:
    bomb = gzip.compress(b"\0" * (4 * 1024 * 1024))  # about 4 KiB on the wire
    assert len(bomb) < 64 * 1024
    async with serve(Application(APP_RULES), decompress_request=True,
                     max_body_size=1024 * 1024) as srv:
        with ExpectLog("squall.general", ".*413", required=False):
            status, _, _ = await raw(srv, post(bomb), bomb)
    assert status == 413


@pytest.mark.parametrize("body", [b"not gzip at all", gzip.compress(b"x" * 100)[:-12]])
async def test_corrupt_or_truncated_gzip_body_is_400(body: bytes) -> None:
    async with serve(Application(APP_RULES, decompress_request=True)) as srv:
        with ExpectLog("squall.general", ".*400", required=False):
            status, _, _ = await raw(srv, post(body), body)
    assert status == 400


def test_gunzip_bounded_handles_multiple_members_and_limits() -> None:
    data = gzip.compress(b"ab") + gzip.compress(b"cd")
    assert gunzip_bounded(data, 4) == b"abcd"
    with pytest.raises(ValueError, match="exceeds 3 bytes"):
        gunzip_bounded(data, 3)


@stream_request_body
class StreamingEcho(RequestHandler):
    def prepare(self) -> None:
        self.received = b""

    def data_received(self, chunk: bytes) -> None:
        self.received += chunk

    def post(self) -> None:
        self.write(self.received)


async def test_streaming_handlers_receive_the_body_as_sent() -> None:
    body = gzip.compress(b"hello")
    app = Application([(r"/echo", StreamingEcho)], decompress_request=True)
    async with serve(app) as srv:
        status, _, out = await raw(srv, post(body), body)
    assert status == 200 and out == body
