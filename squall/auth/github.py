"""``GitHubOAuth2Mixin``: sign in with GitHub (OAuth 2 with PKCE, user from the REST API)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from squall.auth.oauth2 import OAuth2Mixin


class GitHubOAuth2Mixin(OAuth2Mixin):
    """GitHub sign-in. Settings: ``github_oauth = {"key": client_id, "secret": ...}``.

    The same dict may override ``authorize_url``, ``access_token_url``,
    ``user_url`` and ``api_url`` (for GitHub Enterprise Server or tests).
    :meth:`get_authenticated_user` returns GitHub's ``/user`` object
    (``login``, ``id``, ``name``, ``email``, ``avatar_url``...) with the token
    fields (``access_token``, ``token_type``, ``scope``). See docs/auth.md.
    """

    _OAUTH_PROVIDER: ClassVar[str] = "GitHub"
    _OAUTH_SETTINGS_KEY: ClassVar[str | None] = "github_oauth"
    _OAUTH_AUTHORIZE_URL: ClassVar[str] = "https://github.com/login/oauth/authorize"
    _OAUTH_ACCESS_TOKEN_URL: ClassVar[str] = "https://github.com/login/oauth/access_token"
    _OAUTH_USERINFO_URL: ClassVar[str] = "https://api.github.com/user"
    _OAUTH_API_URL: ClassVar[str] = "https://api.github.com"
    # GitHub no longer accepts access tokens in the query string.
    _OAUTH_BEARER_HEADER: ClassVar[bool] = True

    async def github_request(
        self,
        path: str,
        access_token: str,
        post_args: Mapping[str, Any] | None = None,
        **args: Any,
    ) -> Any:
        """Call the GitHub REST API: ``await self.github_request("/user/repos", token)``."""
        url = self._oauth_endpoint("api_url").rstrip("/") + path
        return await self.oauth2_request(url, access_token=access_token, post_args=post_args,
                                         **args)
