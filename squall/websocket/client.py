"""The WebSocket client: ``conn = await websocket_connect("ws://host/path")``.

Built on an asyncio protocol driving websockets' ``ClientProtocol`` (through
:class:`~squall.websocket.session.WebSocketSession`, the same engine as the
server side). Messages arrive through ``await conn.read_message()`` or an
``on_message_callback``; ``None`` means the connection closed.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from websockets.client import ClientProtocol
from websockets.exceptions import InvalidStatus
from websockets.http11 import Response
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

from squall.http.headers import HTTPHeaders
from squall.httpclient.errors import HTTPClientError
from squall.websocket.compression import client_extensions
from squall.websocket.errors import WebSocketClosedError
from squall.websocket.handler import DEFAULT_MAX_MESSAGE_SIZE, encode_message, log
from squall.websocket.session import WebSocketSession

Message = str | bytes

# Past this many unread messages the client stops reading from the socket,
# so a fast server cannot fill our memory while nobody calls read_message().
_MAX_UNREAD = 1024


class WebSocketClientConnection:
    """An open client WebSocket (Tornado's ``WebSocketClientConnection``)."""

    def __init__(
        self,
        on_message_callback: Callable[[Message | None], None] | None = None,
    ) -> None:
        self._on_message_callback = on_message_callback
        self._messages: deque[Message | None] = deque()
        self._readers: deque[asyncio.Future[Message | None]] = deque()
        self._room: asyncio.Future[None] | None = None
        self._session: WebSocketSession | None = None
        self.headers = HTTPHeaders()
        """The headers of the server's 101 response."""

    # -- reading ------------------------------------------------------------

    def read_message(self) -> Awaitable[Message | None]:
        """The next message (str or bytes); ``None`` once the connection is closed."""
        if self._on_message_callback is not None:
            raise RuntimeError("read_message() cannot be used with an on_message_callback")
        future: asyncio.Future[Message | None] = asyncio.get_running_loop().create_future()
        if self._messages:
            message = self._messages[0]
            if message is not None:  # keep the None: every later read gets it too
                self._messages.popleft()
            future.set_result(message)
            if self._room is not None and len(self._messages) < _MAX_UNREAD // 2:
                room, self._room = self._room, None
                if not room.done():
                    room.set_result(None)
        else:
            self._readers.append(future)
        return future

    def _put(self, message: Message | None) -> Awaitable[None] | None:
        if self._on_message_callback is not None:
            self._on_message_callback(message)
            return None
        while self._readers:
            reader = self._readers.popleft()
            if not reader.done():
                reader.set_result(message)
                return None
        self._messages.append(message)
        if len(self._messages) >= _MAX_UNREAD and message is not None:
            self._room = asyncio.get_running_loop().create_future()
            return self._room
        return None

    # -- SessionOwner -------------------------------------------------------

    def session_message(self, message: Message) -> Awaitable[None] | None:
        return self._put(message)

    def session_ping(self, data: bytes) -> None:
        self.on_ping(data)

    def session_pong(self, data: bytes) -> None:
        self.on_pong(data)

    def session_closed(self) -> None:
        self._put(None)

    def on_ping(self, data: bytes) -> None:
        """Override (or assign) to observe pings from the server."""

    def on_pong(self, data: bytes) -> None:
        """Override (or assign) to observe pongs from the server."""

    # -- writing and closing ------------------------------------------------

    def _open_session(self) -> WebSocketSession:
        if self._session is None:
            raise WebSocketClosedError("the WebSocket is not connected")
        return self._session

    def write_message(
        self, message: str | bytes | dict[str, Any], binary: bool = False
    ) -> Awaitable[None]:
        """Send a message; await the result to wait while the server reads slowly."""
        return self._open_session().send(encode_message(message, binary), binary)

    def ping(self, data: bytes = b"") -> None:
        self._open_session().ping(data)

    def close(self, code: int | None = None, reason: str | None = None) -> Awaitable[None]:
        """Start the closing handshake; await the result to wait for the TCP close."""
        session = self._open_session()
        session.close(code, reason)
        return session.wait_closed()

    @property
    def close_code(self) -> int | None:
        """The code the server sent in its close frame."""
        return self._session.close_code if self._session is not None else None

    @property
    def close_reason(self) -> str | None:
        return self._session.close_reason if self._session is not None else None

    @property
    def selected_subprotocol(self) -> str | None:
        if self._session is None:
            return None
        subprotocol = self._session.protocol.subprotocol
        return str(subprotocol) if subprotocol is not None else None

    @property
    def protocol(self) -> WebSocketSession | None:
        return self._session


async def websocket_connect(
    url: str,
    *,
    on_message_callback: Callable[[Message | None], None] | None = None,
    compression_options: dict[str, Any] | None = None,
    ping_interval: float | None = None,
    ping_timeout: float | None = None,
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    subprotocols: Sequence[str] | None = None,
    headers: Mapping[str, str] | HTTPHeaders | None = None,
    connect_timeout: float = 20.0,
    ssl_context: ssl.SSLContext | None = None,
) -> WebSocketClientConnection:
    """Open a WebSocket to ``url`` (``ws://`` or ``wss://``).

    A refused handshake raises :class:`~squall.httpclient.HTTPClientError`
    with the server's status; no answer within ``connect_timeout`` raises
    ``HTTPClientError(599)``, as the HTTP client does.
    """
    uri = parse_uri(url)
    protocol = ClientProtocol(
        uri,
        extensions=client_extensions(compression_options) or None,
        subprotocols=[Subprotocol(name) for name in subprotocols] if subprotocols else None,
        max_size=max_message_size,
        logger=log,
    )
    request = protocol.connect()
    if headers is not None:
        pairs = headers.get_all() if isinstance(headers, HTTPHeaders) else headers.items()
        for name, value in pairs:
            request.headers[name] = value
    protocol.send_request(request)
    connection = WebSocketClientConnection(on_message_callback)
    loop = asyncio.get_running_loop()
    session = WebSocketSession(
        protocol, connection, loop, ping_interval=ping_interval, ping_timeout=ping_timeout
    )
    session.handshake = loop.create_future()
    context: ssl.SSLContext | None = None
    if uri.secure:
        context = ssl_context or ssl.create_default_context()
    try:
        async with asyncio.timeout(connect_timeout):
            await loop.create_connection(lambda: session, uri.host, uri.port, ssl=context)
            response = await session.handshake
    except TimeoutError:
        session.abort()
        raise HTTPClientError(599, f"WebSocket connect to {url} timed out") from None
    except OSError as err:
        raise HTTPClientError(599, f"WebSocket connect to {url} failed: {err}") from err
    _check_handshake(url, protocol, response, session)
    connection._session = session
    if response is not None:
        connection.headers = HTTPHeaders()
        for name, value in response.headers.raw_items():
            connection.headers.add(name, value)
    session.start_keepalive()
    return connection


def _check_handshake(
    url: str, protocol: ClientProtocol, response: Response | None, session: WebSocketSession
) -> None:
    error = protocol.handshake_exc
    if response is not None and error is None:
        return
    session.abort()
    if isinstance(error, InvalidStatus):
        status = error.response.status_code
        body = error.response.body.decode("utf-8", "replace").strip()
        raise HTTPClientError(status, f"WebSocket handshake with {url} refused: {body}")
    if response is None:
        raise HTTPClientError(599, f"connection to {url} closed during the WebSocket handshake")
    raise HTTPClientError(599, f"invalid WebSocket handshake from {url}: {error}")
