"""What the OAuth 1.0a and OAuth 2 mixins share: settings, provider HTTP, parsing.

The mixins are combined with :class:`~squall.web.RequestHandler`; the handler
methods they call are declared here for the type checker only, with the same
signatures, so ``class H(RequestHandler, GitHubOAuth2Mixin)`` type-checks in
either base order.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from squall.auth.errors import AuthError
from squall.httpclient import AsyncHTTPClient, HTTPClientError, HTTPResponse

if TYPE_CHECKING:
    from squall.http.request import HTTPServerRequest

#: Where a provider's settings dict may override each endpoint class attribute.
ENDPOINT_ATTRIBUTES: Mapping[str, str] = {
    "request_token_url": "_OAUTH_REQUEST_TOKEN_URL",
    "authorize_url": "_OAUTH_AUTHORIZE_URL",
    "authenticate_url": "_OAUTH_AUTHENTICATE_URL",
    "access_token_url": "_OAUTH_ACCESS_TOKEN_URL",
    "user_url": "_OAUTH_USERINFO_URL",
    "api_url": "_OAUTH_API_URL",
}

# A sign-in is expected to finish within minutes; a pending-sign-in cookie older
# than this is refused, which bounds how long a leaked one is worth anything.
PENDING_MAX_AGE_SECONDS = 600


def url_concat(url: str, args: Mapping[str, Any] | None) -> str:
    """``url`` with ``args`` appended to its query (``None`` values skipped)."""
    if not args:
        return url
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query.extend((k, str(v)) for k, v in args.items() if v is not None)
    return urlunsplit(parts._replace(query=urlencode(query)))


def describe_error_body(body: bytes) -> str:
    """A short, log-safe account of what a provider said in an error response."""
    try:
        data = json.loads(body)
    except ValueError:
        text = body[:200].decode("utf-8", "replace").strip()
        return repr(text) if text else "(empty body)"
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict):  # Facebook: {"error": {"message": ..., "type": ...}}
            return str(error.get("message") or error)
        if error:
            description = data.get("error_description")
            return f"{error}: {description}" if description else str(error)
        if data.get("message"):  # GitHub's API errors
            return str(data["message"])
    return repr(body[:200].decode("utf-8", "replace"))


class AuthMixinBase:
    """Provider name, settings lookup and HTTP plumbing for the auth mixins."""

    #: The provider's name in :class:`AuthError` messages.
    _OAUTH_PROVIDER: ClassVar[str] = "OAuth provider"
    #: The application setting holding ``{"key": ..., "secret": ..., "<endpoint>_url": ...}``.
    _OAUTH_SETTINGS_KEY: ClassVar[str | None] = None

    if TYPE_CHECKING:
        request: HTTPServerRequest

        @property
        def settings(self) -> dict[str, Any]: ...

        def get_argument(self, name: str, default: Any = ..., strip: bool = True) -> Any: ...

        def redirect(self, url: str, permanent: bool = False, status: int | None = None) -> None: ...

        def set_signed_cookie(
            self, name: str, value: str | bytes, expires_days: float | None = 30,
            version: int | None = None, **kwargs: Any,
        ) -> None: ...

        def get_signed_cookie(
            self, name: str, value: str | None = None, max_age_days: float = 31,
            min_version: int | None = None,
        ) -> bytes | None: ...

        def clear_cookie(
            self, name: str, path: str = "/", domain: str | None = None, **kwargs: Any
        ) -> None: ...

    def get_auth_http_client(self) -> AsyncHTTPClient:
        """The client used to talk to the provider; override to configure or replace it."""
        return AsyncHTTPClient()

    # -- settings -----------------------------------------------------------

    def _oauth_settings(self) -> dict[str, Any]:
        """The provider's settings dict from the application (empty when unset)."""
        key = self._OAUTH_SETTINGS_KEY
        value = self.settings.get(key) if key else None
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise TypeError(
                f"the {key!r} application setting must be a dict, got {type(value).__name__}"
            )
        return value

    def _oauth_endpoint(self, name: str, required: bool = True) -> str:
        """An endpoint URL: the settings dict's ``name`` entry, else the class attribute."""
        attribute = ENDPOINT_ATTRIBUTES[name]
        url = self._oauth_settings().get(name) or getattr(self, attribute, "")
        if not url and required:
            raise RuntimeError(
                f"{type(self).__name__} has no {name}: set {attribute} or the "
                f"application setting {self._OAUTH_SETTINGS_KEY or '<provider>_oauth'}"
                f"[{name!r}]"
            )
        return str(url)

    # -- pending sign-in cookie ---------------------------------------------

    def _set_pending(self, cookie: str, data: Mapping[str, str]) -> None:
        """Remember a sign-in in progress in a signed, short-lived, HttpOnly cookie."""
        # SameSite=Lax: the provider sends the browser back with a top-level GET,
        # which carries Lax cookies; cross-site subrequests do not.
        self.set_signed_cookie(
            cookie, json.dumps(dict(data), separators=(",", ":")), expires_days=None,
            max_age=PENDING_MAX_AGE_SECONDS, httponly=True, samesite="Lax",
            secure=self.request.protocol == "https",
        )

    def _take_pending(self, cookie: str) -> dict[str, str] | None:
        """The pending sign-in, consumed: the cookie is cleared whatever it held."""
        raw = self.get_signed_cookie(cookie, max_age_days=PENDING_MAX_AGE_SECONDS / 86400)
        self.clear_cookie(cookie)
        if raw is None:
            return None
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            return None
        return data

    # -- talking to the provider --------------------------------------------

    async def _provider_fetch(
        self, what: str, url: str, client: AsyncHTTPClient | None = None, **kwargs: Any
    ) -> HTTPResponse:
        """Fetch from the provider; unreachable or non-2xx becomes an :class:`AuthError`."""
        client = client or self.get_auth_http_client()
        try:
            response = await client.fetch(url, raise_error=False, **kwargs)
        except (OSError, HTTPClientError) as err:
            raise AuthError(
                self._OAUTH_PROVIDER, f"{what} failed: cannot reach {_origin(url)}: {err}", 502
            ) from err
        if not 200 <= response.code < 300:
            raise AuthError(
                self._OAUTH_PROVIDER,
                f"{what} failed: HTTP {response.code} from {_origin(url)}: "
                f"{describe_error_body(response.body)}",
            )
        return response

    def _parse_json(self, what: str, response: HTTPResponse) -> Any:
        try:
            return json.loads(response.body)
        except ValueError:
            raise AuthError(
                self._OAUTH_PROVIDER,
                f"{what}: malformed JSON from {_origin(response.effective_url)}: "
                f"{response.body[:80]!r}",
            ) from None

    def _parse_form(self, what: str, response: HTTPResponse) -> dict[str, str]:
        try:
            pairs = parse_qsl(response.body.decode("utf-8"), keep_blank_values=True,
                              strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            raise AuthError(
                self._OAUTH_PROVIDER,
                f"{what}: malformed form-encoded response: {response.body[:80]!r}",
            ) from None
        return dict(pairs)


def _origin(url: str) -> str:
    """Scheme and host of ``url``: enough to name the peer without logging secrets."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


__all__ = ["AuthMixinBase", "describe_error_body", "url_concat"]
