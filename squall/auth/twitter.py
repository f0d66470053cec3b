"""``TwitterMixin``: sign in with X (Twitter) over OAuth 1.0a and call its API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from squall.auth.errors import AuthError
from squall.auth.oauth1 import OAuthMixin
from squall.httpclient import AsyncHTTPClient


class TwitterMixin(OAuthMixin):
    """X/Twitter sign-in. Settings: ``twitter_oauth = {"key": ..., "secret": ...}``.

    Tornado's ``twitter_consumer_key``/``twitter_consumer_secret`` settings are
    read too. The dict may override ``request_token_url``, ``authorize_url``,
    ``authenticate_url``, ``access_token_url`` and ``api_url`` (the REST base,
    ``https://api.twitter.com/1.1``). The user is ``verify_credentials``'s
    answer plus ``username`` and ``access_token``.
    """

    _OAUTH_PROVIDER: ClassVar[str] = "Twitter"
    _OAUTH_SETTINGS_KEY: ClassVar[str | None] = "twitter_oauth"
    _OAUTH_REQUEST_TOKEN_URL: ClassVar[str] = "https://api.twitter.com/oauth/request_token"
    _OAUTH_ACCESS_TOKEN_URL: ClassVar[str] = "https://api.twitter.com/oauth/access_token"
    _OAUTH_AUTHORIZE_URL: ClassVar[str] = "https://api.twitter.com/oauth/authorize"
    _OAUTH_AUTHENTICATE_URL: ClassVar[str] = "https://api.twitter.com/oauth/authenticate"
    _OAUTH_API_URL: ClassVar[str] = "https://api.twitter.com/1.1"
    _TWITTER_BASE_URL: ClassVar[str] = "https://api.twitter.com/1.1"

    async def authenticate_redirect(
        self, callback_uri: str | None = None, http_client: AsyncHTTPClient | None = None
    ) -> None:
        """Like :meth:`authorize_redirect`, through "Sign in with Twitter" (no re-prompt)."""
        await self._oauth_redirect(
            self._oauth_endpoint("authenticate_url"), callback_uri, None, http_client
        )

    async def twitter_request(
        self,
        path: str,
        access_token: Mapping[str, Any],
        post_args: Mapping[str, Any] | None = None,
        **args: Any,
    ) -> Any:
        """Call the API: ``await self.twitter_request("/statuses/update", token, post_args=...)``.

        A ``path`` that is not a full URL is appended to ``api_url`` with ``.json``.
        """
        if path.startswith(("http://", "https://")):
            url = path
        else:
            url = self._oauth_endpoint("api_url").rstrip("/") + path + ".json"
        return await self.oauth_request(url, access_token, post_args=post_args, **args)

    def _oauth_consumer_token(self) -> dict[str, str]:
        consumer = super()._oauth_consumer_token()
        return {
            "key": consumer["key"] or self.settings.get("twitter_consumer_key", ""),
            "secret": consumer["secret"] or self.settings.get("twitter_consumer_secret", ""),
        }

    async def _oauth_get_user_future(self, access_token: dict[str, Any]) -> dict[str, Any]:
        user = await self.twitter_request("/account/verify_credentials", access_token)
        if not isinstance(user, dict):
            raise AuthError(self._OAUTH_PROVIDER, "verify_credentials did not return an object")
        if "screen_name" in user:
            user["username"] = user["screen_name"]
        return user
