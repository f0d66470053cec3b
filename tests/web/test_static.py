"""StaticFileHandler: safe paths, no open redirects, caching, ranges, types, static_url."""

from __future__ import annotations

import email.utils
import os
import pathlib

import pytest

from squall.testing import TestServer, serve
from squall.web import Application, RequestHandler, StaticFileHandler

BIG = bytes(range(256)) * 1024  # 256 KiB: streamed in chunks


@pytest.fixture
def site(tmp_path: pathlib.Path) -> pathlib.Path:
    root = tmp_path / "static"
    root.mkdir()
    (root / "hello.txt").write_text("hello, world\n", encoding="utf-8")
    (root / "app.js").write_text("console.log(1)", encoding="utf-8")
    (root / "data.json").write_text("{}", encoding="utf-8")
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (root / "blob").write_bytes(b"\x00\x01")
    (root / "big.bin").write_bytes(BIG)
    (root / "docs").mkdir()
    (root / "docs" / "index.html").write_text("<h1>docs</h1>", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("top secret", encoding="utf-8")
    os.symlink(tmp_path / "secret.txt", root / "escape.txt")
    os.symlink(root / "hello.txt", root / "inside.txt")
    return root


class UrlHandler(RequestHandler):
    def get(self) -> None:
        self.write(self.static_url(self.get_argument("p"), include_host="h" in self.request.arguments))


def make_app(root: pathlib.Path, **settings: object) -> Application:
    return Application([(r"/url", UrlHandler)], static_path=str(root), **settings)


async def raw_get(srv: TestServer, path: str, extra: str = "") -> tuple[int, dict[str, str], bytes]:
    data = await srv.raw(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{extra}\r\n".encode()
    )
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


async def test_serves_a_file_with_etag_last_modified_and_length(site: pathlib.Path) -> None:
    async with serve(make_app(site)) as srv:
        got = await srv.fetch("/static/hello.txt")
    assert got.code == 200 and got.body == b"hello, world\n"
    assert got.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert got.headers["Content-Length"] == "13"
    assert got.headers["Etag"].startswith('"') and len(got.headers["Etag"]) == 34
    modified = email.utils.parsedate_to_datetime(got.headers["Last-Modified"])
    assert int(modified.timestamp()) == int((site / "hello.txt").stat().st_mtime)
    assert got.headers["Accept-Ranges"] == "bytes"
    assert "Cache-Control" not in got.headers


@pytest.mark.parametrize(("name", "content_type"), [
    ("app.js", "text/javascript; charset=utf-8"),
    ("data.json", "application/json; charset=utf-8"),
    ("logo.png", "image/png"),
    ("blob", "application/octet-stream"),
    ("docs/index.html", "text/html; charset=utf-8"),
])
async def test_content_type_comes_from_the_extension_with_utf8_for_text(
    site: pathlib.Path, name: str, content_type: str
) -> None:
    async with serve(make_app(site)) as srv:
        got = await srv.fetch(f"/static/{name}")
    assert (got.code, got.headers["Content-Type"]) == (200, content_type)


async def test_head_sends_headers_and_length_without_body(site: pathlib.Path) -> None:
    async with serve(make_app(site)) as srv:
        got = await srv.fetch("/static/big.bin", method="HEAD")
    assert got.code == 200 and got.body == b""
    assert got.headers["Content-Length"] == str(len(BIG))


async def test_large_file_is_streamed_intact(site: pathlib.Path) -> None:
    async with serve(make_app(site)) as srv:
        got = await srv.fetch("/static/big.bin")
    assert got.code == 200 and got.body == BIG


async def test_if_none_match_and_if_modified_since_answer_304(site: pathlib.Path) -> None:
    async with serve(make_app(site)) as srv:
        first = await srv.fetch("/static/hello.txt")
        etag, modified = first.headers["Etag"], first.headers["Last-Modified"]
        got = await srv.fetch("/static/hello.txt", headers={"If-None-Match": etag})
        assert (got.code, got.body) == (304, b"")
        assert "Content-Length" not in got.headers or got.headers["Content-Length"] == "0"
        got = await srv.fetch("/static/hello.txt", headers={"If-Modified-Since": modified})
        assert got.code == 304
        got = await srv.fetch("/static/hello.txt", headers={"If-None-Match": '"other"',
                                                             "If-Modified-Since": modified})
        assert got.code == 200  # If-None-Match wins over If-Modified-Since
        got = await srv.fetch("/static/hello.txt",
                              headers={"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"})
        assert got.code == 200


@pytest.mark.parametrize(("range_header", "status", "content_range", "body"), [
    ("bytes=0-4", 206, "bytes 0-4/13", b"hello"),
    ("bytes=7-", 206, "bytes 7-12/13", b"world\n"),
    ("bytes=-6", 206, "bytes 7-12/13", b"world\n"),
    ("bytes=7-100", 206, "bytes 7-12/13", b"world\n"),
    ("bytes=0-0,5-6", 200, None, b"hello, world\n"),  # several ranges: the whole file
    ("bytes=x-y", 200, None, b"hello, world\n"),  # invalid syntax is ignored
    ("items=0-1", 200, None, b"hello, world\n"),
    ("bytes=13-", 416, "bytes */13", b""),
    ("bytes=100-200", 416, "bytes */13", b""),
])
async def test_range_requests(
    site: pathlib.Path, range_header: str, status: int, content_range: str | None, body: bytes
) -> None:
    async with serve(make_app(site)) as srv:
        got = await srv.fetch("/static/hello.txt", headers={"Range": range_header})
    assert got.code == status
    assert got.headers.get("Content-Range") == content_range
    assert got.body == body


async def test_range_of_a_streamed_file_and_stale_if_range(site: pathlib.Path) -> None:
    async with serve(make_app(site)) as srv:
        got = await srv.fetch("/static/big.bin", headers={"Range": "bytes=1000-199999"})
        assert got.code == 206 and got.body == BIG[1000:200000]
        got = await srv.fetch("/static/hello.txt",
                              headers={"Range": "bytes=0-1", "If-Range": '"stale"'})
        assert got.code == 200 and got.body == b"hello, world\n"


@pytest.mark.parametrize(("path", "status"), [
    ("/static/../secret.txt", 403),
    ("/static/%2e%2e/secret.txt", 403),
    ("/static/%2E%2E%2Fsecret.txt", 403),
    ("/static/docs/..%2f..%2fsecret.txt", 403),
    ("/static/docs%2f..%2f..%2fsecret.txt", 403),
    ("/static/..%5csecret.txt", 403),
    ("/static/docs\\..\\..\\secret.txt", 403),
    ("/static//etc/passwd", 403),
    ("/static/%2fetc%2fpasswd", 403),
    ("/static/hello.txt%00.png", 403),
    ("/static/./hello.txt", 403),
    ("/static/docs//index.html", 403),
    ("/static/escape.txt", 403),  # a symlink pointing out of the root
    ("/static/missing.txt", 404),
    ("/static/docs", 403),  # a directory, and no default_filename
])
async def test_path_traversal_attempts_are_refused(
    site: pathlib.Path, path: str, status: int
) -> None:
    async with serve(make_app(site)) as srv:
        got_status, _, body = await raw_get(srv, path)
    assert got_status == status
    assert b"top secret" not in body and b"root:" not in body


async def test_symlink_inside_the_root_is_served(site: pathlib.Path) -> None:
    async with serve(make_app(site)) as srv:
        got = await srv.fetch("/static/inside.txt")
    assert (got.code, got.body) == (200, b"hello, world\n")


def static_app(root: pathlib.Path, prefix: str = "/static/") -> Application:
    return Application(
        [], static_path=str(root), static_url_prefix=prefix,
        static_handler_args={"default_filename": "index.html"},
    )


async def test_default_filename_serves_index_and_redirects_relatively(site: pathlib.Path) -> None:
    async with serve(static_app(site)) as srv:
        status, _, body = await raw_get(srv, "/static/docs/")
        assert (status, body) == (200, b"<h1>docs</h1>")
        status, headers, _ = await raw_get(srv, "/static/docs")
        assert (status, headers["location"]) == (301, "./docs/")
        got = await srv.fetch("/static/docs")  # the client follows it on the same host
        assert (got.code, got.body) == (200, b"<h1>docs</h1>")


@pytest.mark.parametrize("path", [
    "//evil.example",
    "//evil.example/",
    "/static//evil.example",
    "/static//evil.example/",
    "/static/%2fevil.example",
    "/static/%2f%2fevil.example",
    "/static/\\evil.example",
    "/static/%5c%5cevil.example",
])
async def test_no_request_redirects_to_another_host(site: pathlib.Path, path: str) -> None:
    (site / "evil.example").mkdir()
    for prefix in ("/static/", "/"):
        async with serve(static_app(site, prefix)) as srv:
            status, headers, _ = await raw_get(srv, path)
        location = headers.get("location", "")
        assert not location.startswith(("//", "/\\", "\\", "http:", "https:")), (path, location)
        assert status in (403, 404), (path, prefix, status, location)


async def test_static_url_has_a_content_hash_and_versioned_urls_cache_a_year(
    site: pathlib.Path,
) -> None:
    async with serve(make_app(site)) as srv:
        url = (await srv.fetch("/url?p=hello.txt")).body.decode()
        assert url.startswith("/static/hello.txt?v=") and len(url) == len("/static/hello.txt?v=") + 32
        assert (await srv.fetch("/url?p=missing.txt")).body == b"/static/missing.txt"
        absolute = (await srv.fetch("/url?p=hello.txt&h=1")).body.decode()
        assert absolute == f"http://127.0.0.1:{srv.port}{url}"
        got = await srv.fetch(url)
        assert got.headers["Cache-Control"] == "max-age=31536000"
        assert "Expires" in got.headers


async def test_hash_is_cached_unless_static_hash_cache_is_false(site: pathlib.Path) -> None:
    StaticFileHandler.reset()
    settings = {"static_path": str(site)}
    before = StaticFileHandler.make_static_url(settings, "app.js")
    (site / "app.js").write_text("console.log(2)", encoding="utf-8")
    assert StaticFileHandler.make_static_url(settings, "app.js") == before
    uncached = {"static_path": str(site), "static_hash_cache": False}
    assert StaticFileHandler.make_static_url(uncached, "app.js") != before
    assert StaticFileHandler.make_static_url(settings, "app.js", include_version=False) == \
        "/static/app.js"
    StaticFileHandler.reset()


async def test_debug_disables_caching(site: pathlib.Path) -> None:
    async with serve(make_app(site, debug=True, autoreload=False)) as srv:
        url = (await srv.fetch("/url?p=hello.txt")).body.decode()
        got = await srv.fetch(url)
    assert got.headers["Cache-Control"] == "no-cache"


async def test_favicon_and_robots_are_served_from_static_path(site: pathlib.Path) -> None:
    (site / "robots.txt").write_text("User-agent: *\n", encoding="utf-8")
    async with serve(make_app(site)) as srv:
        assert (await srv.fetch("/robots.txt")).body == b"User-agent: *\n"
        assert (await srv.fetch("/favicon.ico")).code == 404


class PrefixHandler(StaticFileHandler):
    @classmethod
    def make_static_url(cls, settings: dict[str, object], path: str,
                        include_version: bool = True) -> str:
        return "/custom/" + path


async def test_static_handler_class_setting_is_used_for_routes_and_urls(
    site: pathlib.Path,
) -> None:
    async with serve(make_app(site, static_handler_class=PrefixHandler)) as srv:
        assert (await srv.fetch("/url?p=a.css")).body == b"/custom/a.css"
        assert (await srv.fetch("/static/hello.txt")).code == 200
