"""``GoogleOAuth2Mixin``: sign in with Google (OAuth 2 with PKCE, user info from Google)."""

from __future__ import annotations

from typing import Any, ClassVar

from squall.auth.oauth2 import OAuth2Mixin


class GoogleOAuth2Mixin(OAuth2Mixin):
    """Google sign-in. Settings: ``google_oauth = {"key": client_id, "secret": ...}``.

    Endpoints may be overridden in the same dict (``authorize_url``,
    ``access_token_url``, ``user_url``). :meth:`get_authenticated_user` returns
    Google's userinfo (``id``, ``email``, ``name``, ``picture``...) with the
    token fields, so Tornado code reading ``user["access_token"]`` keeps working::

        class GoogleLogin(RequestHandler, GoogleOAuth2Mixin):
            async def get(self) -> None:
                if self.get_argument("code", None) or self.get_argument("error", None):
                    user = await self.get_authenticated_user()
                    self.set_signed_cookie("user", user["email"])
                    self.redirect("/")
                else:
                    self.authorize_redirect(redirect_uri="/auth/google",
                                            scope=["openid", "profile", "email"])
    """

    _OAUTH_PROVIDER: ClassVar[str] = "Google"
    _OAUTH_SETTINGS_KEY: ClassVar[str | None] = "google_oauth"
    _OAUTH_AUTHORIZE_URL: ClassVar[str] = "https://accounts.google.com/o/oauth2/v2/auth"
    _OAUTH_ACCESS_TOKEN_URL: ClassVar[str] = "https://oauth2.googleapis.com/token"
    _OAUTH_USERINFO_URL: ClassVar[str] = "https://www.googleapis.com/oauth2/v1/userinfo"
    _OAUTH_BEARER_HEADER: ClassVar[bool] = True

    def get_google_oauth_settings(self) -> dict[str, Any]:
        """The ``google_oauth`` application setting (Tornado's accessor)."""
        return self._oauth_settings()
