"""OAuth 2 sign-in through a real client app and a fake provider, both on loopback."""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from squall.auth import FacebookGraphMixin, GitHubOAuth2Mixin, GoogleOAuth2Mixin, OAuth2Mixin
from squall.httpclient import AsyncHTTPClient
from squall.testing import ExpectLog, TestServer, serve
from squall.web import Application, RequestHandler
from tests.auth.browser import Browser, walk_to_callback
from tests.auth.fake_oauth2 import FakeOAuth2Provider, s256

CLIENT_ID, CLIENT_SECRET = "squall-client", "client-secret-1"
ANN = {"id": "1", "login": "ann", "name": "Ann Example", "email": "ann@example.com",
       "first_name": "Ann", "last_name": "Example", "locale": "en_GB",
       "picture": "https://img.example/ann.png", "link": "https://example.com/ann"}


class SignIn(RequestHandler):
    """The usual two-step handler: no code yet -> redirect, else complete the sign-in."""

    async def get(self) -> None:
        if self.get_argument("code", None) or self.get_argument("error", None):
            user = await self.get_authenticated_user()  # type: ignore[attr-defined]
            self.set_signed_cookie("user", str(user.get("login") or user.get("id") or "?"))
            self.finish({"user": user})
        else:
            self.authorize_redirect(  # type: ignore[attr-defined]
                redirect_uri=self.request.path, scope=["profile", "email"]
            )


class GitHubSignIn(SignIn, GitHubOAuth2Mixin):
    pass


class GoogleSignIn(SignIn, GoogleOAuth2Mixin):
    pass


class FacebookSignIn(SignIn, FacebookGraphMixin):
    pass


class ExampleSignIn(SignIn, OAuth2Mixin):
    _OAUTH_PROVIDER = "Example"
    _OAUTH_SETTINGS_KEY = "example_oauth"


class BareSignIn(SignIn, OAuth2Mixin):
    """The generic mixin with endpoints as class attributes and no user_url."""

    _OAUTH_PROVIDER = "Bare"
    _OAUTH_SETTINGS_KEY = "bare_oauth"  # only key and secret there


class NoPkceSignIn(GitHubSignIn):
    _OAUTH_PKCE = False


class DropVerifierSignIn(GitHubSignIn):
    async def _oauth2_token_request(self, body: Mapping[str, Any]) -> dict[str, Any]:
        body = {k: v for k, v in body.items() if k != "code_verifier"}
        return await super()._oauth2_token_request(body)


class WrongVerifierSignIn(GitHubSignIn):
    async def _oauth2_token_request(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return await super()._oauth2_token_request(
            {**body, "code_verifier": secrets.token_urlsafe(48)}
        )


ROUTES = {
    "/auth/github": GitHubSignIn,
    "/auth/google": GoogleSignIn,
    "/auth/facebook": FacebookSignIn,
    "/auth/example": ExampleSignIn,
    "/auth/bare": BareSignIn,
    "/auth/no-pkce": NoPkceSignIn,
    "/auth/drop-verifier": DropVerifierSignIn,
    "/auth/wrong-verifier": WrongVerifierSignIn,
}


@dataclass
class World:
    provider: FakeOAuth2Provider
    idp: TestServer
    site: TestServer
    browser: Browser


@contextlib.asynccontextmanager
async def world(**example_overrides: str) -> AsyncIterator[World]:
    """The fake provider, a client app registered with it, and a fresh browser."""
    provider = FakeOAuth2Provider(users={"ann": ANN})
    async with serve(provider.app()) as idp:
        endpoints = {
            "key": CLIENT_ID, "secret": CLIENT_SECRET,
            "authorize_url": idp.url("/authorize"), "access_token_url": idp.url("/token"),
            "user_url": idp.url("/user"), "api_url": idp.url(""),
        }
        BareSignIn._OAUTH_AUTHORIZE_URL = idp.url("/authorize")
        BareSignIn._OAUTH_ACCESS_TOKEN_URL = idp.url("/token/form")
        app = Application(
            list(ROUTES.items()),
            cookie_secret="client-cookie-secret",
            github_oauth={**endpoints, "access_token_url": idp.url("/token/github-style")},
            google_oauth=endpoints,
            facebook_oauth=endpoints,
            example_oauth={**endpoints, **{
                k: idp.url(v) if v.startswith("/") else v for k, v in example_overrides.items()
            }},
            bare_oauth={"key": CLIENT_ID, "secret": CLIENT_SECRET},
        )
        async with serve(app) as site:
            provider.register(CLIENT_ID, CLIENT_SECRET, *(site.url(path) for path in ROUTES))
            browser = Browser()
            try:
                yield World(provider, idp, site, browser)
            finally:
                await browser.close()
                await AsyncHTTPClient().aclose()  # the client app's shared client


def query(url: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}


async def to_callback(w: World, path: str) -> str:
    """Start a sign-in and walk through the provider; return the callback URL."""
    return await walk_to_callback(w.browser, w.site.url(path))


# -- complete sign-ins --------------------------------------------------------


async def test_github_sign_in_binds_state_to_a_cookie_and_proves_pkce() -> None:
    async with world() as w:
        response = await w.browser.visit(w.site.url("/auth/github"))
        assert response.code == 200, response.body
        user = json.loads(response.body)["user"]
        assert (user["login"], user["email"]) == ("ann", "ann@example.com")
        assert user["token_type"] == "bearer" and user["access_token"]
        authorize = w.provider.authorize_requests[0]
        assert authorize["client_id"] == CLIENT_ID
        assert authorize["redirect_uri"] == w.site.url("/auth/github")
        assert authorize["scope"] == "profile email"
        assert authorize["code_challenge_method"] == "S256"
        assert "code_verifier" not in authorize
        token_request = w.provider.token_requests[0]
        assert s256(token_request["code_verifier"]) == authorize["code_challenge"]
        assert token_request["redirect_uri"] == authorize["redirect_uri"]
        assert query(w.browser.history[2])["state"] == authorize["state"]
        assert w.provider.api_requests[0]["authorization"] == f"Bearer {user['access_token']}"
        pending = w.browser.set_cookie_headers[0]
        assert pending.startswith("_oauth2_state=")
        assert all(attr in pending for attr in ("HttpOnly", "Max-Age=600", "SameSite=Lax"))
        assert "_oauth2_state" not in w.browser.jar(w.site.url())  # consumed
        assert "user" in w.browser.jar(w.site.url())
        assert w.provider.refusals == []


async def test_google_sign_in_returns_userinfo_with_the_token_fields() -> None:
    async with world() as w:
        response = await w.browser.visit(w.site.url("/auth/google"))
        assert response.code == 200, response.body
        user = json.loads(response.body)["user"]
    assert user["email"] == "ann@example.com"
    assert user["expires_in"] == 3600 and user["access_token"]
    assert "access_token" not in w.provider.api_requests[0]["query"]  # sent as Bearer


async def test_facebook_sign_in_returns_tornados_fieldmap_with_appsecret_proof() -> None:
    async with world() as w:
        response = await w.browser.visit(w.site.url("/auth/facebook"))
        assert response.code == 200, response.body
        user = json.loads(response.body)["user"]
    assert user["name"] == "Ann Example" and user["locale"] == "en_GB"
    assert user["session_expires"] == "3600" and user["access_token"]
    assert "login" not in user and "email" not in user  # only the requested fields
    graph_query = query("?" + w.provider.api_requests[0]["query"])
    assert graph_query["fields"].split(",")[:2] == ["id", "name"]
    assert graph_query["appsecret_proof"]  # checked by the fake Graph API


async def test_generic_mixin_with_settings_endpoints_returns_user_and_token() -> None:
    async with world() as w:
        response = await w.browser.visit(w.site.url("/auth/example"))
        assert response.code == 200, response.body
        user = json.loads(response.body)["user"]
    assert user["login"] == "ann" and user["scope"] == "profile email"
    assert "access_token=" in w.provider.api_requests[0]["query"]  # Tornado's default


async def test_generic_mixin_without_user_url_returns_the_form_encoded_token() -> None:
    async with world() as w:
        response = await w.browser.visit(w.site.url("/auth/bare"))
        assert response.code == 200, response.body
        user = json.loads(response.body)["user"]
    assert set(user) == {"access_token", "token_type", "expires_in", "scope"}
    assert w.provider.api_requests == []


# -- state: CSRF and replay -----------------------------------------------------


async def test_a_replayed_callback_is_refused_because_the_state_was_used() -> None:
    async with world() as w:
        assert (await w.browser.visit(w.site.url("/auth/github"))).code == 200
        with ExpectLog("squall.general", ".*GitHub: no sign-in in progress"):
            replay = await w.browser.get(w.browser.history[2])
    assert replay.code == 403
    assert len(w.provider.token_requests) == 1  # the code was not sent again


async def test_a_replay_with_a_stolen_pending_cookie_is_refused_by_the_provider() -> None:
    async with world() as w:
        callback = await to_callback(w, "/auth/github")
        stolen = dict(w.browser.jar(w.site.url()))
        assert (await w.browser.get(callback)).code == 200
        w.browser.jar(w.site.url()).update(stolen)
        with ExpectLog("squall.general",
                       ".*GitHub: token request refused: invalid_grant: unknown or already used"):
            replay = await w.browser.get(callback)
    assert replay.code == 400


async def test_a_forged_state_is_refused_before_the_code_is_exchanged() -> None:
    async with world() as w:
        callback = await to_callback(w, "/auth/github")
        args = query(callback)
        forged = callback.split("?")[0] + "?" + urlencode({**args, "state": "attacker"})
        with ExpectLog("squall.general", ".*GitHub: the callback's state does not match"):
            response = await w.browser.get(forged)
    assert response.code == 403
    assert w.provider.token_requests == []


async def test_a_callback_in_a_browser_that_did_not_start_the_sign_in_is_refused() -> None:
    async with world() as w:
        callback = await to_callback(w, "/auth/github")  # the attacker's own sign-in
        victim = Browser()
        try:
            with ExpectLog("squall.general", ".*GitHub: no sign-in in progress"):
                response = await victim.get(callback)
        finally:
            await victim.close()
    assert response.code == 403
    assert w.provider.token_requests == []


async def test_a_tampered_state_cookie_is_refused() -> None:
    async with world() as w:
        callback = await to_callback(w, "/auth/github")
        jar = w.browser.jar(w.site.url())
        value = jar["_oauth2_state"]
        jar["_oauth2_state"] = value[:-1] + ("0" if value[-1] != "0" else "1")
        with ExpectLog("squall.general", ".*GitHub: no sign-in in progress"):
            response = await w.browser.get(callback)
    assert response.code == 403


# -- PKCE, enforced by the provider ---------------------------------------------


@pytest.mark.parametrize(("path", "refusal"), [
    ("/auth/drop-verifier", "PKCE: code_verifier missing"),
    ("/auth/wrong-verifier", "PKCE: code_verifier does not match"),
])
async def test_the_provider_refuses_a_missing_or_wrong_pkce_verifier(
    path: str, refusal: str
) -> None:
    async with world() as w:
        with ExpectLog("squall.general", f".*GitHub: token request refused: .*{refusal}"):
            response = await w.browser.visit(w.site.url(path))
    assert response.code == 400
    assert w.provider.refusals == [refusal]


async def test_a_provider_requiring_pkce_refuses_a_client_without_it() -> None:
    async with world() as w:
        with ExpectLog("squall.general",
                       ".*GitHub: authorization failed: invalid_request: PKCE required"):
            response = await w.browser.visit(w.site.url("/auth/no-pkce"))
    assert response.code == 400
    assert "code_challenge" not in w.provider.authorize_requests[0]


# -- provider errors become 4xx AuthErrors --------------------------------------


async def test_access_denied_on_the_callback_is_a_403_naming_the_provider() -> None:
    async with world() as w:
        w.provider.deny = True
        with ExpectLog("squall.general",
                       ".*GitHub: authorization failed: access_denied: The user said no"):
            response = await w.browser.visit(w.site.url("/auth/github"))
    assert response.code == 403
    assert "_oauth2_state" not in w.browser.jar(w.site.url())


@pytest.mark.parametrize(("endpoint", "problem"), [
    ("/token/broken/500", r"token request failed: HTTP 500 from http://127\.0\.0\.1:\d+/token/"
                          r"broken/500: server_error: the provider is on fire"),
    ("/token/broken/503", r"token request failed: HTTP 503 .*on fire"),
    ("/token/garbage", r"token request: malformed JSON from .*/token/garbage"),
])
async def test_token_endpoint_failures_are_400s_naming_provider_and_problem(
    endpoint: str, problem: str
) -> None:
    async with world(access_token_url=endpoint) as w:
        with ExpectLog("squall.general", f".*Example: {problem}"):
            response = await w.browser.visit(w.site.url("/auth/example"))
    assert response.code == 400


async def test_a_wrong_client_secret_is_refused_by_the_provider() -> None:
    async with world(secret="not-the-secret") as w:
        with ExpectLog("squall.general",
                       ".*Example: token request failed: HTTP 401 .*invalid_client"):
            response = await w.browser.visit(w.site.url("/auth/example"))
    assert response.code == 400
    assert w.provider.refusals == ["client authentication failed"]


async def test_an_unreachable_token_endpoint_is_a_502_not_a_crash() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/token"  # bound, not listening
        async with world(access_token_url=dead) as w:
            with ExpectLog("squall.general", ".*Example: token request failed: cannot reach"):
                response = await w.browser.visit(w.site.url("/auth/example"))
    assert response.code == 502


async def test_bad_user_info_credentials_are_a_400_naming_the_provider() -> None:
    async with world() as w:
        w.provider.tokens = _Forgetful()  # tokens issued from now on are never valid
        with ExpectLog("squall.general",
                       ".*GitHub: API request failed: HTTP 401 .*Bad credentials"):
            response = await w.browser.visit(w.site.url("/auth/github"))
    assert response.code == 400


class _Forgetful(dict[str, str]):
    """A token store that forgets every token it is given."""

    def __setitem__(self, key: str, value: str) -> None:
        pass


# -- the fake provider checks what a real one checks ----------------------------


async def test_the_fake_provider_will_not_redirect_to_an_unregistered_uri() -> None:
    async with world() as w:
        base = {"response_type": "code", "client_id": CLIENT_ID, "state": "s",
                "code_challenge": s256("v" * 43), "code_challenge_method": "S256"}
        evil = await w.browser.get(w.idp.url("/authorize?" + urlencode(
            {**base, "redirect_uri": "http://evil.example/cb"})))
        stranger = await w.browser.get(w.idp.url("/authorize?" + urlencode(
            {**base, "client_id": "stranger", "redirect_uri": w.site.url("/auth/github")})))
    assert (evil.code, stranger.code) == (400, 400)
    assert w.provider.codes == {}
