"""Third-party sign-in (Tornado's ``tornado.auth``): OAuth 2 and OAuth 1.0a mixins.

Mix one into a :class:`~squall.web.RequestHandler`; the first request redirects
to the provider, the callback request completes the sign-in. OAuth 2 sign-ins
carry a ``state`` bound to a signed cookie and use PKCE; OAuth 1.0a requests are
signed with HMAC-SHA1 through Authlib. Failures raise :class:`AuthError`, an
``HTTPError`` answered with a 4xx. The guide is docs/auth.md.
"""

from __future__ import annotations

from squall.auth.errors import AuthError
from squall.auth.facebook import FacebookGraphMixin
from squall.auth.github import GitHubOAuth2Mixin
from squall.auth.google import GoogleOAuth2Mixin
from squall.auth.oauth1 import OAuthMixin
from squall.auth.oauth2 import OAuth2Mixin
from squall.auth.twitter import TwitterMixin

__all__ = [
    "AuthError",
    "FacebookGraphMixin",
    "GitHubOAuth2Mixin",
    "GoogleOAuth2Mixin",
    "OAuth2Mixin",
    "OAuthMixin",
    "TwitterMixin",
]
