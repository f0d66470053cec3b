"""``WebSocketHandler``: Tornado's server-side WebSocket API on a ``RequestHandler``.

The handshake is checked here with Tornado's answers (400 for a request that
is not a WebSocket upgrade, 403 for a foreign ``Origin``, 426 for an unknown
version) and then negotiated by websockets' ``ServerProtocol`` (key, extensions,
subprotocol). The 101 goes out through the request's HTTP connection, which
then hands the socket over with ``upgrade()``: from that moment the connection
no longer counts as an HTTP connection, and a draining server closes it with
1001 Going Away.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Sequence
from typing import Any
from urllib.parse import urlsplit

from websockets.datastructures import Headers
from websockets.http11 import Request
from websockets.protocol import OPEN
from websockets.server import ServerProtocol
from websockets.typing import Subprotocol

from squall.escape import json_encode
from squall.http.cycle import HTTPOutputError
from squall.http.delegate import ResponseStartLine
from squall.web.handler import RequestHandler
from squall.websocket.compression import server_extensions
from squall.websocket.errors import WebSocketClosedError
from squall.websocket.session import WebSocketSession

log = logging.getLogger("squall.websocket")

DEFAULT_MAX_MESSAGE_SIZE = 10 * 1024 * 1024
_HANDSHAKE_HEADERS = ("Upgrade", "Connection", "Sec-WebSocket-Accept",
                      "Sec-WebSocket-Extensions", "Sec-WebSocket-Protocol")


def encode_message(message: str | bytes | dict[str, Any], binary: bool) -> bytes:
    """The payload for ``write_message``: dicts become JSON, text is UTF-8."""
    if isinstance(message, dict):
        message = json_encode(message)
    if isinstance(message, str):
        return message.encode("utf-8")
    if isinstance(message, (bytes, bytearray, memoryview)):
        return bytes(message)
    raise TypeError(
        f"write_message() takes str, bytes or dict, got {type(message).__name__}"
    )


class WebSocketHandler(RequestHandler):
    """Subclass and override :meth:`open`, :meth:`on_message` and :meth:`on_close`.

    ``open`` and ``on_message`` may be ``async``; messages are delivered in
    order, the next one only after the previous ``on_message`` finished (and
    none before ``open`` finished). Settings: ``websocket_ping_interval``,
    ``websocket_ping_timeout``, ``websocket_max_message_size`` (10 MiB by
    default; larger messages close the connection with 1009),
    ``websocket_close_timeout`` (5 s to finish the closing handshake).
    """

    def __init__(self, application: Any, request: Any, **kwargs: Any) -> None:
        super().__init__(application, request, **kwargs)
        self.ws_connection: WebSocketSession | None = None
        self.open_args: tuple[Any, ...] = ()
        self.open_kwargs: dict[str, Any] = {}
        self._on_close_called = False

    # -- the handshake ------------------------------------------------------

    async def get(self, *args: Any, **kwargs: Any) -> None:
        self.open_args = args
        self.open_kwargs = kwargs
        headers = self.request.headers
        # RFC 6455 §4.2.1: a handshake is a GET with Upgrade: websocket,
        # Connection: upgrade, a 16-byte Sec-WebSocket-Key and version 13.
        if headers.get("Upgrade", "").lower() != "websocket":
            self._refuse(400, 'Can "Upgrade" only to "WebSocket".')
            return
        connection = [part.strip().lower() for part in headers.get("Connection", "").split(",")]
        if "upgrade" not in connection:
            self._refuse(400, '"Connection" must be "Upgrade".')
            return
        origin = headers.get("Origin") or headers.get("Sec-Websocket-Origin")
        if origin is not None and not self.check_origin(origin):
            self._refuse(403, "Cross origin websockets not allowed")
            return
        if headers.get("Sec-WebSocket-Version") != "13":
            # RFC 6455 §4.4: answer 426 and name the versions we speak.
            self.set_header("Sec-WebSocket-Version", "13")
            self._refuse(426, "Upgrade Required: only WebSocket version 13 is supported")
            return
        if not headers.get("Sec-WebSocket-Key"):
            self._refuse(400, "Missing/Invalid WebSocket headers: no Sec-WebSocket-Key")
            return
        handshake = ServerProtocol(
            extensions=server_extensions(self.get_compression_options()),
            # websockets binds this to the protocol, so pass a plain function.
            select_subprotocol=lambda _protocol, offered: self._negotiate_subprotocol(offered),
            logger=log,
        )
        response = handshake.accept(
            Request(self.request.uri, Headers(list(headers.get_all())))
        )
        if response.status_code != 101:
            self._refuse(response.status_code, response.body.decode("utf-8", "replace").strip())
            return
        # squall parsed the HTTP request, so framing starts in the OPEN state
        # with what the handshake negotiated.
        protocol = ServerProtocol(state=OPEN, max_size=self.max_message_size, logger=log)
        protocol.extensions = handshake.extensions
        protocol.subprotocol = handshake.subprotocol
        self._accept(protocol, response.headers)

    def _refuse(self, status: int, message: str) -> None:
        log.info("WebSocket handshake refused (%d): %s", status, message)
        self.set_status(status)
        self.set_header("Content-Type", "text/plain; charset=UTF-8")
        self.finish(message)

    def _negotiate_subprotocol(self, offered: Sequence[Subprotocol]) -> Subprotocol | None:
        chosen = self.select_subprotocol([str(name) for name in offered])
        if chosen is None:
            return None
        if chosen not in offered:
            raise ValueError(
                f"select_subprotocol() returned {chosen!r}, which the client did not offer "
                f"(offered: {list(offered)})"
            )
        return Subprotocol(chosen)

    def _accept(self, protocol: ServerProtocol, handshake: Headers) -> None:
        loop = asyncio.get_running_loop()
        session = WebSocketSession(
            protocol, self, loop, held=True,
            ping_interval=self.ping_interval, ping_timeout=self.ping_timeout,
            close_timeout=float(self.settings.get("websocket_close_timeout", 5.0)),
        )
        self.clear_header("Content-Type")
        headers = self._response_headers()
        for name in _HANDSHAKE_HEADERS:
            if name in handshake:
                headers[name] = handshake[name]
        self.set_status(101)
        self._headers_written = True
        connection = self.request.connection
        try:
            connection.write_headers(ResponseStartLine("HTTP/1.1", 101, "Switching Protocols"),
                                     headers)
            connection.upgrade(session)
        except HTTPOutputError as err:
            log.info("WebSocket upgrade of %s abandoned: %s", self._request_summary(), err)
            self._finished = True
            return
        self.ws_connection = session
        self._finished = True
        self._on_finished()
        try:
            result = self.open(*self.open_args, **self.open_kwargs)
        except Exception:
            log.exception("Uncaught exception in open() of %s", self._request_summary())
            session.abort()
            return
        session.start(result if inspect.isawaitable(result) else None)
        session.start_keepalive()

    # -- settings -----------------------------------------------------------

    @property
    def ping_interval(self) -> float | None:
        """Seconds between keep-alive pings (``websocket_ping_interval``); None: no pings."""
        value = self.settings.get("websocket_ping_interval")
        return float(value) if value else None

    @property
    def ping_timeout(self) -> float | None:
        """Seconds to wait for a pong before closing (``websocket_ping_timeout``).

        Defaults to ``max(3 * ping_interval, 30)`` as in Tornado.
        """
        interval = self.ping_interval
        if interval is None:
            return None
        value = self.settings.get("websocket_ping_timeout")
        return float(value) if value else max(3 * interval, 30.0)

    @property
    def max_message_size(self) -> int:
        """Largest message accepted (``websocket_max_message_size``, 10 MiB by default)."""
        return int(self.settings.get("websocket_max_message_size", DEFAULT_MAX_MESSAGE_SIZE))

    # -- overridable --------------------------------------------------------

    def open(self, *args: Any, **kwargs: Any) -> Awaitable[None] | None:
        """A WebSocket opened; receives the URL rule's captured groups. May be async."""
        return None

    def on_message(self, message: str | bytes) -> Awaitable[None] | None:
        """A message arrived (str for text, bytes for binary). May be async."""
        raise NotImplementedError(f"{type(self).__name__} must define on_message()")

    def on_ping(self, data: bytes) -> None:
        """A ping arrived (the pong is sent automatically)."""

    def on_pong(self, data: bytes) -> None:
        """A pong arrived (answering our ping or unsolicited)."""

    def on_close(self) -> None:
        """The WebSocket closed; :attr:`close_code` and :attr:`close_reason` say how."""

    def check_origin(self, origin: str) -> bool:
        """Accept a handshake whose ``Origin`` is ``origin``; by default same host only.

        Refusing foreign origins stops cross-site WebSocket hijacking: a
        browser sends the victim's cookies with the handshake from any page.
        """
        parsed = urlsplit(origin.lower())
        host: str = self.request.headers.get("Host", "")
        return parsed.netloc == host.lower()

    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        """Pick one of the client's ``subprotocols`` (or None for none)."""
        return None

    def get_compression_options(self) -> dict[str, Any] | None:
        """None: no permessage-deflate. A dict (``{}``, or with ``compression_level``
        and ``mem_level``) offers it to clients that ask."""
        return None

    # -- sending and closing ------------------------------------------------

    def write_message(
        self, message: str | bytes | dict[str, Any], binary: bool = False
    ) -> Awaitable[None]:
        """Send a message; await the result to wait while the client reads slowly.

        Raises :class:`WebSocketClosedError` once the connection is closing.
        """
        session = self.ws_connection
        if session is None:
            raise WebSocketClosedError("the WebSocket is not open")
        return session.send(encode_message(message, binary), binary)

    def ping(self, data: str | bytes = b"") -> None:
        """Send a ping (at most 125 bytes); the pong arrives at :meth:`on_pong`."""
        session = self.ws_connection
        if session is None:
            raise WebSocketClosedError("the WebSocket is not open")
        session.ping(data.encode("utf-8") if isinstance(data, str) else bytes(data))

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        """Start the closing handshake (a no-op once closing)."""
        if self.ws_connection is not None:
            self.ws_connection.close(code, reason)

    @property
    def close_code(self) -> int | None:
        """The code the client sent in its close frame."""
        return self.ws_connection.close_code if self.ws_connection is not None else None

    @property
    def close_reason(self) -> str | None:
        return self.ws_connection.close_reason if self.ws_connection is not None else None

    @property
    def selected_subprotocol(self) -> str | None:
        if self.ws_connection is None:
            return None
        subprotocol = self.ws_connection.protocol.subprotocol
        return str(subprotocol) if subprotocol is not None else None

    def set_nodelay(self, value: bool) -> None:
        if self.ws_connection is not None:
            self.ws_connection.set_nodelay(value)

    def get_websocket_protocol(self) -> WebSocketSession | None:
        return self.ws_connection

    # -- SessionOwner -------------------------------------------------------

    def session_message(self, message: str | bytes) -> Awaitable[None] | None:
        return self.on_message(message)

    def session_ping(self, data: bytes) -> None:
        self.on_ping(data)

    def session_pong(self, data: bytes) -> None:
        self.on_pong(data)

    def session_closed(self) -> None:
        if not self._on_close_called:
            self._on_close_called = True
            self.on_close()

    # Non-WebSocket responses are not possible once upgraded.
    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        if self.ws_connection is not None:
            log.error("Cannot send an HTTP error on an open WebSocket; closing it")
            self.ws_connection.close(1011, "internal error")
            return
        super().send_error(status_code, **kwargs)
