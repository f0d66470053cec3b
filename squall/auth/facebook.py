"""``FacebookGraphMixin``: sign in with Facebook and call the Graph API."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from squall.auth.errors import AuthError
from squall.auth.oauth2 import OAuth2Mixin


class FacebookGraphMixin(OAuth2Mixin):
    """Facebook sign-in. Settings: ``facebook_oauth = {"key": app_id, "secret": ...}``.

    Tornado's ``facebook_api_key``/``facebook_secret`` settings are read too.
    Endpoints may be overridden in the dict (``authorize_url``,
    ``access_token_url``, ``api_url`` -- the Graph API base). The user dict has
    Tornado's shape: the requested fields, ``access_token`` and
    ``session_expires``.
    """

    _OAUTH_PROVIDER: ClassVar[str] = "Facebook"
    _OAUTH_SETTINGS_KEY: ClassVar[str | None] = "facebook_oauth"
    _OAUTH_AUTHORIZE_URL: ClassVar[str] = "https://www.facebook.com/dialog/oauth"
    _OAUTH_ACCESS_TOKEN_URL: ClassVar[str] = "https://graph.facebook.com/oauth/access_token"
    _FACEBOOK_BASE_URL: ClassVar[str] = "https://graph.facebook.com"
    _DEFAULT_FIELDS: ClassVar[tuple[str, ...]] = (
        "id", "name", "first_name", "last_name", "locale", "picture", "link",
    )

    def _oauth_settings(self) -> dict[str, Any]:
        settings = dict(super()._oauth_settings())
        settings.setdefault("key", self.settings.get("facebook_api_key"))
        settings.setdefault("secret", self.settings.get("facebook_secret"))
        return settings

    async def get_authenticated_user(  # type: ignore[override]
        self,
        redirect_uri: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        code: str | None = None,
        extra_fields: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Complete the sign-in; arguments in Tornado's order, all defaulted.

        ``extra_fields`` asks the Graph API for more user fields than the
        defaults (id, name, first_name, last_name, locale, picture, link).
        """
        token = await self._oauth2_complete(redirect_uri, code, client_id, client_secret, None)
        fields = list(dict.fromkeys((*self._DEFAULT_FIELDS, *(extra_fields or ()))))
        access_token = str(token["access_token"])
        user = await self.facebook_request(
            "/me", access_token=access_token, fields=",".join(fields),
            appsecret_proof=self._appsecret_proof(access_token, client_secret),
        )
        if not isinstance(user, dict):
            raise AuthError(self._OAUTH_PROVIDER, "/me did not return a JSON object")
        fieldmap: dict[str, Any] = {field: user.get(field) for field in fields}
        fieldmap["access_token"] = access_token
        expires_in = token.get("expires_in")
        fieldmap["session_expires"] = str(expires_in) if expires_in is not None else None
        return fieldmap

    async def facebook_request(
        self,
        path: str,
        access_token: str | None = None,
        post_args: Mapping[str, Any] | None = None,
        **args: Any,
    ) -> Any:
        """Call the Graph API: ``await self.facebook_request("/me/feed", token, post_args=...)``."""
        base = self._oauth_settings().get("api_url") or self._FACEBOOK_BASE_URL
        return await self.oauth2_request(str(base).rstrip("/") + path,
                                         access_token=access_token, post_args=post_args, **args)

    def _appsecret_proof(self, access_token: str, client_secret: str | None) -> str | None:
        # Graph API "appsecret_proof": HMAC-SHA256 of the token keyed by the app
        # secret, so a leaked token is useless without the secret.
        secret = client_secret or self._oauth_settings().get("secret")
        if not secret:
            return None
        return hmac.new(str(secret).encode(), access_token.encode(), hashlib.sha256).hexdigest()
