"""WebSockets (RFC 6455) for squall: Tornado's ``tornado.websocket`` API.

Server side, subclass :class:`WebSocketHandler`; client side, ``await
websocket_connect(url)``. Framing, handshake validation, close codes and
permessage-deflate come from the ``websockets`` library's sans-I/O protocol.
"""

from __future__ import annotations

from squall.websocket.client import WebSocketClientConnection, websocket_connect
from squall.websocket.errors import WebSocketClosedError, WebSocketError
from squall.websocket.handler import WebSocketHandler

__all__ = [
    "WebSocketClientConnection",
    "WebSocketClosedError",
    "WebSocketError",
    "WebSocketHandler",
    "websocket_connect",
]
