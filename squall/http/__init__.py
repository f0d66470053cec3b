"""The wire layer: HTTP/1.1 framing on asyncio, independent of the web layer."""

from __future__ import annotations

from squall.http.config import ServerConfig
from squall.http.cycle import HTTPOutputError, RequestCycle
from squall.http.delegate import (
    HTTPConnection,
    HTTPMessageDelegate,
    HTTPServerConnectionDelegate,
    RequestStartLine,
    ResponseStartLine,
)
from squall.http.forms import HTTPFile, parse_body_arguments, parse_qs_bytes
from squall.http.headers import HTTPHeaders
from squall.http.request import HTTPServerRequest
from squall.http.server import HTTPServerCore, bind_sockets, bind_unix_socket

__all__ = [
    "HTTPConnection",
    "HTTPFile",
    "HTTPHeaders",
    "HTTPMessageDelegate",
    "HTTPOutputError",
    "HTTPServerConnectionDelegate",
    "HTTPServerCore",
    "HTTPServerRequest",
    "RequestCycle",
    "RequestStartLine",
    "ResponseStartLine",
    "ServerConfig",
    "bind_sockets",
    "bind_unix_socket",
    "parse_body_arguments",
    "parse_qs_bytes",
]
