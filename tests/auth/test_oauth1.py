"""OAuth 1.0a sign-in through a real client app and a fake provider, both on loopback."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from authlib.oauth1 import ClientAuth

from squall.auth import OAuthMixin, TwitterMixin
from squall.httpclient import AsyncHTTPClient
from squall.testing import ExpectLog, TestServer, serve
from squall.web import Application, RequestHandler
from tests.auth.browser import Browser, walk_to_callback
from tests.auth.fake_oauth1 import FakeOAuth1Provider

CONSUMER_KEY, CONSUMER_SECRET = "squall-consumer", "consumer-secret-1"
ANN = {"id": 7, "screen_name": "ann", "name": "Ann Example"}


class TwitterSignIn(RequestHandler, TwitterMixin):
    async def get(self) -> None:
        if self.get_argument("oauth_token", None) or self.get_argument("denied", None):
            user = await self.get_authenticated_user()
            tweet = await self.twitter_request(
                "/statuses/update", user["access_token"],
                post_args={"status": "Hello from squall & friends: caf\u00e9 100%"},
            )
            self.finish({"user": user, "tweet": tweet})
        elif self.get_argument("authenticate", None):
            await self.authenticate_redirect(callback_uri=self.request.path)
        else:
            await self.authorize_redirect(callback_uri=self.request.path)


class ExampleSignIn(RequestHandler, OAuthMixin):
    """The generic mixin: endpoints and consumer from the ``example_oauth`` setting."""

    _OAUTH_PROVIDER = "Example"
    _OAUTH_SETTINGS_KEY = "example_oauth"

    async def get(self) -> None:
        if self.get_argument("oauth_token", None):
            self.finish({"user": await self.get_authenticated_user()})
        else:
            await self.authorize_redirect(callback_uri="/auth/example",
                                          extra_params={"x_hint": "ann"})


@dataclass
class World:
    provider: FakeOAuth1Provider
    idp: TestServer
    site: TestServer
    browser: Browser


@contextlib.asynccontextmanager
async def world(consumer_secret: str = CONSUMER_SECRET) -> AsyncIterator[World]:
    provider = FakeOAuth1Provider(consumers={CONSUMER_KEY: CONSUMER_SECRET}, users={"ann": ANN})
    async with serve(provider.app()) as idp:
        endpoints = {
            "key": CONSUMER_KEY, "secret": consumer_secret,
            "request_token_url": idp.url("/oauth/request_token"),
            "authorize_url": idp.url("/oauth/authorize"),
            "authenticate_url": idp.url("/oauth/authenticate"),
            "access_token_url": idp.url("/oauth/access_token"),
        }
        app = Application(
            [(r"/auth/twitter", TwitterSignIn), (r"/auth/example", ExampleSignIn)],
            cookie_secret="client-cookie-secret",
            twitter_oauth={**endpoints, "api_url": idp.url("/1.1")},
            example_oauth={**endpoints, "user_url": idp.url("/user")},
        )
        async with serve(app) as site:
            browser = Browser()
            try:
                yield World(provider, idp, site, browser)
            finally:
                await browser.close()
                await AsyncHTTPClient().aclose()


async def to_callback(w: World, path: str) -> str:
    """Start a sign-in and walk through the provider; return the callback URL."""
    return await walk_to_callback(w.browser, w.site.url(path))


# -- complete sign-ins --------------------------------------------------------


async def test_twitter_sign_in_signs_every_request_with_the_right_token_secret() -> None:
    async with world() as w:
        response = await w.browser.visit(w.site.url("/auth/twitter"))
        assert response.code == 200, response.body
        answer = json.loads(response.body)
        user, tweet = answer["user"], answer["tweet"]
        assert (user["username"], user["name"]) == ("ann", "Ann Example")
        access = user["access_token"]
        assert access["key"] in w.provider.access_tokens
        assert access["secret"] == w.provider.access_tokens[access["key"]].secret
        assert (access["user_id"], access["screen_name"]) == ("7", "ann")
        paths = [path for path, _, _ in w.provider.verified]
        assert paths == ["/oauth/request_token", "/oauth/access_token",
                         "/1.1/account/verify_credentials.json", "/1.1/statuses/update.json"]
        assert {consumer for _, consumer, _ in w.provider.verified} == {CONSUMER_KEY}
        assert [token for _, _, token in w.provider.verified][2:] == [access["key"]] * 2
        assert tweet["text"] == "Hello from squall & friends: caf\u00e9 100%"  # body was signed
        assert w.browser.set_cookie_headers[0].startswith("_oauth_request_token=")
        assert "HttpOnly" in w.browser.set_cookie_headers[0]
        assert "_oauth_request_token" not in w.browser.jar(w.site.url())
        assert w.provider.request_tokens == {}  # the request token was spent
        assert w.provider.refusals == []


async def test_twitter_authenticate_redirect_goes_through_the_authenticate_page() -> None:
    async with world() as w:
        start = await w.browser.get(w.site.url("/auth/twitter?authenticate=1"))
        assert start.headers["Location"].startswith(w.idp.url("/oauth/authenticate?oauth_token="))
        response = await w.browser.visit(start.headers["Location"])
    assert response.code == 200, response.body


async def test_generic_oauth_mixin_signs_in_with_settings_and_user_url() -> None:
    async with world() as w:
        start = await w.browser.get(w.site.url("/auth/example"))
        assert "x_hint=ann" in start.headers["Location"]
        response = await w.browser.visit(start.headers["Location"])
        assert response.code == 200, response.body
    user = json.loads(response.body)["user"]
    assert user["screen_name"] == "ann" and set(user["access_token"]) >= {"key", "secret"}
    assert [p for p, _, _ in w.provider.verified][-1] == "/user"


# -- signatures, enforced by the provider ----------------------------------------


async def test_a_wrong_consumer_secret_fails_the_signature_check() -> None:
    async with world(consumer_secret="not-the-secret") as w:
        with ExpectLog("squall.general",
                       ".*Twitter: request token request failed: HTTP 401 from"):
            response = await w.browser.visit(w.site.url("/auth/twitter"))
    assert response.code == 400
    assert w.provider.refusals == ["invalid signature"]


def signed(url: str, method: str = "POST", body: str = "", **auth: Any) -> tuple[str, dict[str, str], str]:
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
    client = ClientAuth(CONSUMER_KEY, CONSUMER_SECRET, **auth)
    uri, signed_headers, signed_body = client.prepare(method, url, headers, body)
    return uri, signed_headers, signed_body


@pytest.mark.parametrize("tamper", ["signature", "parameter", "body", "nonce-replay"])
async def test_a_tampered_or_replayed_signed_request_is_refused(tamper: str) -> None:
    async with world() as w, AsyncHTTPClient(force_instance=True) as client:
        # A valid access token first, through a complete sign-in.
        response = await w.browser.visit(w.site.url("/auth/twitter"))
        access = json.loads(response.body)["user"]["access_token"]
        url = w.idp.url("/1.1/statuses/update.json")
        body = urlencode({"status": "original"})
        uri, headers, sent = signed(url, body=body, token=access["key"],
                                    token_secret=access["secret"])
        if tamper == "signature":
            headers["Authorization"] = headers["Authorization"].replace(
                'oauth_signature="', 'oauth_signature="A', 1)
        elif tamper == "parameter":
            headers["Authorization"] = headers["Authorization"].replace(
                'oauth_nonce="', 'oauth_nonce="x', 1)
        elif tamper == "body":
            sent = urlencode({"status": "tampered"})
        else:
            first = await client.fetch(uri, method="POST", headers=headers, body=sent)
            assert first.code == 200
        refused = await client.fetch(uri, method="POST", headers=headers, body=sent,
                                     raise_error=False)
    assert refused.code == 401
    expected = "replayed nonce" if tamper == "nonce-replay" else "invalid signature"
    assert w.provider.refusals == [expected]
    assert [p["status"] for p in w.provider.posted] == (
        ["Hello from squall & friends: caf\u00e9 100%"] + (["original"] if tamper ==
                                                            "nonce-replay" else []))


async def test_an_access_token_request_without_the_token_secret_is_refused() -> None:
    async with world() as w, AsyncHTTPClient(force_instance=True) as client:
        callback = await to_callback(w, "/auth/twitter")
        args = dict(pair.split("=", 1) for pair in callback.split("?", 1)[1].split("&"))
        uri, headers, body = signed(w.idp.url("/oauth/access_token"), token=args["oauth_token"],
                                    verifier=args["oauth_verifier"])  # no token_secret
        refused = await client.fetch(uri, method="POST", headers=headers, body=body or "",
                                     raise_error=False)
    assert refused.code == 401
    assert w.provider.refusals == ["invalid signature"]


# -- the callback -----------------------------------------------------------------


async def test_a_replayed_callback_is_refused() -> None:
    async with world() as w:
        assert (await w.browser.visit(w.site.url("/auth/twitter"))).code == 200
        callback = w.browser.history[2]
        with ExpectLog("squall.general", ".*Twitter: no sign-in in progress"):
            replay = await w.browser.get(callback)
    assert replay.code == 403


async def test_a_callback_for_another_request_token_is_refused() -> None:
    async with world() as w:
        callback = await to_callback(w, "/auth/twitter")
        other = callback.replace("oauth_token=", "oauth_token=someone-else", 1)
        with ExpectLog("squall.general", ".*Twitter: the callback's oauth_token is not"):
            response = await w.browser.get(other)
    assert response.code == 403
    assert [p for p, _, _ in w.provider.verified] == ["/oauth/request_token"]


async def test_a_callback_without_a_verifier_is_a_400() -> None:
    async with world() as w:
        callback = await to_callback(w, "/auth/twitter")
        stripped = callback.split("&oauth_verifier=")[0]
        with ExpectLog("squall.general", ".*Twitter: the callback carries no oauth_verifier"):
            response = await w.browser.get(stripped)
    assert response.code == 400


async def test_a_denied_authorization_is_a_403_naming_the_provider() -> None:
    async with world() as w:
        w.provider.deny = True
        with ExpectLog("squall.general", ".*Twitter: authorization denied by the user"):
            response = await w.browser.visit(w.site.url("/auth/twitter"))
    assert response.code == 403
    assert "_oauth_request_token" not in w.browser.jar(w.site.url())


async def test_a_tampered_request_token_cookie_is_refused() -> None:
    async with world() as w:
        callback = await to_callback(w, "/auth/twitter")
        jar = w.browser.jar(w.site.url())
        value = jar["_oauth_request_token"]
        jar["_oauth_request_token"] = value[:-1] + ("0" if value[-1] != "0" else "1")
        with ExpectLog("squall.general", ".*Twitter: no sign-in in progress"):
            response = await w.browser.get(callback)
    assert response.code == 403
