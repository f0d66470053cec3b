"""One open WebSocket connection on an asyncio transport, for servers and clients alike.

websockets' sans-I/O protocol does the framing: masking rules, control frames,
close codes, fragment limits, permessage-deflate. This module moves bytes
between it and the transport and adds what a framework needs on top:

- messages are reassembled and text is checked as UTF-8 (RFC 6455 §8.1: invalid
  data fails the connection with 1007) frame by frame, so a bad message is
  refused before it is complete;
- messages reach the owner in order: while an ``async`` ``on_message`` runs, later
  messages wait (and reading pauses once too many bytes are waiting);
- sends return an awaitable that waits while the transport is paused;
- keep-alive pings, and timeouts for the closing handshake and for pongs.
"""

from __future__ import annotations

import asyncio
import codecs
import inspect
import logging
import socket
from collections import deque
from collections.abc import Awaitable
from typing import Any, Protocol

from websockets.frames import CloseCode, Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import CLOSED, OPEN, SERVER
from websockets.protocol import Protocol as FramingProtocol

from squall.http.flow import WriteFlowControl
from squall.websocket.errors import WebSocketClosedError

log = logging.getLogger("squall.websocket")

# Messages waiting for a busy on_message may hold this many bytes before
# reading from the socket pauses.
_INBOX_HIGH_WATER = 1 << 20
_INBOX_LOW_WATER = 1 << 18
_utf8_decoder = codecs.getincrementaldecoder("utf-8")


class SessionOwner(Protocol):
    """What the handler (server) or the client connection does with session events."""

    def session_message(self, message: str | bytes) -> Awaitable[None] | None: ...

    def session_ping(self, data: bytes) -> None: ...

    def session_pong(self, data: bytes) -> None: ...

    def session_closed(self) -> None: ...


class WebSocketSession(WriteFlowControl, asyncio.Protocol):
    """Drives ``protocol`` (websockets' ``ServerProtocol`` or ``ClientProtocol``).

    Created ``held`` on the server: messages wait until :meth:`start` (after
    ``open()``). The owner's ``session_closed`` runs once, after every message
    received before the close was delivered.
    """

    # Besides WriteFlowControl's slots.
    __slots__ = (
        "_binary_parts",
        "_busy",
        "_close_timeout",
        "_close_timer",
        "_closed_waiter",
        "_decoder",
        "_eof",
        "_failed",
        "_inbox",
        "_inbox_bytes",
        "_notified",
        "_opcode",
        "_owner",
        "_ping_interval",
        "_ping_timeout",
        "_ping_timer",
        "_pong_timer",
        "_reading_paused",
        "_task",
        "_text_parts",
        "_transport",
        "handshake",
        "protocol",
    )

    def __init__(
        self,
        protocol: FramingProtocol,
        owner: SessionOwner,
        loop: asyncio.AbstractEventLoop,
        *,
        held: bool = False,
        ping_interval: float | None = None,
        ping_timeout: float | None = None,
        close_timeout: float = 5.0,
    ) -> None:
        self.protocol = protocol
        self._owner: SessionOwner | None = owner
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        # incoming messages
        self._opcode: Opcode | None = None
        self._text_parts: list[str] = []
        self._binary_parts: list[bytes] = []
        self._decoder: codecs.IncrementalDecoder | None = None
        self._inbox: deque[str | bytes] = deque()
        self._inbox_bytes = 0
        self._busy = held
        self._task: asyncio.Future[Any] | None = None
        self._reading_paused = False
        self._failed = False
        self._eof = False
        # outgoing
        self._writing_paused = False
        self._drain_waiters: list[asyncio.Future[None]] = []
        self._done: asyncio.Future[None] = loop.create_future()
        self._done.set_result(None)
        # keep-alive and closing
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._ping_timer: asyncio.TimerHandle | None = None
        self._pong_timer: asyncio.TimerHandle | None = None
        self._close_timeout = close_timeout
        self._close_timer: asyncio.TimerHandle | None = None
        self._closed = False
        self._notified = False
        self._closed_waiter: asyncio.Future[None] | None = None
        # client side: resolved with the handshake response (None if the
        # connection closed before one arrived)
        self.handshake: asyncio.Future[Response | None] | None = None

    # -- asyncio.Protocol ---------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self._flush()

    def data_received(self, data: bytes) -> None:
        if self._eof:
            return
        self.protocol.receive_data(data)
        self._process_events()
        self._flush()

    def eof_received(self) -> bool | None:
        self._eof = True
        self.protocol.receive_eof()
        self._flush()
        return None  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._transport = None
        for timer in (self._ping_timer, self._pong_timer, self._close_timer):
            if timer is not None:
                timer.cancel()
        self._ping_timer = self._pong_timer = self._close_timer = None
        self._wake_drain_waiters()
        if self.handshake is not None and not self.handshake.done():
            self.handshake.set_result(None)
        if self._closed_waiter is not None and not self._closed_waiter.done():
            self._closed_waiter.set_result(None)
        self._maybe_notify_closed()

    def shutdown(self) -> None:
        """The server drains: close with 1001 Going Away."""
        self.close(CloseCode.GOING_AWAY, "server shutting down")

    # -- receiving ----------------------------------------------------------

    def _process_events(self) -> None:
        for event in self.protocol.events_received():
            if self._failed:
                return
            if isinstance(event, Frame):
                self._on_frame(event)
            elif (isinstance(event, Response) and self.handshake is not None
                  and not self.handshake.done()):
                self.handshake.set_result(event)

    def _on_frame(self, frame: Frame) -> None:
        opcode = frame.opcode
        if opcode is Opcode.TEXT or opcode is Opcode.BINARY:
            self._opcode = opcode
            if opcode is Opcode.TEXT:
                if frame.fin:
                    # PERF: most messages are one frame; decode them at once.
                    try:
                        self._enqueue(bytes(frame.data).decode("utf-8"))
                    except UnicodeDecodeError as err:
                        self._invalid_text(err)
                    return
                self._decoder = _utf8_decoder()
            elif frame.fin:
                self._enqueue(bytes(frame.data))
                return
            self._add_fragment(frame.data, frame.fin)
        elif opcode is Opcode.CONT:
            self._add_fragment(frame.data, frame.fin)
        elif opcode is Opcode.PING:
            if self._owner is not None:
                self._run_callback(self._owner.session_ping, bytes(frame.data))
        elif opcode is Opcode.PONG:
            if self._pong_timer is not None:
                self._pong_timer.cancel()
                self._pong_timer = None
            if self._owner is not None:
                self._run_callback(self._owner.session_pong, bytes(frame.data))

    def _add_fragment(self, data: Any, fin: bool) -> None:
        decoder = self._decoder
        if decoder is not None:
            try:
                self._text_parts.append(decoder.decode(data, final=fin))
            except UnicodeDecodeError as err:
                self._invalid_text(err)
                return
        else:
            self._binary_parts.append(bytes(data))
        if not fin:
            return
        message: str | bytes
        if decoder is not None:
            message = "".join(self._text_parts)
            self._text_parts = []
            self._decoder = None
        else:
            message = b"".join(self._binary_parts)
            self._binary_parts = []
        self._opcode = None
        self._enqueue(message)

    def _invalid_text(self, err: UnicodeDecodeError) -> None:
        # RFC 6455 §8.1: a text message that is not valid UTF-8 fails the
        # connection; §7.4.1: with 1007 (invalid frame payload data).
        self._text_parts = []
        self._decoder = None
        self._fail(CloseCode.INVALID_DATA, f"invalid UTF-8 in a text message at byte {err.start}")

    def _fail(self, code: int, reason: str) -> None:
        self._failed = True
        self._inbox.clear()
        self._inbox_bytes = 0
        self.protocol.fail(code, reason)
        self._flush()

    # -- delivering to the owner --------------------------------------------

    def _enqueue(self, message: str | bytes) -> None:
        if self._owner is None:
            return
        if not self._busy and not self._inbox:
            self._deliver(message)
            return
        self._inbox.append(message)
        self._inbox_bytes += len(message)
        if self._inbox_bytes > _INBOX_HIGH_WATER and not self._reading_paused:
            self._reading_paused = True
            if self._transport is not None:
                self._transport.pause_reading()

    def _deliver(self, message: str | bytes) -> None:
        owner = self._owner
        if owner is None:
            return
        try:
            result = owner.session_message(message)
        except Exception:
            log.exception("Uncaught exception in on_message; closing the WebSocket")
            self._internal_error()
            return
        if result is not None and inspect.isawaitable(result):
            self.hold(result)

    def _run_callback(self, callback: Any, data: bytes) -> None:
        try:
            callback(data)
        except Exception:
            log.exception("Uncaught exception in %s; closing the WebSocket", callback.__name__)
            self._internal_error()

    def hold(self, awaitable: Awaitable[Any]) -> None:
        """Deliver nothing more until ``awaitable`` is done (an async callback runs)."""
        self._busy = True
        task = asyncio.ensure_future(awaitable, loop=self._loop)
        self._task = task  # a strong reference: the loop only keeps weak ones
        task.add_done_callback(self._held_done)

    def start(self, awaitable: Awaitable[Any] | None = None) -> None:
        """Release a ``held`` session, after ``awaitable`` (an async ``open()``) if given."""
        if awaitable is not None and inspect.isawaitable(awaitable):
            self.hold(awaitable)
            return
        self._busy = False
        self._drain_inbox()

    def _held_done(self, task: asyncio.Future[Any]) -> None:
        self._task = None
        self._busy = False
        if not task.cancelled() and task.exception() is not None:
            log.error("Uncaught exception in a WebSocket callback; closing the WebSocket",
                      exc_info=task.exception())
            self._internal_error()
        self._drain_inbox()

    def _drain_inbox(self) -> None:
        inbox = self._inbox
        while inbox and not self._busy:
            message = inbox.popleft()
            self._inbox_bytes -= len(message)
            self._deliver(message)
        if self._reading_paused and self._inbox_bytes <= _INBOX_LOW_WATER:
            self._reading_paused = False
            if self._transport is not None:
                self._transport.resume_reading()
        self._maybe_notify_closed()

    def _internal_error(self) -> None:
        if self.protocol.state is OPEN:
            self.close(CloseCode.INTERNAL_ERROR, "internal error")
        self._inbox.clear()
        self._inbox_bytes = 0

    def _maybe_notify_closed(self) -> None:
        if not self._closed or self._busy or self._inbox or self._notified:
            return
        self._notified = True
        owner, self._owner = self._owner, None
        if owner is not None:
            try:
                owner.session_closed()
            except Exception:
                log.exception("Uncaught exception in on_close")

    # -- sending ------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        """True while messages may be sent (no close frame sent or received)."""
        return not self._closed and self.protocol.state is OPEN

    def send(self, data: bytes, binary: bool) -> Awaitable[None]:
        """Send one message; the result completes once the transport accepts more."""
        if not self.is_open:
            raise WebSocketClosedError("the WebSocket is closed")
        if binary:
            self.protocol.send_binary(data)
        else:
            self.protocol.send_text(data)
        self._flush()
        return self.drain()

    def ping(self, data: bytes) -> None:
        if not self.is_open:
            raise WebSocketClosedError("the WebSocket is closed")
        # RFC 6455 §5.5: control frames carry at most 125 bytes.
        if len(data) > 125:
            raise ValueError(f"ping data must be at most 125 bytes, got {len(data)}")
        self.protocol.send_ping(data)
        self._flush()

    def _flush(self) -> None:
        transport = self._transport
        if transport is None:
            return
        for data in self.protocol.data_to_send():
            if data:
                transport.write(data)
            elif self.protocol.side is SERVER:
                # The server closes the TCP connection once the closing
                # handshake is done (RFC 6455 §7.1.1); close() flushes first.
                transport.close()
                return
            elif transport.can_write_eof():
                transport.write_eof()
        if self._close_timer is None and self.protocol.close_expected():
            self._close_timer = self._loop.call_later(self._close_timeout, self._close_timed_out)

    # -- closing ------------------------------------------------------------

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        """Start the closing handshake; the peer answers and the TCP connection closes."""
        if self._closed or self.protocol.state is not OPEN:
            return
        if code is None and reason is not None:
            code = CloseCode.NORMAL_CLOSURE
        self.protocol.send_close(code, reason or "")
        self._flush()

    def abort(self) -> None:
        """Drop the TCP connection without a closing handshake."""
        if self._transport is not None:
            self._transport.abort()

    def _close_timed_out(self) -> None:
        self._close_timer = None
        if not self._closed:
            log.info("WebSocket peer did not finish the closing handshake in %ss; aborting",
                     self._close_timeout)
            self.abort()

    def wait_closed(self) -> Awaitable[None]:
        """Completes when the TCP connection is closed."""
        if self._closed:
            return self._done
        if self._closed_waiter is None:
            self._closed_waiter = self._loop.create_future()
        return self._closed_waiter

    @property
    def close_code(self) -> int | None:
        """The code the peer sent in its close frame (None if it sent none)."""
        received = self.protocol.close_rcvd
        if received is None or received.code == CloseCode.NO_STATUS_RCVD:
            return None
        return int(received.code)

    @property
    def close_reason(self) -> str | None:
        received = self.protocol.close_rcvd
        if received is None or received.code == CloseCode.NO_STATUS_RCVD:
            return None
        return received.reason

    @property
    def terminated(self) -> bool:
        """True once the TCP connection is closed."""
        return self._closed or self.protocol.state is CLOSED

    # -- keep-alive ---------------------------------------------------------

    def start_keepalive(self) -> None:
        """Ping every ``ping_interval`` seconds; no pong within ``ping_timeout`` closes."""
        if self._ping_interval and self._ping_interval > 0 and self._ping_timer is None:
            self._ping_timer = self._loop.call_later(self._ping_interval, self._keepalive)

    def _keepalive(self) -> None:
        self._ping_timer = None
        if not self.is_open or self._ping_interval is None:
            return
        self.protocol.send_ping(b"")
        self._flush()
        if self._pong_timer is None and self._ping_timeout:
            self._pong_timer = self._loop.call_later(self._ping_timeout, self._pong_missing)
        self._ping_timer = self._loop.call_later(self._ping_interval, self._keepalive)

    def _pong_missing(self) -> None:
        self._pong_timer = None
        log.info("No pong within %ss; closing the WebSocket", self._ping_timeout)
        transport = self._transport
        self.close(CloseCode.INTERNAL_ERROR, "ping timeout")
        if transport is not None and not self._closed:
            # The peer is gone or stuck: do not wait for it to echo the close.
            if transport.get_write_buffer_size():
                transport.abort()
            else:
                transport.close()

    def set_nodelay(self, value: bool) -> None:
        """Turn Nagle's algorithm off (True) or on, to send small messages at once."""
        transport = self._transport
        sock = transport.get_extra_info("socket") if transport is not None else None
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1 if value else 0)
