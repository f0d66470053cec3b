"""Connections that left HTTP through ``101 Switching Protocols`` (e.g. WebSocket).

After the upgrade the socket belongs to another protocol, but it still belongs
to the server: a drain must be able to ask it to go away, and must wait for it.
:class:`UpgradedConnection` sits between the transport and that protocol to
keep this accounting in the wire layer, so the protocol (which lives in a
higher layer) never has to know about :class:`~squall.http.server.ServerState`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from squall.http.server import ServerState

log = logging.getLogger("squall.general")


class UpgradedProtocol(Protocol):
    """What takes over a connection after the 101 response.

    The ``asyncio.Protocol`` callbacks, plus :meth:`shutdown`: the server is
    draining, so end the session politely (a WebSocket sends close 1001) and
    close the transport soon. The server waits for ``connection_lost``.
    """

    def connection_made(self, transport: asyncio.BaseTransport) -> None: ...

    def data_received(self, data: bytes) -> None: ...

    def eof_received(self) -> bool | None: ...

    def connection_lost(self, exc: Exception | None) -> None: ...

    def pause_writing(self) -> None: ...

    def resume_writing(self) -> None: ...

    def shutdown(self) -> None: ...


class UpgradedConnection(asyncio.Protocol):
    """The transport's protocol after an upgrade: forwards to the new owner."""

    __slots__ = ("_protocol", "_state", "transport")

    def __init__(self, state: ServerState, protocol: UpgradedProtocol) -> None:
        self._state = state
        self._protocol = protocol
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._state.upgraded.add(self)
        self._protocol.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        self._protocol.data_received(data)

    def eof_received(self) -> bool | None:
        return self._protocol.eof_received()

    def pause_writing(self) -> None:
        self._protocol.pause_writing()

    def resume_writing(self) -> None:
        self._protocol.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self._state.upgraded.discard(self)
        try:
            self._protocol.connection_lost(exc)
        finally:
            self._state.on_upgraded_closed()

    def shutdown(self) -> None:
        """The server drains: let the protocol say goodbye in its own terms."""
        try:
            self._protocol.shutdown()
        except Exception:
            log.exception("Error shutting down an upgraded connection; aborting it")
            self.abort()

    def abort(self) -> None:
        """Drop the connection now (the drain timed out)."""
        if self.transport is not None:
            self.transport.abort()
