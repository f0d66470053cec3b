"""A fake OAuth 2 provider: a real squall app that checks what a real provider checks.

It knows registered clients (id, secret, redirect URIs), issues single-use
authorization codes bound to the client, the redirect URI and the PKCE
challenge, and verifies ``BASE64URL(SHA256(code_verifier)) == code_challenge``
itself (RFC 7636 §4.6) rather than through the library under test. Every
refusal is recorded in ``refusals`` so tests can say why a sign-in failed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from squall.web import Application, RequestHandler

# RFC 7636 §4.1: code_verifier = 43*128unreserved
VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


@dataclass
class Client:
    secret: str
    redirect_uris: set[str]


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str | None
    scope: str
    user: str


@dataclass
class FakeOAuth2Provider:
    """The provider's state; ``app()`` serves it."""

    clients: dict[str, Client] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    require_pkce: bool = True
    deny: bool = False  # the user clicks "Cancel" on the consent page
    codes: dict[str, Grant] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # access token -> user
    refusals: list[str] = field(default_factory=list)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    api_requests: list[dict[str, str]] = field(default_factory=list)
    signed_in_as: str = "ann"

    def register(self, client_id: str, secret: str, *redirect_uris: str) -> None:
        self.clients[client_id] = Client(secret, set(redirect_uris))

    def app(self) -> Application:
        return Application([
            (r"/authorize", AuthorizeHandler, {"provider": self}),
            (r"/token", TokenHandler, {"provider": self}),
            (r"/token/github-style", TokenHandler, {"provider": self, "style": "github"}),
            (r"/token/form", TokenHandler, {"provider": self, "style": "form"}),
            (r"/token/broken/(\d+)", BrokenHandler),
            (r"/token/garbage", GarbageHandler),
            (r"/user", UserHandler, {"provider": self}),
            (r"/me", GraphMeHandler, {"provider": self}),
        ])


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class ProviderHandler(RequestHandler):
    def initialize(self, provider: FakeOAuth2Provider, style: str = "json") -> None:
        self.provider = provider
        self.style = style

    def arguments(self) -> dict[str, str]:
        return {name: self.get_argument(name) for name in self.request.arguments}

    def refuse(self, status: int, error: str, why: str) -> None:
        """Answer an RFC 6749 §5.2 error object and remember why."""
        self.provider.refusals.append(why)
        self.set_status(200 if self.style == "github" else status)
        self.finish({"error": error, "error_description": why})


class AuthorizeHandler(ProviderHandler):
    def get(self) -> None:
        args = self.arguments()
        self.provider.authorize_requests.append(args)
        client = self.provider.clients.get(args.get("client_id", ""))
        redirect_uri = args.get("redirect_uri", "")
        # RFC 6749 §4.1.2.1: with an unknown client or redirect URI the provider
        # MUST NOT redirect; it tells the user instead.
        if client is None:
            self.provider.refusals.append("unknown client_id")
            raise_page(self, "unknown client")
            return
        if redirect_uri not in client.redirect_uris:
            self.provider.refusals.append(f"unregistered redirect_uri {redirect_uri}")
            raise_page(self, "redirect_uri mismatch")
            return
        state = args.get("state")
        back: dict[str, str] = {} if state is None else {"state": state}
        challenge = args.get("code_challenge")
        if args.get("response_type") != "code":
            back["error"] = "unsupported_response_type"
        elif challenge is None and self.provider.require_pkce:
            back.update(error="invalid_request", error_description="PKCE required")
        elif challenge is not None and args.get("code_challenge_method") != "S256":
            back.update(error="invalid_request", error_description="only S256 is allowed")
        elif self.provider.deny:
            back.update(error="access_denied", error_description="The user said no")
        else:
            code = secrets.token_urlsafe(16)
            self.provider.codes[code] = Grant(
                args["client_id"], redirect_uri, challenge, args.get("scope", ""),
                self.provider.signed_in_as,
            )
            back["code"] = code
        self.redirect(redirect_uri + "?" + urlencode(back))


def raise_page(handler: RequestHandler, message: str) -> None:
    handler.set_status(400)
    handler.finish(f"<p>OAuth error: {message}</p>")


class TokenHandler(ProviderHandler):
    def post(self) -> None:
        args = self.arguments()
        self.provider.token_requests.append(args)
        client = self.provider.clients.get(args.get("client_id", ""))
        if client is None or not hmac.compare_digest(
            args.get("client_secret", ""), client.secret
        ):
            self.refuse(401, "invalid_client", "client authentication failed")
            return
        if args.get("grant_type") != "authorization_code":
            self.refuse(400, "unsupported_grant_type", "grant_type must be authorization_code")
            return
        # RFC 6749 §4.1.2: a code is single-use.
        grant = self.provider.codes.pop(args.get("code", ""), None)
        if grant is None:
            self.refuse(400, "invalid_grant", "unknown or already used code")
            return
        if grant.client_id != args["client_id"]:
            self.refuse(400, "invalid_grant", "code issued to another client")
            return
        if args.get("redirect_uri") != grant.redirect_uri:
            self.refuse(400, "invalid_grant", "redirect_uri differs from the authorize request")
            return
        if grant.challenge is not None:
            verifier = args.get("code_verifier")
            if verifier is None:
                self.refuse(400, "invalid_grant", "PKCE: code_verifier missing")
                return
            if not VERIFIER.match(verifier) or not hmac.compare_digest(
                s256(verifier), grant.challenge
            ):
                self.refuse(400, "invalid_grant", "PKCE: code_verifier does not match")
                return
        token = secrets.token_urlsafe(16)
        self.provider.tokens[token] = grant.user
        answer = {"access_token": token, "token_type": "bearer", "expires_in": 3600,
                  "scope": grant.scope}
        if self.style == "form":
            self.set_header("Content-Type", "application/x-www-form-urlencoded")
            self.finish(urlencode(answer))
        else:
            self.finish(answer)


class BrokenHandler(RequestHandler):
    def post(self, status: str) -> None:
        self.set_status(int(status))
        self.finish({"error": "server_error", "error_description": "the provider is on fire"})


class GarbageHandler(BrokenHandler):
    def post(self) -> None:  # type: ignore[override]
        self.set_header("Content-Type", "application/json")
        self.finish("{this is not json")


class UserHandler(ProviderHandler):
    def get(self) -> None:
        authorization = self.request.headers.get("Authorization", "")
        self.provider.api_requests.append({"path": "/user", "authorization": authorization,
                                           "query": self.request.query})
        token = authorization.removeprefix("Bearer ") if authorization.startswith("Bearer ") \
            else self.get_argument("access_token", "")
        user = self.provider.tokens.get(token)
        if user is None:
            self.set_status(401)
            self.finish({"message": "Bad credentials"})
            return
        self.finish(self.provider.users[user])


class GraphMeHandler(ProviderHandler):
    """Facebook's ``/me``: token in the query, fields selected, appsecret_proof checked."""

    def get(self) -> None:
        token = self.get_argument("access_token", "")
        self.provider.api_requests.append({"path": "/me", "query": self.request.query})
        user = self.provider.tokens.get(token)
        client = next(iter(self.provider.clients.values()))
        proof = hmac.new(client.secret.encode(), token.encode(), hashlib.sha256).hexdigest()
        if user is None or not hmac.compare_digest(self.get_argument("appsecret_proof", ""),
                                                   proof):
            self.provider.refusals.append("graph: bad token or appsecret_proof")
            self.set_status(400)
            self.finish({"error": {"message": "Invalid appsecret_proof", "type": "OAuthException"}})
            return
        fields = self.get_argument("fields", "id,name").split(",")
        record = self.provider.users[user]
        self.finish({f: record[f] for f in fields if f in record})
