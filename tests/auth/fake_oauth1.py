"""A fake OAuth 1.0a provider (RFC 5849): a real squall app checking every signature.

The HMAC-SHA1 check is written here from the RFC, independently of Authlib
(which the code under test signs with), so a signing bug cannot hide behind the
same bug in the verifier. Every request must carry a fresh nonce, a current
timestamp and a signature keyed by the consumer secret and the right token
secret: none for the request token, the request token's for the access token,
the access token's for API calls.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit

from squall.http.request import HTTPServerRequest
from squall.web import Application, HTTPError, RequestHandler

TIMESTAMP_WINDOW = 300


def encode(value: str) -> str:
    """RFC 5849 §3.6: percent-encode everything but the unreserved characters."""
    return quote(value, safe="-._~")


def parse_authorization(header: str) -> dict[str, str]:
    """The parameters of an ``Authorization: OAuth k="v", ...`` header (§3.5.1)."""
    scheme, _, rest = header.partition(" ")
    if scheme.lower() != "oauth":
        raise ValueError(f"not an OAuth Authorization header: {header[:20]!r}")
    params: dict[str, str] = {}
    for item in rest.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep or not (value.startswith('"') and value.endswith('"')):
            raise ValueError(f"malformed Authorization parameter {item!r}")
        params[unquote(name)] = unquote(value[1:-1])
    return params


def base_string(request: HTTPServerRequest, oauth: dict[str, str]) -> str:
    """RFC 5849 §3.4.1: method, base string URI and normalized parameters."""
    parts = urlsplit(request.full_url())
    uri = f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path}"
    pairs: list[tuple[str, str]] = []
    for source in (request.query_arguments, request.body_arguments):
        for name, values in source.items():
            pairs.extend((name, value.decode("utf-8")) for value in values)
    pairs.extend((k, v) for k, v in oauth.items() if k not in ("oauth_signature", "realm"))
    normalized = "&".join(f"{k}={v}" for k, v in sorted((encode(k), encode(v))
                                                        for k, v in pairs))
    return "&".join((encode(request.method.upper()), encode(uri), encode(normalized)))


def hmac_sha1(text: str, consumer_secret: str, token_secret: str) -> str:
    key = f"{encode(consumer_secret)}&{encode(token_secret)}".encode()
    return base64.b64encode(hmac.new(key, text.encode(), hashlib.sha1).digest()).decode()


@dataclass
class Token:
    consumer: str
    secret: str
    callback: str = ""
    verifier: str = ""
    user: str = ""


@dataclass
class FakeOAuth1Provider:
    consumers: dict[str, str] = field(default_factory=dict)  # key -> secret
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    signed_in_as: str = "ann"
    deny: bool = False
    request_tokens: dict[str, Token] = field(default_factory=dict)
    access_tokens: dict[str, Token] = field(default_factory=dict)
    nonces: set[tuple[str, str]] = field(default_factory=set)
    verified: list[tuple[str, str, str]] = field(default_factory=list)  # path, consumer, token
    refusals: list[str] = field(default_factory=list)
    posted: list[dict[str, str]] = field(default_factory=list)

    def app(self) -> Application:
        kwargs = {"provider": self}
        return Application([
            (r"/oauth/request_token", RequestTokenHandler, kwargs),
            (r"/oauth/(?:authorize|authenticate)", AuthorizeHandler, kwargs),
            (r"/oauth/access_token", AccessTokenHandler, kwargs),
            (r"/1\.1/account/verify_credentials\.json", CredentialsHandler, kwargs),
            (r"/1\.1/statuses/update\.json", UpdateHandler, kwargs),
            (r"/user", CredentialsHandler, kwargs),
        ])


class SignedHandler(RequestHandler):
    def initialize(self, provider: FakeOAuth1Provider) -> None:
        self.provider = provider

    def refuse(self, why: str) -> HTTPError:
        self.provider.refusals.append(why)
        return HTTPError(401, "%s", why)

    def verify(self, token_store: dict[str, Token] | None) -> tuple[dict[str, str], Token | None]:
        """Check the request's signature; return its oauth parameters and token."""
        try:
            oauth = parse_authorization(self.request.headers.get("Authorization", ""))
        except ValueError as err:
            raise self.refuse(str(err)) from None
        for required in ("oauth_consumer_key", "oauth_nonce", "oauth_timestamp",
                         "oauth_signature_method", "oauth_signature"):
            if not oauth.get(required):
                raise self.refuse(f"{required} missing")
        if oauth["oauth_signature_method"] != "HMAC-SHA1":
            raise self.refuse("unsupported signature method")
        if oauth.get("oauth_version", "1.0") != "1.0":
            raise self.refuse("oauth_version must be 1.0")
        consumer_secret = self.provider.consumers.get(oauth["oauth_consumer_key"])
        if consumer_secret is None:
            raise self.refuse("unknown consumer")
        # §3.3: the timestamp must be recent and the nonce never seen with it.
        if abs(time.time() - int(oauth["oauth_timestamp"])) > TIMESTAMP_WINDOW:
            raise self.refuse("stale timestamp")
        nonce = (oauth["oauth_timestamp"], oauth["oauth_nonce"])
        if nonce in self.provider.nonces:
            raise self.refuse("replayed nonce")
        token: Token | None = None
        token_secret = ""
        if token_store is not None:
            token = token_store.get(oauth.get("oauth_token", ""))
            if token is None or token.consumer != oauth["oauth_consumer_key"]:
                raise self.refuse("unknown token")
            token_secret = token.secret
        expected = hmac_sha1(base_string(self.request, oauth), consumer_secret, token_secret)
        if not hmac.compare_digest(expected, oauth["oauth_signature"]):
            raise self.refuse("invalid signature")
        self.provider.nonces.add(nonce)
        self.provider.verified.append(
            (self.request.path, oauth["oauth_consumer_key"], oauth.get("oauth_token", ""))
        )
        return oauth, token

    def form(self, **values: str) -> None:
        self.set_header("Content-Type", "application/x-www-form-urlencoded")
        self.finish(urlencode(values))


class RequestTokenHandler(SignedHandler):
    def post(self) -> None:
        oauth, _ = self.verify(None)
        callback = oauth.get("oauth_callback")
        if not callback:
            raise self.refuse("oauth_callback missing")  # §2.1: REQUIRED
        key, secret = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
        self.provider.request_tokens[key] = Token(oauth["oauth_consumer_key"], secret, callback)
        self.form(oauth_token=key, oauth_token_secret=secret, oauth_callback_confirmed="true")


class AuthorizeHandler(SignedHandler):
    def get(self) -> None:
        key = self.get_argument("oauth_token")
        token = self.provider.request_tokens.get(key)
        if token is None:
            raise HTTPError(400, "unknown request token")
        if self.provider.deny:
            self.redirect(token.callback + "?" + urlencode({"denied": key}))
            return
        token.verifier = secrets.token_urlsafe(8)
        token.user = self.provider.signed_in_as
        self.redirect(token.callback + "?" + urlencode(
            {"oauth_token": key, "oauth_verifier": token.verifier}))


class AccessTokenHandler(SignedHandler):
    def post(self) -> None:
        oauth, token = self.verify(self.provider.request_tokens)
        if token is None or not token.verifier or not hmac.compare_digest(
            oauth.get("oauth_verifier", ""), token.verifier
        ):
            raise self.refuse("oauth_verifier missing or wrong")
        del self.provider.request_tokens[oauth["oauth_token"]]  # single use
        key, secret = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
        self.provider.access_tokens[key] = Token(token.consumer, secret, user=token.user)
        user = self.provider.users[token.user]
        self.form(oauth_token=key, oauth_token_secret=secret, user_id=str(user["id"]),
                  screen_name=user["screen_name"])


class CredentialsHandler(SignedHandler):
    def get(self) -> None:
        _, token = self.verify(self.provider.access_tokens)
        assert token is not None
        self.finish(self.provider.users[token.user])


class UpdateHandler(SignedHandler):
    def post(self) -> None:
        self.verify(self.provider.access_tokens)
        status = self.get_body_argument("status")
        self.provider.posted.append({"status": status})
        self.finish({"id": len(self.provider.posted), "text": status})
