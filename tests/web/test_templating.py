"""Templates rendered from handlers: namespace, loaders, caching, overrides."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest

from squall.testing import serve
from squall.web import Application, RequestHandler, url


def write(directory: pathlib.Path, name: str, text: str) -> None:
    (directory / name).write_text(text, encoding="utf-8")


class PageHandler(RequestHandler):
    def get(self) -> None:
        self.render("page.html", who=self.get_argument("who", "world"))


class StringHandler(RequestHandler):
    def get_current_user(self) -> Any:
        return "ada"

    def get(self) -> None:
        body = self.render_string("ns.html", item=7)
        self.set_header("Content-Type", "text/plain")
        self.finish(body)


async def test_render_finishes_with_the_template_autoescaped(tmp_path: pathlib.Path) -> None:
    write(tmp_path, "page.html", "<p>Hello {{ who }}</p>")
    app = Application([(r"/", PageHandler)], template_path=str(tmp_path))
    async with serve(app) as srv:
        got = await srv.fetch("/?who=%3Cb%3E")
        assert got.code == 200
        assert got.body == b"<p>Hello &lt;b&gt;</p>"
        assert got.headers["Content-Type"] == "text/html; charset=UTF-8"


async def test_namespace_offers_request_user_urls_xsrf_and_escape_helpers(
    tmp_path: pathlib.Path,
) -> None:
    (tmp_path / "static").mkdir()
    write(tmp_path / "static", "app.css", "body{}")
    names = ["request.path", "current_user", "reverse_url('ns')", "static_url('app.css')",
             "xsrf_form_html()", "escape('<')", "url_escape('a b')", "json_encode([item])",
             "squeeze('a   b')", "linkify('http://x.example')",
             "settings['template_path'] == handler.settings['template_path']"]
    write(tmp_path, "ns.html", "\n".join("{{ " + name + " }}" for name in names))
    app = Application([url(r"/ns", StringHandler, name="ns")], template_path=str(tmp_path),
                      static_path=str(tmp_path / "static"), xsrf_cookies=True)
    async with serve(app) as srv:
        got = await srv.fetch("/ns")
    parts = got.body.decode().split("\n")
    assert parts[:3] == ["/ns", "ada", "/ns"]
    assert parts[3].startswith("/static/app.css?v=")
    assert parts[4].startswith('<input type="hidden" name="_xsrf" value="')
    assert parts[5:10] == ["&lt;", "a+b", "[7]", "a b", '<a href="http://x.example">http://x.example</a>']
    assert parts[10] == "True"


async def test_one_loader_per_template_path_is_cached_on_the_application(
    tmp_path: pathlib.Path,
) -> None:
    write(tmp_path, "page.html", "v1 {{ who }}")
    app = Application([(r"/", PageHandler)], template_path=str(tmp_path))
    async with serve(app) as srv:
        assert (await srv.fetch("/")).body == b"v1 world"
        write(tmp_path, "page.html", "v2 {{ who }}")
        # Without debug the compiled template is kept.
        assert (await srv.fetch("/")).body == b"v1 world"
    assert list(app.template_loaders) == [str(tmp_path)]


async def test_debug_reloads_edited_templates(tmp_path: pathlib.Path) -> None:
    write(tmp_path, "page.html", "v1")
    app = Application([(r"/", PageHandler)], template_path=str(tmp_path), debug=True,
                      autoreload=False)
    async with serve(app) as srv:
        assert (await srv.fetch("/")).body == b"v1"
        write(tmp_path, "page.html", "version two")
        assert (await srv.fetch("/")).body == b"version two"


class OwnPathHandler(RequestHandler):
    def initialize(self, where: str) -> None:
        self.where = where

    def get_template_path(self) -> str | None:
        return self.where

    def get(self) -> None:
        self.render("page.html", who="own")


async def test_get_template_path_override_picks_another_directory(
    tmp_path: pathlib.Path,
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write(tmp_path / "a", "page.html", "A {{ who }}")
    write(tmp_path / "b", "page.html", "B {{ who }}")
    app = Application([(r"/a", PageHandler), (r"/b", OwnPathHandler, {"where": str(tmp_path / "b")})],
                      template_path=str(tmp_path / "a"))
    async with serve(app) as srv:
        assert (await srv.fetch("/a")).body == b"A world"
        assert (await srv.fetch("/b")).body == b"B own"


class FakeLoader:
    def render_bytes(self, name: str, /, **namespace: Any) -> bytes:
        return f"{name}:{namespace['who']}:{namespace['request'].path}".encode()


async def test_template_loader_setting_supplies_a_custom_loader() -> None:
    app = Application([(r"/", PageHandler)], template_loader=FakeLoader())
    async with serve(app) as srv:
        assert (await srv.fetch("/")).body == b"page.html:world:/"


async def test_render_without_template_path_is_a_500_naming_the_setting() -> None:
    from squall.testing import ExpectLog

    async with serve(Application([(r"/", PageHandler)])) as srv:
        with ExpectLog("squall.application", "Uncaught exception"):
            assert (await srv.fetch("/")).code == 500


def test_render_string_error_message_names_the_missing_setting() -> None:
    from squall.http.request import HTTPServerRequest

    app = Application([(r"/", PageHandler)])
    handler = PageHandler(app, HTTPServerRequest(method="GET", uri="/"))
    with pytest.raises(RuntimeError, match="set the 'template_path' setting"):
        handler.render_string("page.html")
