"""The blog's "sign in with GitHub", against the fake OAuth 2 provider on loopback.

The blog and the provider are both real servers; the visitor carries the
blog's cookies between requests and follows each redirect by hand.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import squall.db
from examples.blog.app import define_options, make_app, open_database
from examples.blog.models import Author, Entry
from squall.httpclient import AsyncHTTPClient, HTTPResponse
from squall.options import OptionParser
from squall.testing import TestServer, serve
from tests.auth.fake_oauth2 import FakeOAuth2Provider
from tests.examples.test_blog import SECRET, Visitor, blog_server

CLIENT_ID, CLIENT_SECRET = "blog-client", "blog-client-secret"
ANN = {"id": 4242, "login": "ann", "name": "Ann Example", "email": "ann@example.com"}


@dataclass
class World:
    provider: FakeOAuth2Provider
    idp: TestServer
    blog: TestServer
    idp_client: AsyncHTTPClient

    async def through_provider(self, url: str) -> str:
        """What GitHub does with the authorize redirect: the callback URL it sends back."""
        assert url.startswith(self.idp.url("/authorize?")), url
        consent = await self.idp_client.fetch(url, follow_redirects=False, raise_error=False)
        assert consent.code == 302, consent.body
        callback: str = consent.headers["Location"]
        return callback

    def blog_path(self, url: str) -> str:
        """The path and query of ``url``, which must be on the blog."""
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}" == self.blog.url(""), url
        return urlunsplit(("", "", parts.path, parts.query, ""))

    async def callback_for(self, visitor: Visitor, next_path: str = "/") -> str:
        """Start a sign-in as ``visitor``; the blog path GitHub's redirect leads back to."""
        start = await visitor.fetch("/auth/github?" + urlencode({"next": next_path}))
        assert start.code == 302, start.body
        return self.blog_path(await self.through_provider(start.headers["Location"]))

    async def sign_in(self, visitor: Visitor, next_path: str = "/") -> HTTPResponse:
        return await visitor.fetch(await self.callback_for(visitor, next_path))


@asynccontextmanager
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """The fake provider, the blog configured to use it, and its registration there."""
    provider = FakeOAuth2Provider(users={"ann": ANN})
    async with serve(provider.app()) as idp:
        endpoints = {"github_authorize_url": idp.url("/authorize"),
                     # GitHub's style: errors as 200 with an error object.
                     "github_access_token_url": idp.url("/token/github-style"),
                     "github_user_url": idp.url("/user")}
        async with blog_server(tmp_path, github_client_id=CLIENT_ID,
                               github_client_secret=CLIENT_SECRET, **endpoints) as blog:
            provider.register(CLIENT_ID, CLIENT_SECRET, blog.url("/auth/github"))
            idp_client = AsyncHTTPClient(force_instance=True)
            try:
                yield World(provider, idp, blog, idp_client)
            finally:
                await idp_client.aclose()
                await AsyncHTTPClient().aclose()  # the blog's client, used for GitHub


def query(url: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}


async def test_signing_in_with_github_creates_a_passwordless_author_who_can_post(
        tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        visitor = Visitor(w.blog)
        to_login = await visitor.fetch("/compose")
        assert to_login.headers["Location"] == "/auth/login?next=%2Fcompose"
        login_page = (await visitor.fetch(to_login.headers["Location"])).body.decode()
        button = re.search(r'<a class="button github" href="([^"]+)"', login_page)
        assert button is not None and button.group(1) == "/auth/github?next=/compose"

        start = await visitor.fetch(button.group(1))
        assert start.code == 302
        authorize = query(start.headers["Location"])
        assert authorize["client_id"] == CLIENT_ID
        assert authorize["redirect_uri"] == w.blog.url("/auth/github")
        assert authorize["code_challenge_method"] == "S256"
        assert "_oauth2_state" in visitor.cookies

        callback = w.blog_path(await w.through_provider(start.headers["Location"]))
        signed_in = await visitor.fetch(callback)
        assert signed_in.code == 302, signed_in.body
        assert signed_in.headers["Location"] == "/compose"
        assert "blog_user" in visitor.cookies
        assert "_oauth2_state" not in visitor.cookies  # the state is used up
        assert w.provider.token_requests[0]["client_secret"] == CLIENT_SECRET
        assert w.provider.refusals == []

        compose = await visitor.fetch("/compose")
        assert compose.code == 200 and b"Sign out gh:ann" in compose.body
        published = await visitor.publish("Hello from GitHub", "Signed in with OAuth.")
        assert published.code == 302, published.body
        entry_page = await visitor.fetch(published.headers["Location"])
        assert b"Hello from GitHub" in entry_page.body and b"by gh:ann" in entry_page.body

        [author] = await Author.find(github_id=4242)
        assert (author.name, author.password_hash) == ("gh:ann", None)
        [entry] = await Entry.find()
        assert entry.author_id == author.id

        # No password opens a GitHub author's account, not even an empty one.
        stranger = Visitor(w.blog)
        for password in ("", "s3cret"):
            assert (await stranger.sign_in("gh:ann", password)).code == 403

        # Signing in again, from another browser, is the same author.
        again = Visitor(w.blog)
        assert (await w.sign_in(again)).headers["Location"] == "/"
        assert await Author.count(github_id=4242) == 1
        assert b"Sign out gh:ann" in (await again.fetch("/")).body


async def test_a_new_github_account_with_a_reused_login_gets_its_own_author(
        tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.sign_in(Visitor(w.blog))
        # ann renamed her account; someone else took the login "ann".
        w.provider.users["ann"] = {"id": 777, "login": "ann"}
        newcomer = Visitor(w.blog)
        assert (await w.sign_in(newcomer)).code == 302
        assert b"Sign out gh:ann#777" in (await newcomer.fetch("/")).body
        assert [a.github_id for a in await Author.find(order_by="id")] == [None, None, 4242, 777]


async def test_after_github_sign_in_the_blog_returns_only_to_its_own_pages(
        tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
            signed_in = await w.sign_in(Visitor(w.blog), target)
            assert signed_in.headers["Location"] == "/", target


async def test_a_denied_sign_in_answers_403_in_the_blog_layout(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        w.provider.deny = True  # the user clicks "Cancel" on GitHub's page
        visitor = Visitor(w.blog)
        callback = await w.callback_for(visitor)
        assert query(callback)["error"] == "access_denied"
        denied = await visitor.fetch(callback)
        assert denied.code == 403
        page = denied.body.decode()
        assert '<header class="site">' in page and "403: Forbidden" in page
        assert "You cancelled signing in with GitHub." in page
        assert "blog_user" not in visitor.cookies
        assert w.provider.token_requests == []
        assert await Author.count(github_id=4242) == 0


async def test_a_callback_with_a_forged_state_answers_403_and_spends_no_code(
        tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        visitor = Visitor(w.blog)
        callback = await w.callback_for(visitor)
        forged = callback.replace(f"state={query(callback)['state']}", "state=forged")
        assert forged != callback
        refused = await visitor.fetch(forged)
        assert refused.code == 403
        assert '<header class="site">' in refused.body.decode()
        assert "blog_user" not in visitor.cookies
        assert w.provider.token_requests == []  # the code never left the blog


async def test_a_replayed_callback_answers_403(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        visitor = Visitor(w.blog)
        callback = await w.callback_for(visitor)
        assert (await visitor.fetch(callback)).code == 302
        assert (await visitor.fetch(callback)).code == 403  # the state cookie is used up
        # Sent to someone else's browser (login CSRF): no state cookie there either.
        victim = Visitor(w.blog)
        refused = await victim.fetch(callback)
        assert refused.code == 403 and "blog_user" not in victim.cookies
        assert len(w.provider.token_requests) == 1


async def test_without_a_client_id_there_is_no_github_route(tmp_path: Path) -> None:
    async with blog_server(tmp_path) as srv:
        assert (await srv.fetch("/auth/github", follow_redirects=False)).code == 404
        assert b"/auth/github" not in (await srv.fetch("/auth/login?next=/compose")).body


def test_the_github_option_group_configures_make_app() -> None:
    parser = OptionParser()
    define_options(parser)
    parser.parse_command_line([
        "app.py", "--github-client-id=abc", "--github-client-secret=shh",
        "--github-authorize-url=http://127.0.0.1:1/authorize",
    ])
    github = parser.group_dict("github")
    assert set(github) == {"github_client_id", "github_client_secret", "github_authorize_url",
                           "github_access_token_url", "github_user_url"}
    app = make_app(SECRET, **github)
    assert app.settings["github_oauth"] == {"key": "abc", "secret": "shh",
                                            "authorize_url": "http://127.0.0.1:1/authorize"}
    assert app.reverse_url("github_login") == "/auth/github"


async def test_an_authors_table_from_before_github_sign_in_gains_the_column(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = await squall.db.connect(url)
    try:
        await old.execute('CREATE TABLE "authors" ("id" INTEGER PRIMARY KEY AUTOINCREMENT, '
                          '"name" VARCHAR(100) NOT NULL UNIQUE, "password_hash" VARCHAR(255), '
                          '"created" TEXT NOT NULL)')
        await old.execute('INSERT INTO "authors" ("name", "created") '
                          "VALUES ('alice', '2024-01-01 00:00:00')")
    finally:
        await old.close()
    db = await open_database(url)
    try:
        [alice] = await Author.find(name="alice")
        assert alice.github_id is None
        await Author.create(name="gh:ann", github_id=4242)
        assert await Author.count(github_id=4242) == 1
        second = await open_database(url)  # a second start leaves the table alone
        try:
            assert await Author.count() == 2
        finally:
            await second.close()
    finally:
        Author.bind(None)
        Entry.bind(None)
        await db.close()
