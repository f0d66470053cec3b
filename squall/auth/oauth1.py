"""``OAuthMixin``: OAuth 1.0a (RFC 5849) sign-in and signed API calls.

Every request to the provider is signed with HMAC-SHA1 by Authlib's
``ClientAuth`` (an ``Authorization: OAuth ...`` header with nonce, timestamp
and signature). The request token's secret, needed to sign the access-token
request, is kept between the two steps in a signed, short-lived cookie.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlencode, urljoin

from authlib.oauth1 import ClientAuth

from squall.auth.common import AuthMixinBase, url_concat
from squall.auth.errors import AuthError
from squall.httpclient import AsyncHTTPClient, HTTPResponse

_FORM = "application/x-www-form-urlencoded"


class OAuthMixin(AuthMixinBase):
    """Sign users in with an OAuth 1.0a provider.

    Subclasses set ``_OAUTH_REQUEST_TOKEN_URL``, ``_OAUTH_AUTHORIZE_URL`` and
    ``_OAUTH_ACCESS_TOKEN_URL`` (or the settings dict's ``request_token_url``,
    ``authorize_url``, ``access_token_url``), provide the consumer key and
    secret through :meth:`_oauth_consumer_token` (by default the settings'
    ``key`` and ``secret``) and the user through :meth:`_oauth_get_user_future`
    (by default a signed GET of the settings' ``user_url``).
    """

    _OAUTH_PROVIDER: ClassVar[str] = "OAuth 1.0a provider"
    _OAUTH_REQUEST_TOKEN_URL: ClassVar[str] = ""
    _OAUTH_AUTHORIZE_URL: ClassVar[str] = ""
    _OAUTH_ACCESS_TOKEN_URL: ClassVar[str] = ""
    _OAUTH_USERINFO_URL: ClassVar[str] = ""
    _OAUTH_VERSION: ClassVar[str] = "1.0a"
    _OAUTH_NO_CALLBACKS: ClassVar[bool] = False
    #: The signed cookie holding the request token (key and secret) between the steps.
    _OAUTH_REQUEST_TOKEN_COOKIE: ClassVar[str] = "_oauth_request_token"

    async def authorize_redirect(
        self,
        callback_uri: str | None = None,
        extra_params: Mapping[str, Any] | None = None,
        http_client: AsyncHTTPClient | None = None,
    ) -> None:
        """Get a request token and redirect to the provider's authorization page.

        ``callback_uri`` is resolved against the request URL; without one the
        provider is told ``oob`` (RFC 5849 §2.1: "If the client is unable to
        receive callbacks ..., the parameter value MUST be set to 'oob'").
        """
        await self._oauth_redirect(
            self._oauth_endpoint("authorize_url"), callback_uri, extra_params, http_client
        )

    async def get_authenticated_user(
        self, http_client: AsyncHTTPClient | None = None
    ) -> dict[str, Any]:
        """Complete the sign-in on the callback request; return the user.

        The user dict carries ``access_token``: ``{"key": ..., "secret": ...}``
        plus whatever else the provider returned with it. A denied
        authorization, a callback for another request token, a missing
        verifier or an unusable provider answer raise :class:`AuthError`.
        """
        provider = self._OAUTH_PROVIDER
        pending = self._take_pending(self._OAUTH_REQUEST_TOKEN_COOKIE)
        if self.get_argument("denied", None) is not None:
            raise AuthError(provider, "authorization denied by the user", 403)
        if pending is None or "key" not in pending or "secret" not in pending:
            raise AuthError(provider, "no sign-in in progress: the request token cookie is "
                            "missing, expired, forged or already used", 403)
        token = self.get_argument("oauth_token", None)
        if token is None or not hmac.compare_digest(token, pending["key"]):
            raise AuthError(provider, "the callback's oauth_token is not the request token "
                            "this browser was sent with", 403)
        verifier = self.get_argument("oauth_verifier", None)
        if self._OAUTH_VERSION == "1.0a" and not verifier:
            raise AuthError(provider, "the callback carries no oauth_verifier")
        auth = ClientAuth(*self._oauth_consumer_pair(), token=pending["key"],
                          token_secret=pending["secret"], verifier=verifier)
        response = await self._oauth_signed_fetch(
            "access token request", auth, "POST", self._oauth_endpoint("access_token_url"),
            http_client=http_client,
        )
        access_token = self._oauth_parse_token("access token request", response)
        user = await self._oauth_get_user_future(access_token)
        if not user:
            raise AuthError(provider, "the provider returned no user for the access token")
        user["access_token"] = access_token
        return user

    async def oauth_request(
        self,
        url: str,
        access_token: Mapping[str, Any],
        post_args: Mapping[str, Any] | None = None,
        method: str | None = None,
        **args: Any,
    ) -> Any:
        """Call a provider API signed with ``access_token``; return the decoded JSON.

        ``args`` go into the (signed) query; ``post_args`` are sent as a signed
        form body. Non-2xx answers and malformed JSON raise :class:`AuthError`.
        """
        auth = ClientAuth(*self._oauth_consumer_pair(), token=str(access_token["key"]),
                          token_secret=str(access_token["secret"]))
        if method is None:
            method = "POST" if post_args is not None else "GET"
        response = await self._oauth_signed_fetch(
            "API request", auth, method, url_concat(url, args), post_args=post_args
        )
        return self._parse_json("API request", response)

    # -- steps, overridable ---------------------------------------------------

    def _oauth_consumer_token(self) -> dict[str, str]:
        """The consumer (client) key and secret: by default the settings' ``key``/``secret``."""
        settings = self._oauth_settings()
        return {"key": settings.get("key", ""), "secret": settings.get("secret", "")}

    async def _oauth_get_user_future(self, access_token: dict[str, Any]) -> dict[str, Any]:
        """The user for ``access_token``; by default a signed GET of ``user_url``."""
        url = self._oauth_endpoint("user_url", required=False)
        if not url:
            raise NotImplementedError(
                f"{type(self).__name__} must define _oauth_get_user_future() or a user_url"
            )
        user = await self.oauth_request(url, access_token)
        if not isinstance(user, dict):
            raise AuthError(self._OAUTH_PROVIDER, f"user info: expected a JSON object, got "
                            f"{type(user).__name__}")
        return user

    # -- internals ------------------------------------------------------------

    def _oauth_consumer_pair(self) -> tuple[str, str]:
        consumer = self._oauth_consumer_token()
        key, secret = consumer.get("key"), consumer.get("secret")
        if not key or not secret:
            raise RuntimeError(
                f"{type(self).__name__} needs a consumer key and secret: set the "
                f"{self._OAUTH_SETTINGS_KEY or '<provider>_oauth'} setting's 'key' and "
                "'secret' or override _oauth_consumer_token()"
            )
        return str(key), str(secret)

    async def _oauth_redirect(
        self,
        authorize_url: str,
        callback_uri: str | None,
        extra_params: Mapping[str, Any] | None,
        http_client: AsyncHTTPClient | None,
    ) -> None:
        if callback_uri and self._OAUTH_NO_CALLBACKS:
            raise RuntimeError(f"{type(self).__name__} does not support oauth_callback")
        if callback_uri and callback_uri != "oob":
            callback = urljoin(self.request.full_url(), callback_uri)
        else:
            callback = "oob"
        auth = ClientAuth(*self._oauth_consumer_pair(), redirect_uri=callback)
        response = await self._oauth_signed_fetch(
            "request token request", auth, "POST", self._oauth_endpoint("request_token_url"),
            http_client=http_client,
        )
        request_token = self._oauth_parse_token("request token request", response)
        # RFC 5849 §2.1: the server MUST answer oauth_callback_confirmed=true; a
        # server that does not is speaking OAuth 1.0, open to session fixation.
        if self._OAUTH_VERSION == "1.0a" and \
                request_token.get("oauth_callback_confirmed") != "true":
            raise AuthError(self._OAUTH_PROVIDER,
                            "request token response lacks oauth_callback_confirmed=true")
        self._set_pending(self._OAUTH_REQUEST_TOKEN_COOKIE,
                          {"key": request_token["key"], "secret": request_token["secret"]})
        args = {"oauth_token": request_token["key"], **(extra_params or {})}
        self.redirect(url_concat(authorize_url, args))

    async def _oauth_signed_fetch(
        self,
        what: str,
        auth: ClientAuth,
        method: str,
        url: str,
        post_args: Mapping[str, Any] | None = None,
        http_client: AsyncHTTPClient | None = None,
    ) -> HTTPResponse:
        headers: dict[str, str] = {}
        body = ""
        if post_args is not None or method in ("POST", "PUT", "PATCH"):
            headers["Content-Type"] = _FORM
            body = urlencode(post_args or {})
        signed_url, signed_headers, signed_body = auth.prepare(method, url, headers, body)
        if method in ("POST", "PUT", "PATCH"):
            return await self._provider_fetch(what, signed_url, http_client, method=method,
                                              headers=signed_headers, body=signed_body or "")
        return await self._provider_fetch(what, signed_url, http_client, method=method,
                                          headers=signed_headers)

    def _oauth_parse_token(self, what: str, response: HTTPResponse) -> dict[str, Any]:
        fields = self._parse_form(what, response)
        key, secret = fields.pop("oauth_token", None), fields.pop("oauth_token_secret", None)
        if not key or secret is None:
            raise AuthError(self._OAUTH_PROVIDER,
                            f"{what}: the response lacks oauth_token or oauth_token_secret")
        return {"key": key, "secret": secret, **fields}
