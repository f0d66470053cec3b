"""The seam between the wire layer and whatever handles requests.

The wire layer (:mod:`squall.http.protocol`) parses bytes and drives these
interfaces; the web layer implements them. Nothing in ``squall.http`` imports
``squall.web``. The shapes follow Tornado's ``httputil`` delegates so code
written against those keeps working.

Rules the protocol keeps for each request, in order:
1. ``start_request`` is called once the request line and headers are parsed.
2. ``headers_received`` once, then ``data_received`` zero or more times, then
   ``finish`` once, or ``on_connection_close`` if the peer goes away first.
3. A delegate may return an awaitable from ``headers_received`` or
   ``data_received``; reading from the socket pauses until it completes.
4. Pipelined requests are delivered one at a time: the next request's
   ``start_request`` happens only after the previous response finished.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:
    from squall.http.headers import HTTPHeaders


class RequestStartLine(NamedTuple):
    method: str
    path: str
    version: str


class ResponseStartLine(NamedTuple):
    version: str
    code: int
    reason: str


class HTTPMessageDelegate(Protocol):
    """Receives one request's parts as the parser produces them."""

    def headers_received(
        self, start_line: RequestStartLine, headers: HTTPHeaders
    ) -> Awaitable[None] | None: ...

    def data_received(self, chunk: bytes) -> Awaitable[None] | None: ...

    def finish(self) -> None: ...

    def on_connection_close(self) -> None: ...


class HTTPConnection(Protocol):
    """What a delegate uses to answer: one object per request cycle."""

    def write_headers(
        self,
        start_line: ResponseStartLine,
        headers: HTTPHeaders,
        chunk: bytes | None = None,
    ) -> Awaitable[None]: ...

    def write(self, chunk: bytes) -> Awaitable[None]: ...

    def finish(self) -> None: ...


class HTTPServerConnectionDelegate(Protocol):
    """Creates a message delegate for every request on every connection."""

    def start_request(
        self, server_conn: object, request_conn: HTTPConnection
    ) -> HTTPMessageDelegate: ...

    def on_close(self, server_conn: object) -> None: ...
