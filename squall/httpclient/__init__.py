"""Tornado's HTTP client API (``tornado.httpclient``) for squall, built on aiohttp.

``AsyncHTTPClient`` for coroutines, ``HTTPClient`` for blocking scripts; both take
an ``HTTPRequest`` or a URL and produce an ``HTTPResponse``.
"""

from __future__ import annotations

from squall.httpclient.blocking import HTTPClient
from squall.httpclient.client import AsyncHTTPClient
from squall.httpclient.errors import (
    HTTPClientError,
    HTTPError,
    HTTPStreamClosedError,
    HTTPTimeoutError,
)
from squall.httpclient.headers import HTTPHeaders
from squall.httpclient.request import HTTPRequest
from squall.httpclient.response import HTTPResponse

__all__ = [
    "AsyncHTTPClient",
    "HTTPClient",
    "HTTPClientError",
    "HTTPError",
    "HTTPHeaders",
    "HTTPRequest",
    "HTTPResponse",
    "HTTPStreamClosedError",
    "HTTPTimeoutError",
]
