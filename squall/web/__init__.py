"""The web layer: Tornado's ``tornado.web`` API (handlers, application, errors)."""

from __future__ import annotations

from squall.routing import URLSpec, url
from squall.web.application import Application
from squall.web.cookies import create_signed_value, decode_signed_value
from squall.web.decorators import addslash, authenticated, removeslash, stream_request_body
from squall.web.errors import Finish, HTTPError, MissingArgumentError
from squall.web.handler import RequestHandler
from squall.web.handlers import ErrorHandler, RedirectHandler
from squall.web.static import StaticFileHandler

__all__ = [
    "Application",
    "ErrorHandler",
    "Finish",
    "HTTPError",
    "MissingArgumentError",
    "RedirectHandler",
    "RequestHandler",
    "StaticFileHandler",
    "URLSpec",
    "addslash",
    "authenticated",
    "create_signed_value",
    "decode_signed_value",
    "removeslash",
    "stream_request_body",
    "url",
]
