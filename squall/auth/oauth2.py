"""``OAuth2Mixin``: the OAuth 2 authorization-code flow with ``state`` and PKCE.

``authorize_redirect`` sends the browser to the provider and remembers, in a
signed cookie, a random ``state`` and a PKCE ``code_verifier`` (RFC 7636). The
callback's :meth:`~OAuth2Mixin.get_authenticated_user` requires the same
``state`` back (RFC 6749 §10.12, CSRF), consumes the cookie so the state works
once, and proves possession of the verifier when exchanging the code.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import urlencode, urljoin

from authlib.oauth2.rfc7636 import create_s256_code_challenge

from squall.auth.common import AuthMixinBase, describe_error_body, url_concat
from squall.auth.errors import AuthError


class OAuth2Mixin(AuthMixinBase):
    """Sign users in with an OAuth 2 provider (authorization code grant).

    Set ``_OAUTH_AUTHORIZE_URL`` and ``_OAUTH_ACCESS_TOKEN_URL`` (and, to get
    user info back, ``_OAUTH_USERINFO_URL``) on a subclass, or the
    ``authorize_url``/``access_token_url``/``user_url`` entries of the settings
    dict named by ``_OAUTH_SETTINGS_KEY``, which also supplies ``key`` and
    ``secret`` (the client id and secret).
    """

    _OAUTH_PROVIDER: ClassVar[str] = "OAuth 2 provider"
    _OAUTH_AUTHORIZE_URL: ClassVar[str] = ""
    _OAUTH_ACCESS_TOKEN_URL: ClassVar[str] = ""
    _OAUTH_USERINFO_URL: ClassVar[str] = ""
    _OAUTH_API_URL: ClassVar[str] = ""
    _OAUTH_NO_CALLBACKS: ClassVar[bool] = False
    #: The signed cookie carrying state, code_verifier and redirect_uri between the two steps.
    _OAUTH_STATE_COOKIE: ClassVar[str] = "_oauth2_state"
    #: Send a PKCE S256 code_challenge (and later the verifier); True for every built-in provider.
    _OAUTH_PKCE: ClassVar[bool] = True
    #: Send API access tokens as ``Authorization: Bearer`` (RFC 6750) rather than in the query.
    _OAUTH_BEARER_HEADER: ClassVar[bool] = False

    def authorize_redirect(
        self,
        redirect_uri: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        extra_params: Mapping[str, Any] | None = None,
        scope: Sequence[str] | str | None = None,
        response_type: str = "code",
    ) -> None:
        """Redirect to the provider's authorization page; finishes the response.

        ``redirect_uri`` (resolved against the request URL) must be registered
        with the provider and route to a handler calling
        :meth:`get_authenticated_user`. ``client_id`` defaults to the settings'
        ``key``; ``client_secret`` is accepted for Tornado compatibility and
        unused here (it is sent only in the back-channel token request).
        """
        del client_secret  # the authorization request is public (RFC 6749 §4.1.1)
        redirect_uri = urljoin(self.request.full_url(), redirect_uri) if redirect_uri else None
        state = secrets.token_urlsafe(32)
        args: dict[str, Any] = {
            "response_type": response_type,
            "client_id": self._oauth2_client_id(client_id),
            "redirect_uri": redirect_uri,
            "state": state,
        }
        pending = {"state": state}
        if redirect_uri is not None:
            pending["redirect_uri"] = redirect_uri
        if self._OAUTH_PKCE:
            # RFC 7636 §4.1: 43..128 characters from the unreserved set; 64 here.
            verifier = secrets.token_urlsafe(48)
            args["code_challenge"] = create_s256_code_challenge(verifier)
            args["code_challenge_method"] = "S256"
            pending["code_verifier"] = verifier
        if scope is not None:
            args["scope"] = scope if isinstance(scope, str) else " ".join(scope)
        if extra_params:
            args.update(extra_params)
        self._set_pending(self._OAUTH_STATE_COOKIE, pending)
        self.redirect(url_concat(self._oauth_endpoint("authorize_url"), args))

    async def get_authenticated_user(
        self,
        redirect_uri: str | None = None,
        code: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        extra_params: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Complete the sign-in on the callback request; return the user.

        The result is the provider's user info (when a ``user_url`` is known)
        with the token response's fields added: ``access_token`` always, and
        ``token_type``, ``expires_in``, ``refresh_token``, ``scope`` when sent.
        ``redirect_uri`` and ``code`` default to the ones of this sign-in.
        Raises :class:`AuthError` (a 4xx) when the provider reports an error,
        the ``state`` does not match, or the provider's answers are unusable.
        """
        token = await self._oauth2_complete(
            redirect_uri, code, client_id, client_secret, extra_params
        )
        user = await self._oauth2_get_user(token)
        return {**user, **token}

    async def oauth2_request(
        self,
        url: str,
        access_token: str | None = None,
        post_args: Mapping[str, Any] | None = None,
        **args: Any,
    ) -> Any:
        """Call a provider API with ``access_token``; return the decoded JSON.

        ``args`` go into the query; ``post_args`` makes it a form POST. Non-2xx
        answers and malformed JSON raise :class:`AuthError`.
        """
        headers: dict[str, str] = {"Accept": "application/json"}
        if access_token is not None:
            if self._OAUTH_BEARER_HEADER:
                headers["Authorization"] = f"Bearer {access_token}"
            else:
                args["access_token"] = access_token
        url = url_concat(url, args)
        if post_args is not None:
            response = await self._provider_fetch(
                "API request", url, method="POST", body=urlencode(post_args), headers=headers
            )
        else:
            response = await self._provider_fetch("API request", url, headers=headers)
        return self._parse_json("API request", response)

    # -- steps, overridable ---------------------------------------------------

    def _oauth2_client_id(self, client_id: str | None) -> str:
        client_id = client_id or self._oauth_settings().get("key")
        if not client_id:
            raise RuntimeError(
                f"{type(self).__name__} needs a client_id: pass it or set the "
                f"{self._OAUTH_SETTINGS_KEY or '<provider>_oauth'} setting's 'key'"
            )
        return str(client_id)

    def _oauth2_check_callback(self) -> dict[str, str]:
        """Verify the callback belongs to a sign-in this browser started; consume it."""
        provider = self._OAUTH_PROVIDER
        pending = self._take_pending(self._OAUTH_STATE_COOKIE)
        error = self.get_argument("error", None)
        if error is not None:
            # RFC 6749 §4.1.2.1: the provider sends the user back with an error code.
            description = self.get_argument("error_description", None)
            detail = f"{error}: {description}" if description else error
            raise AuthError(provider, f"authorization failed: {detail}",
                            403 if error == "access_denied" else 400)
        if pending is None:
            raise AuthError(provider, "no sign-in in progress: the state cookie is missing, "
                            "expired, forged or already used", 403)
        state = self.get_argument("state", None)
        if state is None or not hmac.compare_digest(state, pending.get("state", "")):
            raise AuthError(provider, "the callback's state does not match the one sent "
                            "(forged or replayed callback)", 403)
        return pending

    async def _oauth2_complete(
        self,
        redirect_uri: str | None,
        code: str | None,
        client_id: str | None,
        client_secret: str | None,
        extra_params: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        """Check the callback and exchange its code for the token response."""
        pending = self._oauth2_check_callback()
        code = code or self.get_argument("code", None)
        if not code:
            raise AuthError(self._OAUTH_PROVIDER, "the callback carries no authorization code")
        settings = self._oauth_settings()
        body: dict[str, Any] = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri or pending.get("redirect_uri"),
            "client_id": self._oauth2_client_id(client_id),
            "client_secret": client_secret or settings.get("secret"),
            "code_verifier": pending.get("code_verifier"),
        }
        if extra_params:
            body.update(extra_params)
        return await self._oauth2_token_request(
            {k: v for k, v in body.items() if v is not None}
        )

    async def _oauth2_token_request(self, body: Mapping[str, Any]) -> dict[str, Any]:
        what = "token request"
        url = self._oauth_endpoint("access_token_url")
        response = await self._provider_fetch(
            what, url, method="POST", body=urlencode(body),
            headers={"Accept": "application/json",
                     "Content-Type": "application/x-www-form-urlencoded"},
        )
        content_type = response.headers.get("Content-Type", "")
        token: Any
        if "application/x-www-form-urlencoded" in content_type or "text/plain" in content_type:
            token = self._parse_form(what, response)  # older GitHub and Facebook answers
        else:
            token = self._parse_json(what, response)
        if not isinstance(token, dict):
            raise AuthError(self._OAUTH_PROVIDER, f"{what}: expected a JSON object, got "
                            f"{type(token).__name__}")
        if "error" in token:
            # GitHub answers 200 with an error object for a bad or reused code.
            raise AuthError(self._OAUTH_PROVIDER, f"{what} refused: "
                            f"{describe_error_body(response.body)}")
        if not token.get("access_token"):
            raise AuthError(self._OAUTH_PROVIDER, f"{what}: the response has no access_token")
        return token

    async def _oauth2_get_user(self, token: Mapping[str, Any]) -> dict[str, Any]:
        """The user info for ``token``; ``{}`` when the provider has no ``user_url``."""
        url = self._oauth_endpoint("user_url", required=False)
        if not url:
            return {}
        user = await self.oauth2_request(url, access_token=str(token["access_token"]))
        if not isinstance(user, dict):
            raise AuthError(self._OAUTH_PROVIDER, f"user info: expected a JSON object, got "
                            f"{type(user).__name__}")
        return user
