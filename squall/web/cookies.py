"""Cookies and signed cookies for request handlers.

Signed values use Tornado's version-2 format
(``2|1:<key version>|<len>:<timestamp>|<len>:<name>|<len>:<base64 value>|<hmac-sha256>``)
so cookies set by a Tornado application stay valid after switching to squall.
``cookie_secret`` may be a dict ``{version: secret}`` to rotate keys: new
cookies are signed with ``key_version``, old ones still verify.
"""

from __future__ import annotations

import base64
import datetime
import email.utils
import hashlib
import hmac
import re
import time
from collections.abc import Callable
from http.cookies import Morsel, SimpleCookie
from typing import TYPE_CHECKING, Any

from squall.escape import utf8

if TYPE_CHECKING:
    from squall.http.request import HTTPServerRequest

_BAD_COOKIE_CHARS = re.compile(r"[\x00-\x20;\x7f]")

SecretType = str | bytes | dict[int, str] | dict[int, bytes]


def _format_field(value: str | bytes) -> bytes:
    raw = utf8(value)
    return b"%d:%b" % (len(raw), raw)


def create_signed_value(
    secret: SecretType,
    name: str,
    value: str | bytes,
    version: int | None = None,
    clock: Callable[[], float] | None = None,
    key_version: int | None = None,
) -> bytes:
    """Timestamp and sign ``value`` so :func:`decode_signed_value` can verify it."""
    if version is not None and version != 2:
        raise ValueError(f"unsupported signed value version {version}; squall writes version 2")
    timestamp = utf8(str(int((clock or time.time)())))
    payload = utf8(value)
    if isinstance(secret, dict):
        if key_version is None:
            raise ValueError("key_version is required when cookie_secret is a dict of keys")
        if key_version not in secret:
            raise ValueError(f"key_version {key_version} is not a key of cookie_secret")
        key: str | bytes = secret[key_version]
    else:
        key = secret
        key_version = 0
    body = b"|".join([
        b"2",
        _format_field(str(key_version)),
        _format_field(timestamp),
        _format_field(name),
        _format_field(base64.b64encode(payload)),
        b"",
    ])
    return body + _signature(key, body)


def _signature(secret: str | bytes, body: bytes) -> bytes:
    return utf8(hmac.new(utf8(secret), body, hashlib.sha256).hexdigest())


def _consume_field(data: bytes) -> tuple[bytes, bytes]:
    length, sep, rest = data.partition(b":")
    if not sep or not length.isdigit():
        raise ValueError("malformed signed value field")
    n = int(length)
    field, tail = rest[:n], rest[n:]
    if len(field) != n or not tail.startswith(b"|"):
        raise ValueError("malformed signed value field")
    return field, tail[1:]


def decode_signed_value(
    secret: SecretType,
    name: str,
    value: str | bytes | None,
    max_age_days: float = 31,
    clock: Callable[[], float] | None = None,
    min_version: int | None = None,
) -> bytes | None:
    """The original value if the signature, name and age check out, else None."""
    if not value:
        return None
    raw = utf8(value)
    if not raw.startswith(b"2|"):
        return None  # version 1 (unversioned) values are not accepted
    try:
        key_version_b, rest = _consume_field(raw[2:])
        timestamp_b, rest = _consume_field(rest)
        name_b, rest = _consume_field(rest)
        value_b, signature = _consume_field(rest)
    except ValueError:
        return None
    body = raw[: len(raw) - len(signature)]
    try:
        key_version = int(key_version_b)
    except ValueError:
        return None
    if isinstance(secret, dict):
        key = secret.get(key_version)
        if key is None:
            return None
    else:
        key = secret
    if not hmac.compare_digest(signature, _signature(key, body)):
        return None
    if name_b != utf8(name):
        return None
    try:
        timestamp = int(timestamp_b)
    except ValueError:
        return None
    now = (clock or time.time)()
    if timestamp < now - max_age_days * 86400 or timestamp > now + 31 * 86400:
        return None
    try:
        return base64.b64decode(value_b, validate=True)
    except ValueError:
        return None


def get_signature_key_version(value: str | bytes) -> int | None:
    """The key version a signed value was made with, or None when unreadable."""
    raw = utf8(value)
    if not raw.startswith(b"2|"):
        return None
    try:
        key_version_b, _ = _consume_field(raw[2:])
        return int(key_version_b)
    except ValueError:
        return None


class CookieMixin:
    """Cookie methods of :class:`~squall.web.RequestHandler`."""

    request: HTTPServerRequest
    application: Any
    _new_cookie: SimpleCookie | None

    @property
    def cookies(self) -> dict[str, Morsel[str]]:
        """The cookies the client sent (``self.request.cookies``)."""
        return self.request.cookies

    def get_cookie(self, name: str, default: str | None = None) -> str | None:
        morsel = self.request.cookies.get(name)
        return morsel.value if morsel is not None else default

    def set_cookie(
        self,
        name: str,
        value: str | bytes,
        domain: str | None = None,
        expires: float | datetime.datetime | None = None,
        path: str = "/",
        expires_days: float | None = None,
        *,
        max_age: int | None = None,
        httponly: bool = False,
        secure: bool = False,
        samesite: str | None = None,
        **kwargs: Any,
    ) -> None:
        """Queue a ``Set-Cookie`` header; refuses names and values that would break it."""
        name_s = name if isinstance(name, str) else name.decode()
        value_s = value.decode("utf-8") if isinstance(value, bytes) else value
        if _BAD_COOKIE_CHARS.search(name_s + value_s):
            raise ValueError(f"invalid cookie {name_s!r}: {value_s!r} (control characters, ';' or spaces)")
        if self._new_cookie is None:
            self._new_cookie = SimpleCookie()
        if name_s in self._new_cookie:
            del self._new_cookie[name_s]
        self._new_cookie[name_s] = value_s
        morsel = self._new_cookie[name_s]
        if domain:
            morsel["domain"] = domain
        if expires_days is not None and not expires:
            expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=expires_days)
        if expires:
            if isinstance(expires, datetime.datetime):
                stamp = expires.timestamp()
            else:
                stamp = float(expires)
            morsel["expires"] = email.utils.formatdate(stamp, usegmt=True)
        if path:
            morsel["path"] = path
        if max_age is not None:
            morsel["max-age"] = str(max_age)
        if httponly:
            morsel["httponly"] = True
        if secure:
            morsel["secure"] = True
        if samesite:
            if samesite.lower() not in ("strict", "lax", "none"):
                raise ValueError(f"samesite must be Strict, Lax or None, got {samesite!r}")
            morsel["samesite"] = samesite
        for key, val in kwargs.items():
            key = key.replace("_", "-")
            if key not in Morsel._reserved:  # type: ignore[attr-defined]
                raise TypeError(f"set_cookie() got an unknown cookie attribute {key!r}")
            morsel[key] = val

    def clear_cookie(self, name: str, path: str = "/", domain: str | None = None, **kwargs: Any) -> None:
        """Expire the cookie in the client (same path and domain as when set)."""
        expires = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=365)
        self.set_cookie(name, "", path=path, expires=expires, domain=domain, max_age=0, **kwargs)

    def clear_all_cookies(self, path: str = "/", domain: str | None = None) -> None:
        for name in list(self.request.cookies):
            self.clear_cookie(name, path=path, domain=domain)

    # -- signed cookies -----------------------------------------------------

    def _cookie_secret(self) -> SecretType:
        secret = self.application.settings.get("cookie_secret")
        if not secret:
            raise RuntimeError(
                "signed cookies need the 'cookie_secret' application setting"
            )
        return secret  # type: ignore[no-any-return]

    def create_signed_value(self, name: str, value: str | bytes, version: int | None = None) -> bytes:
        secret = self._cookie_secret()
        key_version = None
        if isinstance(secret, dict):
            key_version = self.application.settings.get("key_version")
            if key_version is None:
                raise RuntimeError("a dict cookie_secret needs the 'key_version' application setting")
        return create_signed_value(secret, name, value, version=version, key_version=key_version)

    def set_signed_cookie(
        self, name: str, value: str | bytes, expires_days: float | None = 30,
        version: int | None = None, **kwargs: Any,
    ) -> None:
        """Set a cookie the client can read but not forge (HMAC-signed, timestamped)."""
        self.set_cookie(name, self.create_signed_value(name, value, version=version),
                        expires_days=expires_days, **kwargs)

    def get_signed_cookie(
        self, name: str, value: str | None = None, max_age_days: float = 31,
        min_version: int | None = None,
    ) -> bytes | None:
        """The verified value of a signed cookie, or None if absent, forged or too old."""
        if value is None:
            value = self.get_cookie(name)
        return decode_signed_value(self._cookie_secret(), name, value, max_age_days=max_age_days)

    def get_signed_cookie_key_version(self, name: str, value: str | None = None) -> int | None:
        if value is None:
            value = self.get_cookie(name)
        if value is None:
            return None
        return get_signature_key_version(value)

    # Tornado < 6.3 names, still used by much code in the wild.
    set_secure_cookie = set_signed_cookie
    get_secure_cookie = get_signed_cookie
    get_secure_cookie_key_version = get_signed_cookie_key_version
