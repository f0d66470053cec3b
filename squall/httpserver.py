"""Tornado's ``HTTPServer``: serve an application (or a plain callback) over HTTP/1.1."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from typing import Any

from squall.http.config import ServerConfig
from squall.http.delegate import (
    HTTPConnection,
    HTTPMessageDelegate,
    HTTPServerConnectionDelegate,
    RequestStartLine,
)
from squall.http.headers import HTTPHeaders
from squall.http.request import HTTPServerRequest
from squall.http.server import HTTPServerCore, bind_sockets
from squall.ioloop import IOLoop

__all__ = ["HTTPServer", "HTTPServerRequest"]

_CONFIG_FIELDS = frozenset(
    name for name in ServerConfig.__dataclass_fields__
)


class HTTPServer(HTTPServerCore):
    """A non-blocking HTTP server, created as in Tornado::

        server = HTTPServer(app, xheaders=True, max_body_size=10 * 1024 * 1024)
        server.listen(8888)
        IOLoop.current().start()

    ``request_callback`` is an :class:`~squall.web.Application` (or any
    ``HTTPServerConnectionDelegate``) or a function taking the request.
    Keyword arguments are the limits of :class:`squall.http.ServerConfig`.
    """

    def __init__(
        self,
        request_callback: HTTPServerConnectionDelegate | Callable[[HTTPServerRequest], None],
        ssl_options: ssl.SSLContext | dict[str, Any] | None = None,
        **settings: Any,
    ) -> None:
        unknown = set(settings) - _CONFIG_FIELDS
        if unknown:
            raise TypeError(
                f"HTTPServer got unknown settings {sorted(unknown)}; known: {sorted(_CONFIG_FIELDS)}"
            )
        if settings.get("trusted_downstream") is not None:
            settings["trusted_downstream"] = frozenset(settings["trusted_downstream"])
        else:
            settings.pop("trusted_downstream", None)
        config = ServerConfig(**{k: v for k, v in settings.items() if v is not None})
        delegate: HTTPServerConnectionDelegate
        if hasattr(request_callback, "start_request"):
            delegate = request_callback  # type: ignore[assignment]
        elif callable(request_callback):
            delegate = _CallableAdapter(request_callback)
        else:
            raise TypeError(
                f"request_callback must be an Application or a callable, got "
                f"{type(request_callback).__name__}"
            )
        super().__init__(delegate, config, ssl_options, lambda: IOLoop.current().asyncio_loop)
        self.request_callback = request_callback
        self._bound: list[socket.socket] = []

    def listen(
        self,
        port: int,
        address: str | None = None,
        *,
        family: socket.AddressFamily = socket.AF_UNSPEC,
        backlog: int = 1024,
        reuse_port: bool = False,
    ) -> None:
        """Bind ``port`` on ``address`` (all interfaces when None) and start accepting."""
        self.bind(port, address, family, backlog, reuse_port)
        self.start()

    def bind(
        self,
        port: int,
        address: str | None = None,
        family: socket.AddressFamily = socket.AF_UNSPEC,
        backlog: int = 1024,
        reuse_port: bool = False,
    ) -> None:
        """Bind now, accept after :meth:`start` (Tornado's two-step start)."""
        self._bound.extend(bind_sockets(port, address, family, backlog, reuse_port))

    def start(self, num_processes: int | None = 1, max_restarts: int | None = None) -> None:
        """Start accepting on the sockets given to :meth:`bind`.

        With ``num_processes`` other than 1 the process forks that many
        children first (``None`` or 0: one per CPU), each serving the same
        sockets, as in Tornado; call it before the event loop runs.
        ``squall serve --instances N`` is the supervised alternative.
        """
        if num_processes != 1:
            from squall.process.fork import fork_processes

            fork_processes(num_processes, max_restarts)
        sockets, self._bound = self._bound, []
        self.add_sockets(sockets)

    def add_socket(self, sock: socket.socket) -> None:
        self.add_sockets([sock])


class _CallableAdapter:
    """Serves with a plain ``callback(request)`` (Tornado's legacy interface)."""

    def __init__(self, callback: Callable[[HTTPServerRequest], None]) -> None:
        self.callback = callback

    def start_request(self, server_conn: object, request_conn: HTTPConnection) -> HTTPMessageDelegate:
        return _CallableMessage(self.callback, request_conn, server_conn)

    def on_close(self, server_conn: object) -> None:
        pass


class _CallableMessage:
    def __init__(
        self,
        callback: Callable[[HTTPServerRequest], None],
        connection: HTTPConnection,
        server_conn: object,
    ) -> None:
        self.callback = callback
        self.connection = connection
        self.server_conn = server_conn
        self.request: HTTPServerRequest | None = None
        self.chunks: list[bytes] = []

    def headers_received(self, start_line: RequestStartLine, headers: HTTPHeaders) -> None:
        self.request = HTTPServerRequest(
            connection=self.connection, server_connection=self.server_conn,
            start_line=start_line, headers=headers,
        )

    def data_received(self, chunk: bytes) -> None:
        self.chunks.append(chunk)

    def finish(self) -> None:
        if self.request is None:
            raise RuntimeError("finish() before headers_received()")
        self.request.body = b"".join(self.chunks)
        self.callback(self.request)

    def on_connection_close(self) -> None:
        self.chunks.clear()

