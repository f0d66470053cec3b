"""Errors raised by the HTTP client.

One class carries the data (``HTTPClientError``: code, message, response); the two
subclasses exist only because Tornado code catches them by name. Code 599 is
Tornado's convention for "no HTTP response was received" (timeouts, dropped
connections).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from squall.httpclient.response import HTTPResponse


def reason_phrase(code: int) -> str:
    """The standard reason phrase for ``code``, or ``"Unknown"``."""
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Unknown"


class HTTPClientError(Exception):
    """A fetch failed: either the server answered non-2xx, or (code 599) it never answered.

    ``response`` is the ``HTTPResponse`` when one was received. ``str()`` is
    ``"HTTP <code>: <message>"`` as in Tornado.
    """

    def __init__(
        self, code: int, message: str | None = None, response: HTTPResponse | None = None
    ) -> None:
        self.code = code
        self.message = message or reason_phrase(code)
        self.response = response
        super().__init__(code, self.message, response)

    def __str__(self) -> str:
        return f"HTTP {self.code}: {self.message}"

    __repr__ = __str__


#: Tornado's older name for ``HTTPClientError``; both names are the same class.
HTTPError = HTTPClientError


class HTTPTimeoutError(HTTPClientError):
    """Code 599: a timeout fired; the message says which one (queue, connect or request)."""

    def __init__(self, message: str) -> None:
        super().__init__(599, message)

    def __str__(self) -> str:
        return self.message


class HTTPStreamClosedError(HTTPClientError):
    """Code 599: the connection closed before a complete response arrived."""

    def __init__(self, message: str) -> None:
        super().__init__(599, message)

    def __str__(self) -> str:
        return self.message
