"""Cross-site request forgery protection (Tornado's ``xsrf_cookies`` setting).

The token lives in the ``_xsrf`` cookie; every unsafe request must echo it in
an ``_xsrf`` argument or an ``X-XSRFToken``/``X-CSRFToken`` header. Tokens are
masked with a fresh random mask on every page (version 2 format
``2|mask|masked_token|timestamp``) so they cannot be recovered through
compression side channels (BREACH).
"""

from __future__ import annotations

import binascii
import hmac
import os
import time
from typing import TYPE_CHECKING, Any

from squall.escape import utf8, xhtml_escape
from squall.web.errors import HTTPError

if TYPE_CHECKING:
    from squall.http.request import HTTPServerRequest


def _mask(mask: bytes, data: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(mask * (len(data) // 4 + 1), data, strict=False))


def _decode_token(cookie: str | bytes | None) -> tuple[bytes | None, float | None]:
    """(raw token, timestamp) from a cookie or submitted value; (None, None) if unreadable."""
    if not cookie:
        return None, None
    raw = utf8(cookie)
    try:
        if raw.startswith(b"2|"):
            _, mask_hex, masked_hex, stamp = raw.split(b"|")
            mask = binascii.a2b_hex(mask_hex)
            token = _mask(mask, binascii.a2b_hex(masked_hex))
            return token, float(stamp)
        # Version 1: the bare hex token (Tornado < 3.2.2 clients).
        return binascii.a2b_hex(raw), None
    except (ValueError, binascii.Error):
        return None, None


class XSRFMixin:
    """XSRF methods of :class:`~squall.web.RequestHandler`."""

    request: HTTPServerRequest
    application: Any
    _xsrf_token: bytes | None
    _raw_xsrf_token: tuple[int | None, bytes, float] | None

    if TYPE_CHECKING:
        current_user: Any

        def get_cookie(self, name: str, default: str | None = None) -> str | None: ...

        def set_cookie(self, name: str, value: str | bytes, *args: Any, **kwargs: Any) -> None: ...

        def get_argument(self, name: str, default: Any = ..., strip: bool = True) -> Any: ...

    @property
    def xsrf_token(self) -> bytes:
        """This page's masked token; sets the ``_xsrf`` cookie on first use."""
        if self._xsrf_token is None:
            version, token, timestamp = self._get_raw_xsrf_token()
            settings = self.application.settings
            output_version = settings.get("xsrf_cookie_version", 2)
            cookie_kwargs = dict(settings.get("xsrf_cookie_kwargs", {}))
            if output_version != 2:
                raise ValueError(f"unknown xsrf_cookie_version {output_version}; squall writes 2")
            mask = os.urandom(4)
            self._xsrf_token = b"|".join([
                b"2",
                binascii.b2a_hex(mask),
                binascii.b2a_hex(_mask(mask, token)),
                utf8(str(int(timestamp))),
            ])
            if version is None:
                if self.current_user and "expires_days" not in cookie_kwargs:
                    cookie_kwargs["expires_days"] = 30
                self.set_cookie(settings.get("xsrf_cookie_name", "_xsrf"), self._xsrf_token,
                                **cookie_kwargs)
        return self._xsrf_token

    def _get_raw_xsrf_token(self) -> tuple[int | None, bytes, float]:
        if self._raw_xsrf_token is None:
            name = self.application.settings.get("xsrf_cookie_name", "_xsrf")
            token, timestamp = _decode_token(self.get_cookie(name))
            if token is not None:
                self._raw_xsrf_token = (2, token, timestamp or time.time())
            else:
                # No usable cookie yet: a new token, sent with this response.
                self._raw_xsrf_token = (None, os.urandom(16), time.time())
        return self._raw_xsrf_token

    def check_xsrf_cookie(self) -> None:
        """Raise 403 unless the submitted token matches the cookie's."""
        submitted = (
            self.get_argument("_xsrf", None)
            or self.request.headers.get("X-Xsrftoken")
            or self.request.headers.get("X-Csrftoken")
        )
        if not submitted:
            raise HTTPError(403, "'_xsrf' argument missing from %s", self.request.method)
        submitted_token, _ = _decode_token(submitted)
        _, expected_token, _ = self._get_raw_xsrf_token()
        if not submitted_token:
            raise HTTPError(403, "'_xsrf' argument has invalid format")
        if not hmac.compare_digest(utf8(submitted_token), utf8(expected_token)):
            raise HTTPError(403, "XSRF cookie does not match %s argument", self.request.method)

    def xsrf_form_html(self) -> str:
        """``<input type="hidden" name="_xsrf" value="...">`` for forms."""
        return '<input type="hidden" name="_xsrf" value="' + xhtml_escape(self.xsrf_token) + '"/>'
