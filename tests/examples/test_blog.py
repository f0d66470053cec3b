"""The blog example: its forms, login and escaping over HTTP, then in a real browser."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pytest

from examples.blog.app import create_author, make_app, open_database
from examples.blog.models import MODELS, Entry
from examples.blog.passwords import check_password, hash_password
from squall.httpclient import HTTPResponse
from squall.testing import TestServer, serve
from squall.testing.ports import bind_unused_port
from tests import services

ROOT = Path(__file__).resolve().parents[2]
SECRET = "test-cookie-secret"
XSS = "<script>alert(1)</script>"
TOKEN = re.compile(r'name="_xsrf" value="([^"]+)"')


@asynccontextmanager
async def blog_server(tmp_path: Path, **settings: Any) -> AsyncIterator[TestServer]:
    """The blog on a fresh SQLite file, with authors alice/s3cret and bob/hunter2."""
    db = await open_database(f"sqlite:///{tmp_path / 'blog.db'}")
    try:
        await create_author("alice", "s3cret")
        await create_author("bob", "hunter2")
        async with serve(make_app(SECRET, **settings)) as srv:
            yield srv
    finally:
        for model in MODELS:
            model.bind(None)
        await db.close()


class Visitor:
    """A client that keeps cookies between requests, as a browser does."""

    def __init__(self, srv: TestServer) -> None:
        self.srv = srv
        self.cookies: dict[str, str] = {}

    async def fetch(self, path: str, **kwargs: Any) -> HTTPResponse:
        headers = dict(kwargs.pop("headers", {}))
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = await self.srv.fetch(path, headers=headers, follow_redirects=False, **kwargs)
        for header in response.headers.get_list("Set-Cookie"):
            for name, morsel in SimpleCookie(header).items():
                if morsel.value:
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        return response

    async def form_token(self, path: str) -> str:
        """The ``_xsrf`` value of the form on ``path``, as a browser would submit it."""
        page = await self.fetch(path)
        match = TOKEN.search(page.body.decode())
        if match is None:
            raise AssertionError(f"no _xsrf field on {path}: {page.code} {page.body[:200]!r}")
        return match.group(1)

    async def post(self, path: str, fields: dict[str, str]) -> HTTPResponse:
        return await self.fetch(path, method="POST", body=urllib.parse.urlencode(fields))

    async def sign_in(self, name: str = "alice", password: str = "s3cret") -> HTTPResponse:
        token = await self.form_token("/auth/login")
        return await self.post("/auth/login", {"_xsrf": token, "name": name, "password": password})

    async def publish(self, title: str, body: str) -> HTTPResponse:
        token = await self.form_token("/compose")
        return await self.post("/compose", {"_xsrf": token, "title": title, "body": body})


def test_password_hashes_are_salted_and_checked() -> None:
    first, second = hash_password("s3cret"), hash_password("s3cret")
    assert first != second and first.startswith("scrypt$")
    assert check_password("s3cret", first) and check_password("s3cret", second)
    assert not check_password("s3cret!", first)
    assert not check_password("s3cret", None)
    assert not check_password("s3cret", "md5$nonsense")


async def test_login_with_a_wrong_password_is_refused_and_the_form_shown_again(
        tmp_path: Path) -> None:
    async with blog_server(tmp_path) as srv:
        visitor = Visitor(srv)
        for name, password in (("alice", "wrong"), ("nobody", "s3cret")):
            response = await visitor.sign_in(name, password)
            assert response.code == 403
            assert b"Wrong name or password." in response.body
            assert b'name="password"' in response.body
            assert "blog_user" not in visitor.cookies
        assert (await visitor.fetch("/compose")).code == 302


async def test_compose_redirects_to_the_login_page_then_back(tmp_path: Path) -> None:
    async with blog_server(tmp_path) as srv:
        visitor = Visitor(srv)
        response = await visitor.fetch("/compose")
        assert response.code == 302
        assert response.headers["Location"] == "/auth/login?next=%2Fcompose"
        token = await visitor.form_token(response.headers["Location"])
        signed_in = await visitor.post("/auth/login", {
            "_xsrf": token, "name": "alice", "password": "s3cret", "next": "/compose"})
        assert signed_in.code == 302 and signed_in.headers["Location"] == "/compose"
        page = await visitor.fetch("/compose")
        assert page.code == 200 and b"Sign out alice" in page.body


async def test_posting_an_entry_signed_out_is_forbidden(tmp_path: Path) -> None:
    async with blog_server(tmp_path) as srv:
        visitor = Visitor(srv)
        token = await visitor.form_token("/auth/login")
        response = await visitor.post("/compose", {"_xsrf": token, "title": "t", "body": "b"})
        assert response.code == 403
        assert await Entry.count() == 0


async def test_a_post_without_the_xsrf_token_is_forbidden(tmp_path: Path) -> None:
    async with blog_server(tmp_path) as srv:
        visitor = Visitor(srv)
        assert (await visitor.sign_in()).code == 302
        # A forged form from another site: the browser sends the cookies, but the
        # page cannot read the token out of ours.
        forged = await visitor.post("/compose", {"title": "Forged", "body": "pwned"})
        assert forged.code == 403
        other_session = Visitor(srv)
        wrong_token = await other_session.form_token("/auth/login")
        forged = await visitor.post("/compose", {"_xsrf": wrong_token, "title": "x", "body": "y"})
        assert forged.code == 403
        assert await Entry.count() == 0


async def test_a_post_with_the_form_token_and_cookie_publishes_newest_first(
        tmp_path: Path) -> None:
    async with blog_server(tmp_path) as srv:
        visitor = Visitor(srv)
        await visitor.sign_in()
        first = await visitor.publish("First post", "Hello")
        assert first.code == 302 and re.fullmatch(r"/entry/\d+", first.headers["Location"])
        await visitor.publish("Second post", "Again")
        page = await visitor.fetch(first.headers["Location"])
        assert page.code == 200 and b"First post" in page.body and b"by alice" in page.body
        home = (await visitor.fetch("/")).body.decode()
        assert home.index("Second post") < home.index("First post")
        assert await Entry.count() == 2


async def test_markup_in_an_entry_is_shown_as_text_with_its_line_breaks(tmp_path: Path) -> None:
    async with blog_server(tmp_path) as srv:
        visitor = Visitor(srv)
        await visitor.sign_in()
        created = await visitor.publish(XSS, f"{XSS}\n<b>bold</b> & more\r\n\r\nlast line")
        for path in (created.headers["Location"], "/", "/archive"):
            html = (await visitor.fetch(path)).body.decode()
            assert XSS not in html and "<b>bold" not in html
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        html = (await visitor.fetch(created.headers["Location"])).body.decode()
        assert ('<div class="entry-body">&lt;script&gt;alert(1)&lt;/script&gt;\n'
                "&lt;b&gt;bold&lt;/b&gt; &amp; more\n\nlast line</div>") in html


async def test_authors_edit_only_their_own_entries(tmp_path: Path) -> None:
    async with blog_server(tmp_path) as srv:
        alice, bob = Visitor(srv), Visitor(srv)
        await alice.sign_in()
        await bob.sign_in("bob", "hunter2")
        location = (await alice.publish("Mine", "text")).headers["Location"]
        entry_id = location.rsplit("/", 1)[1]
        assert (await bob.fetch(f"/compose?id={entry_id}")).code == 403
        token = await alice.form_token(f"/compose?id={entry_id}")
        edited = await alice.post("/compose", {"_xsrf": token, "id": entry_id,
                                               "title": "Mine, edited", "body": "text"})
        assert edited.headers["Location"] == location
        assert await Entry.count() == 1
        assert b"Mine, edited" in (await alice.fetch(location)).body


async def test_login_returns_only_to_pages_of_this_site_and_logout_signs_out(
        tmp_path: Path) -> None:
    async with blog_server(tmp_path) as srv:
        visitor = Visitor(srv)
        token = await visitor.form_token("/auth/login")
        response = await visitor.post("/auth/login", {
            "_xsrf": token, "name": "alice", "password": "s3cret", "next": "//evil.example/"})
        assert response.headers["Location"] == "/"
        token = await visitor.form_token("/")
        assert (await visitor.post("/auth/logout", {"_xsrf": token})).code == 302
        assert "blog_user" not in visitor.cookies
        assert (await visitor.fetch("/compose")).code == 302


async def test_github_button_shows_only_when_a_client_id_is_configured(tmp_path: Path) -> None:
    async with blog_server(tmp_path) as srv:
        assert b"Sign in with GitHub" not in (await srv.fetch("/auth/login")).body
    async with blog_server(tmp_path, github_client_id="abc123",
                           github_client_secret="shh") as srv:
        page = (await srv.fetch("/auth/login?next=/compose")).body
        assert b'href="/auth/github?next=/compose"' in page


def wait_for_http(url: str, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            if proc is not None and proc.poll() is not None:
                output = proc.stdout.read() if proc.stdout else b""
                raise AssertionError(f"server exited: {output!r}") from None
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within 10 s")


def test_app_runs_as_a_script_after_create_author(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    db = f"--db=sqlite:///{tmp_path / 'b.db'}"
    script = str(ROOT / "examples/blog/app.py")
    created = subprocess.run([sys.executable, script, "--create-author", "alice", "s3cret", db],
                             env=env, capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    assert "author 'alice' (id 1)" in created.stdout
    assert not (tmp_path / "blog.db").exists()  # the --db after the password was used
    sock, port = bind_unused_port()
    sock.close()
    with subprocess.Popen([sys.executable, script, f"--port={port}", db], env=env, cwd=tmp_path,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as proc:
        try:
            wait_for_http(f"http://127.0.0.1:{port}/", proc)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/auth/login", timeout=5) as page:
                assert page.status == 200
                assert "_xsrf=" in page.headers["Set-Cookie"]
        finally:
            proc.terminate()


# -- in a real browser ----------------------------------------------------------


class ThreadedBlog:
    """The blog served from a thread with its own event loop, for a browser to visit."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self.port = 0
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="blog-server", daemon=True)

    def __enter__(self) -> ThreadedBlog:
        self._thread.start()
        if not self._ready.wait(15) or self.error is not None:
            raise RuntimeError(f"blog server did not start: {self.error!r}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to the test thread by __enter__
            self.error = exc
            self._ready.set()

    async def _main(self) -> None:
        db = await open_database(self.db_url)
        try:
            await create_author("alice", "s3cret")
            async with serve(make_app(SECRET)) as srv:
                self.port = srv.port
                self._loop = asyncio.get_running_loop()
                self._stop = asyncio.Event()
                self._ready.set()
                await self._stop.wait()
        finally:
            for model in MODELS:
                model.bind(None)
            await db.close()


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[Any]:
    services.require("chromium")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = services.find_binary("chromium") or "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'chrome'}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(10)
    try:
        yield driver
    finally:
        driver.quit()


def test_a_browser_signs_in_composes_and_sees_markup_as_text(
        tmp_path: Path, chromium: Any) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    driver = chromium
    wait = WebDriverWait(driver, 10)
    with ThreadedBlog(f"sqlite:///{tmp_path / 'blog.db'}") as blog:
        driver.get(blog.url("/auth/login"))
        driver.find_element(By.NAME, "name").send_keys("alice")
        driver.find_element(By.NAME, "password").send_keys("s3cret")
        driver.find_element(By.CSS_SELECTOR, "form.login button[type=submit]").click()
        wait.until(expected_conditions.text_to_be_present_in_element(
            (By.CSS_SELECTOR, "header.site"), "Sign out alice"))

        driver.get(blog.url("/compose"))
        driver.find_element(By.NAME, "title").send_keys("Markup stays text")
        driver.find_element(By.NAME, "body").send_keys(
            "<b>bold</b> & <script>alert(1)</script>\nsecond line")
        driver.find_element(By.CSS_SELECTOR, "form.compose button[type=submit]").click()
        wait.until(expected_conditions.url_matches(r"/entry/\d+$"))

        body = driver.find_element(By.CSS_SELECTOR, ".entry-body")
        assert "<b>bold</b> & <script>alert(1)</script>" in body.text
        assert body.text.splitlines() == ["<b>bold</b> & <script>alert(1)</script>", "second line"]
        assert body.find_elements(By.CSS_SELECTOR, "b, script") == []
        with pytest.raises(NoAlertPresentException):
            driver.switch_to.alert.text  # noqa: B018 -- the property raises when no alert opened
        assert driver.find_element(By.CSS_SELECTOR, ".entry-title").text == "Markup stays text"

        # blog.css arrived through static_url() and applies.
        assert body.value_of_css_property("white-space") == "pre-wrap"
        header = driver.find_element(By.CSS_SELECTOR, "header.site")
        background = driver.execute_script(
            "return getComputedStyle(arguments[0]).backgroundColor", header)
        assert background == "rgb(34, 51, 68)"
        stylesheet = driver.find_element(By.CSS_SELECTOR, "link[rel=stylesheet]")
        assert re.search(r"/static/blog\.css\?v=[0-9a-f]+$", stylesheet.get_attribute("href") or "")
