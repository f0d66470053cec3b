"""HTTP/1.1 over an ``asyncio.Protocol``, parsed by httptools (llhttp).

One :class:`HTTP1ServerProtocol` per connection and one
:class:`~squall.http.cycle.RequestCycle` per request. The protocol turns
parser callbacks into delegate calls (see :mod:`squall.http.delegate`),
enforces the limits llhttp leaves to us, keeps pipelined responses in request
order and applies back-pressure in both directions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

import httptools

from squall.http.config import ServerConfig
from squall.http.cycle import FINISH, HTTPOutputError, RequestCycle, _Finish
from squall.http.delegate import RequestStartLine
from squall.http.flow import WriteFlowControl
from squall.http.headers import _NORMALIZED, HTTPHeaders, normalize_header_name
from squall.http.status import REASONS
from squall.http.upgrade import UpgradedConnection, UpgradedProtocol

if TYPE_CHECKING:
    from squall.http.server import ServerState

log = logging.getLogger("squall.general")

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_NO_HEADERS = HTTPHeaders()  # placeholder between requests; never written to
_LINGER_SECONDS = 2.0

# PERF: the parser hands out bytes; these map the usual ones to the strings the
# request carries without a decode (or a format) per request. Only exact
# tokens are cached, and the canonical-name cache is bounded like _NORMALIZED.
_METHODS: dict[bytes, str] = {
    m.encode(): m for m in ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")
}
_VERSIONS: dict[str, str] = {"1.1": "HTTP/1.1", "1.0": "HTTP/1.0"}
_CANONICAL: dict[bytes, str] = {}
_CANONICAL_MAX = 2048
_new_start_line = tuple.__new__
_new_headers = HTTPHeaders.__new__


class RejectRequest(Exception):
    """The peer misbehaved: answer ``status`` and close the connection."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class HTTP1ServerProtocol(WriteFlowControl, asyncio.Protocol):
    """Serves HTTP/1.x requests on one connection."""

    # Besides WriteFlowControl's slots.
    __slots__ = (
        "_buffered", "_config", "_context", "_current", "_deadline", "_header_bytes",
        "_header_count", "_headers", "_in_message", "_lingering", "_out", "_parser", "_parsing",
        "_pending_error", "_pipeline", "_raw_header_bytes", "_reading_headers",
        "_reading_paused", "_shutting_down", "_state", "_transport", "_upgrade_data",
        "_upgrading", "_url",
    )

    def __init__(self, state: ServerState) -> None:
        # per-connection state
        self._state = state
        self._config: ServerConfig = state.config
        self._loop = state.loop
        self._transport: asyncio.Transport | None = None
        self._context: ConnectionContext | None = None
        self._parser = httptools.HttpRequestParser(self)
        self._closed = False
        self._shutting_down = False
        self._lingering = False
        self._reading_paused = False
        self._writing_paused = False
        self._drain_waiters: list[asyncio.Future[None]] = []
        self._out: list[bytes] | None = None
        self._done = state.done
        self._deadline = 0.0
        self._current: RequestCycle | None = None
        # PERF/memory: lists, not deques (an empty deque costs ~600 bytes per
        # connection); pipelines and buffered events stay short.
        self._pipeline: list[RequestCycle] = []
        self._buffered = 0
        self._pending_error: RejectRequest | None = None
        # Bytes after an Upgrade request (llhttp stops there); None until the
        # parser reports the upgrade, so "None" means "still inside feed_data".
        self._upgrade_data: bytes | None = None
        self._upgrading: UpgradedProtocol | None = None
        # per-request parsing state
        self._parsing: RequestCycle | None = None
        self._reading_headers = True
        self._in_message = False
        self._raw_header_bytes = 0
        self._url = b""
        self._headers: HTTPHeaders = HTTPHeaders()
        self._header_bytes = 0
        self._header_count = 0

    # -- asyncio.Protocol ---------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport; trust the type.
        self._transport = transport  # type: ignore[assignment]
        self._context = ConnectionContext(transport, self._config)
        self._state.connections.add(self)
        self._deadline = self._loop.time() + self._config.header_timeout
        if self._state.closing:
            self._shutting_down = True

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._state.connections.discard(self)
        self._wake_drain_waiters()
        current = self._current
        if current is not None and current.delegate is not None and not current.response_finished:
            try:
                current.delegate.on_connection_close()
            except Exception:
                log.exception("Error in on_connection_close for %s %s", current.method, current.url)
        self._current = None
        self._pipeline.clear()
        self._parsing = None
        self._state.on_connection_closed(self)

    def eof_received(self) -> bool | None:
        # As in Tornado, a client that stops sending has gone away: close, so
        # handlers learn it through on_connection_close instead of working on.
        return False

    def data_received(self, data: bytes) -> None:
        if self._pending_error is not None or self._upgrade_data is not None:
            if self._upgrade_data is not None:
                self._upgrade_data += data
            return
        if self._reading_headers:
            # PERF: the common case (a whole small request) needs no call.
            total = self._raw_header_bytes + len(data)
            if total <= self._config.max_header_size:
                self._raw_header_bytes = total
            elif not self._check_raw_header_size(data):
                return
        # PERF: responses finished while this read is parsed (all of a
        # pipelined batch, usually) leave in one transport.write.
        out: list[bytes] = []
        self._out = out
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            self._flush_out()
            offset = upgrade.args[0] if upgrade.args else len(data)
            self._upgrade_data = data[offset:]
            if self._upgrading is not None:
                # The handler switched protocols while its request was parsed.
                self._complete_upgrade(self._upgrading)
        except httptools.HttpParserCallbackError as err:
            cause = err.__context__
            if isinstance(cause, RejectRequest):
                self._reject(cause)
            else:
                log.error("Error while handling request data", exc_info=cause or err)
                self._reject(RejectRequest(500, "internal error while reading the request"))
        except httptools.HttpParserError as err:
            self._reject(RejectRequest(400, f"malformed request: {err}"))
        finally:
            # PERF: _flush_out inlined for the usual case (nothing flushed yet).
            if self._out is out:
                self._out = None
                if out and not self._closed:
                    transport = self._transport
                    if transport is not None:
                        transport.write(out[0] if len(out) == 1 else b"".join(out))
            else:
                self._flush_out()

    # -- parser callbacks ---------------------------------------------------

    def on_message_begin(self) -> None:
        self._in_message = True
        self._url = b""
        # PERF: HTTPHeaders.__new__ and a dict, without the __init__ frame.
        headers = _new_headers(HTTPHeaders)
        headers._as_list = {}
        self._headers = headers
        self._header_bytes = 0
        self._header_count = 0
        self._reading_headers = True
        self._deadline = self._loop.time() + self._config.header_timeout

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._header_bytes += len(url)
        if self._header_bytes > self._config.max_header_size:
            raise RejectRequest(431, "request line too long")

    def on_header(self, name: bytes, value: bytes) -> None:
        count = self._header_count = self._header_count + 1
        size = self._header_bytes = self._header_bytes + len(name) + len(value) + 4
        config = self._config
        if count > config.max_header_count:
            raise RejectRequest(431, f"more than {config.max_header_count} header fields")
        if size > config.max_header_size:
            raise RejectRequest(431, f"request headers larger than {config.max_header_size} bytes")
        # PERF: the canonical name is looked up by the raw bytes, inline;
        # HTTPHeaders.add would cost a decode and two more calls per header.
        canonical = _CANONICAL.get(name)
        if canonical is None:
            key = name.decode("latin-1")
            canonical = _NORMALIZED.get(key) or normalize_header_name(key)
            if len(_CANONICAL) < _CANONICAL_MAX:
                _CANONICAL[name] = canonical
        fields = self._headers._as_list
        values = fields.get(canonical)
        if values is None:
            fields[canonical] = [value.decode("latin-1")]
        else:
            values.append(value.decode("latin-1"))

    def on_headers_complete(self) -> None:
        if self._closed:
            return
        self._reading_headers = False
        self._raw_header_bytes = 0
        parser = self._parser
        headers = self._headers
        version = parser.get_http_version()
        raw_method = parser.get_method()
        method = _METHODS.get(raw_method) or raw_method.decode("ascii")
        fields = headers._as_list
        if (
            version == "1.1"
            and "Transfer-Encoding" not in fields
            and "Content-Length" not in fields
            and len(fields.get("Host", ())) == 1
        ):
            expected = False  # PERF: _check_framing's answer for a plain 1.1 GET
        else:
            expected = self._check_framing(version, headers)
        keep_alive = parser.should_keep_alive() and not self._config.no_keep_alive
        # PERF: tuple.__new__ skips the namedtuple's Python-level __new__.
        start_line: RequestStartLine = _new_start_line(
            RequestStartLine,
            (method, self._url.decode("latin-1"), _VERSIONS.get(version) or "HTTP/" + version),
        )
        cycle = RequestCycle(self, start_line, headers, keep_alive)
        # Memory: an idle connection should not keep its last request's headers.
        self._headers = _NO_HEADERS
        self._url = b""
        cycle.upgrade_requested = parser.should_upgrade()
        if expected:
            if (
                version == "1.1"
                and headers.get("Expect", "").lower() == "100-continue"
            ):
                cycle.expect_continue = True
            self._deadline = self._loop.time() + self._config.body_timeout
        else:
            self._deadline = 0.0
        self._parsing = cycle
        if self._current is None:
            self._activate(cycle)
        else:
            self._pipeline.append(cycle)
            self._update_reading()

    def on_body(self, body: bytes) -> None:
        cycle = self._parsing
        if cycle is None:
            return
        cycle.body_received += len(body)
        if cycle.body_received > self._config.max_body_size:
            raise RejectRequest(413, f"request body larger than {self._config.max_body_size} bytes")
        self._deadline = self._loop.time() + self._config.body_timeout
        if cycle.active and not cycle.busy and not cycle.events:
            self._deliver_data(cycle, body)
        else:
            cycle.events.append(body)
            self._buffered += len(body)
            self._update_reading()

    def on_message_complete(self) -> None:
        cycle = self._parsing
        self._parsing = None
        self._reading_headers = True
        self._in_message = False
        self._deadline = 0.0
        if cycle is None:
            return
        cycle.message_complete = True
        if cycle.active and not cycle.busy and not cycle.events:
            # PERF: _deliver_finish inlined for the usual path.
            delegate = cycle.delegate
            if delegate is None:
                return
            try:
                delegate.finish()
            except Exception:
                log.exception("Uncaught exception in finish for %s %s", cycle.method, cycle.url)
                self._abort_cycle(cycle)
        else:
            cycle.events.append(FINISH)

    # -- delivering to the delegate -----------------------------------------

    def _activate(self, cycle: RequestCycle) -> None:
        """Make ``cycle`` the request being answered and hand it to the delegate."""
        self._current = cycle
        cycle.active = True
        try:
            delegate = self._state.delegate.start_request(self, cycle)
            cycle.delegate = delegate
            result = delegate.headers_received(cycle.start_line, cycle.headers)
        except Exception:
            log.exception("Uncaught exception starting %s %s", cycle.method, cycle.url)
            self._abort_cycle(cycle)
            return
        if result is not None:
            self._wait_for(cycle, result)
        elif cycle.expect_continue or cycle.events:
            self._after_headers(cycle)

    def _after_headers(self, cycle: RequestCycle) -> None:
        if cycle.expect_continue and not cycle.message_complete and not cycle.response_started:
            cycle.expect_continue = False
            self._write(_CONTINUE)
        self._drain(cycle)

    def _deliver_data(self, cycle: RequestCycle, chunk: bytes) -> None:
        if cycle.response_finished or cycle.delegate is None:
            return
        try:
            result = cycle.delegate.data_received(chunk)
        except Exception:
            log.exception("Uncaught exception in data_received for %s %s", cycle.method, cycle.url)
            self._abort_cycle(cycle)
            return
        if result is not None:
            self._wait_for(cycle, result)

    def _deliver_finish(self, cycle: RequestCycle) -> None:
        if cycle.delegate is None:
            return
        try:
            cycle.delegate.finish()
        except Exception:
            log.exception("Uncaught exception in finish for %s %s", cycle.method, cycle.url)
            self._abort_cycle(cycle)

    def _wait_for(self, cycle: RequestCycle, awaitable: Awaitable[None]) -> None:
        """Hold further delivery to ``cycle`` (and reading) until ``awaitable`` is done."""
        cycle.busy = True
        self._update_reading()
        future = asyncio.ensure_future(awaitable, loop=self._loop)
        future.add_done_callback(lambda f: self._resume_delivery(cycle, f))

    def _resume_delivery(self, cycle: RequestCycle, future: asyncio.Future[Any]) -> None:
        cycle.busy = False
        if not future.cancelled() and future.exception() is not None:
            log.error("Uncaught exception from a request delegate", exc_info=future.exception())
            self._abort_cycle(cycle)
            return
        if self._closed:
            return
        if cycle.expect_continue:
            self._after_headers(cycle)
        else:
            self._drain(cycle)
        self._update_reading()

    def _drain(self, cycle: RequestCycle) -> None:
        """Deliver events buffered while ``cycle`` was queued or busy, in order."""
        events = cycle.events
        while events and not cycle.busy and not self._closed:
            event = events.pop(0)
            if isinstance(event, _Finish):
                self._deliver_finish(cycle)
            else:
                self._buffered -= len(event)
                self._deliver_data(cycle, event)
        self._update_reading()

    def _abort_cycle(self, cycle: RequestCycle) -> None:
        """A delegate failed: answer 500 if nothing was sent yet, then close."""
        if not cycle.response_started and not self._closed:
            self._write(_simple_response(500, "Internal Server Error"))
        self.close()

    # -- response side ------------------------------------------------------

    def _write(self, data: bytes) -> None:
        out = self._out
        if out is not None:
            out.append(data)
            return
        transport = self._transport
        if transport is not None and not self._closed:
            transport.write(data)

    def _flush_out(self) -> None:
        """Write what :meth:`data_received` collected; later writes go straight out."""
        out = self._out
        self._out = None
        if out:
            transport = self._transport
            if transport is not None and not self._closed:
                transport.write(out[0] if len(out) == 1 else b"".join(out))

    def on_response_finished(self, cycle: RequestCycle) -> None:
        """Called by ``cycle`` once its last byte is written."""
        if cycle is not self._current:
            return
        self._current = None
        # PERF: cycle -> delegate -> cycle is a reference cycle; breaking it
        # frees the request's objects by reference counting instead of the GC.
        cycle.delegate = None
        if (
            not cycle.keep_alive
            or not cycle.message_complete
            or self._shutting_down
            or self._upgrade_data is not None
        ):
            # A body we did not read to its end leaves the framing unknown.
            self.close()
            return
        if self._pipeline:
            self._activate(self._pipeline.pop(0))
        elif self._pending_error is not None:
            self._send_rejection(self._pending_error)
        elif self._parsing is None:
            self._deadline = self._loop.time() + self._config.idle_connection_timeout
            if not self._reading_paused and not self._buffered:
                return  # PERF: idle and reading: _update_reading has nothing to do
        self._update_reading()

    @property
    def context(self) -> ConnectionContext:
        if self._context is None:
            raise RuntimeError("connection context read before the connection was made")
        return self._context

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    # -- limits, errors and flow control ------------------------------------

    def _check_framing(self, version: str, headers: HTTPHeaders) -> bool:
        """Refuse ambiguous message framing; say whether a body follows.

        RFC 9112 §6.3: a request with both Transfer-Encoding and Content-Length
        is a smuggling attempt (we never guess which one wins); duplicate or
        non-numeric Content-Length is faulty framing; a transfer coding other
        than ``chunked`` cannot be delimited by us (answered 400, as §6.1
        permits, and the connection closed).
        """
        fields = headers._as_list
        te = fields.get("Transfer-Encoding")
        cl = fields.get("Content-Length")
        if te:
            if cl:
                raise RejectRequest(400, "both Transfer-Encoding and Content-Length present")
            if version == "1.0":
                raise RejectRequest(400, "Transfer-Encoding in an HTTP/1.0 request")
            if len(te) != 1 or te[0].strip().lower() != "chunked":
                raise RejectRequest(400, f"unsupported Transfer-Encoding {', '.join(te)!r}")
            return True
        if cl:
            if len(cl) != 1 or "," in cl[0]:
                raise RejectRequest(400, "duplicate Content-Length")
            value = cl[0].strip()
            if not value.isdigit() or not value.isascii():
                raise RejectRequest(400, f"malformed Content-Length {value!r}")
            length = int(value)
            if length > self._config.max_body_size:
                raise RejectRequest(
                    413, f"Content-Length {length} exceeds {self._config.max_body_size} bytes"
                )
            return length > 0
        if version == "1.1":
            hosts = fields.get("Host")
            if hosts is None or len(hosts) != 1:
                # RFC 9112 §3.2: exactly one Host field in an HTTP/1.1 request.
                raise RejectRequest(400, "HTTP/1.1 request needs exactly one Host header")
        return False

    def _check_raw_header_size(self, data: bytes) -> bool:
        """Bound header bytes llhttp buffers before any callback can count them."""
        limit = self._config.max_header_size
        total = self._raw_header_bytes + len(data)
        if total <= limit:
            self._raw_header_bytes = total
            return True
        end = data.find(b"\r\n\r\n")
        if end != -1 and self._raw_header_bytes + end + 4 <= limit:
            self._raw_header_bytes = 0
            return True
        self._reject(RejectRequest(431, f"request headers larger than {limit} bytes"))
        return False

    def _reject(self, error: RejectRequest) -> None:
        """Answer a misbehaving peer once the responses before it are sent."""
        parsing = self._parsing
        self._pending_error = error
        self._parsing = None
        self._deadline = 0.0
        self._pause_reading()
        if parsing is not None and parsing is self._current and not parsing.response_started:
            # The request being answered is itself bad (e.g. its chunked body
            # grew past the limit): it gets the error instead of a response.
            parsing.response_finished = True
            self._current = None
            self._pipeline.clear()
            if parsing.delegate is not None:
                try:
                    parsing.delegate.on_connection_close()
                except Exception:
                    log.exception("Error in on_connection_close")
        if self._current is None and not self._pipeline:
            self._send_rejection(error)

    def _send_rejection(self, error: RejectRequest) -> None:
        log.info("Rejected request from %s: %d %s", self.context.remote_ip, error.status, error.message)
        self._write(_simple_response(error.status, error.message))
        self._linger_close()

    def _linger_close(self) -> None:
        """Close after the client has read our error, not in its face.

        Closing a socket with unread input makes the kernel send RST, which can
        destroy the response in flight. Like nginx's lingering close, we send
        FIN, discard what still arrives, and close at EOF or after a short wait.
        """
        transport = self._transport
        if transport is None or self._closed:
            return
        if not transport.can_write_eof():
            self.close()
            return
        self._flush_out()
        transport.write_eof()
        self._lingering = True
        self._shutting_down = True
        self._pending_error = self._pending_error or RejectRequest(400, "closing")
        self._deadline = self._loop.time() + _LINGER_SECONDS
        if self._reading_paused:
            self._reading_paused = False
            transport.resume_reading()

    def on_timeout(self) -> None:
        """The server's reaper found this connection past its deadline."""
        self._deadline = 0.0
        parsing = self._parsing
        waiting_for_client = self._current is None or (
            parsing is self._current and parsing is not None and not parsing.response_started
        )
        if self._pending_error is None and self._in_message and waiting_for_client:
            self._reject(RejectRequest(408, "timed out reading the request"))
            return
        self.close()

    @property
    def deadline(self) -> float:
        return self._deadline

    def _update_reading(self) -> None:
        if self._lingering:
            return
        if (
            not self._reading_paused
            and not self._buffered
            and not self._pipeline
            and self._pending_error is None
            and (self._current is None or not self._current.busy)
        ):
            return  # PERF: reading and nothing queued: the usual state
        current = self._current
        config = self._config
        should_pause = (
            self._buffered > config.read_high_water
            or len(self._pipeline) >= config.max_pipelined
            or (current is not None and current.busy)
            or self._pending_error is not None
        )
        if should_pause:
            self._pause_reading()
        elif self._reading_paused:
            self._reading_paused = False
            if self._transport is not None and not self._closed:
                self._transport.resume_reading()
                if self._parsing is not None and not self._reading_headers:
                    self._deadline = self._loop.time() + config.body_timeout

    def _pause_reading(self) -> None:
        if not self._reading_paused and self._transport is not None and not self._closed:
            self._reading_paused = True
            self._transport.pause_reading()
            if self._parsing is not None and not self._reading_headers:
                self._deadline = 0.0  # not the client's fault that we stopped reading

    # -- closing ------------------------------------------------------------

    def shutdown(self, idle_grace: float = 0.0) -> None:
        """Finish the response in flight, then close.

        An idle keep-alive connection stays open ``idle_grace`` seconds: a
        client may already have sent its next request on it, and closing under
        that request would lose it. Such a request is answered with
        ``Connection: close``; the reaper closes the connection otherwise.
        """
        self._shutting_down = True
        if self._current is None and not self._pipeline and not self._in_message:
            if idle_grace <= 0:
                self.close()
            else:
                self._deadline = self._loop.time() + idle_grace

    @property
    def idle(self) -> bool:
        return self._current is None and not self._pipeline

    def close(self) -> None:
        if self._transport is not None and not self._closed:
            self._flush_out()
            self._closed = True
            self._transport.close()

    def upgrade(self, cycle: RequestCycle, protocol: UpgradedProtocol) -> None:
        """Give the connection to ``protocol`` after ``cycle`` sent its 101 response.

        ``protocol`` gets ``connection_made`` (and ``pause_writing`` if the
        transport is paused), then the bytes the client sent after its request,
        then everything else the transport delivers. The connection stops
        counting as an HTTP connection but stays known to the server, which
        calls ``protocol.shutdown()`` when it drains.
        """
        if self._transport is None or self._closed:
            raise HTTPOutputError("cannot upgrade: the connection is closed")
        if cycle is not self._current:
            raise HTTPOutputError("cannot upgrade: the request is not the one being answered")
        if not cycle.upgrade_requested:
            raise HTTPOutputError("cannot upgrade a request without Upgrade and Connection: upgrade")
        if not cycle.switched_protocols:
            raise HTTPOutputError("cannot upgrade before writing a 101 Switching Protocols response")
        cycle.response_finished = True
        self._current = None
        if self._upgrade_data is None:
            # Still inside feed_data: the leftover bytes are known once llhttp
            # returns, in data_received, which completes the switch.
            self._upgrading = protocol
        else:
            self._complete_upgrade(protocol)

    def _complete_upgrade(self, protocol: UpgradedProtocol) -> None:
        transport = self._transport
        if transport is None:
            raise RuntimeError("upgrade completed without a transport")
        self._flush_out()
        leftover = self._upgrade_data or b""
        self._upgrade_data = b""
        self._upgrading = None
        self._closed = True
        self._deadline = 0.0
        self._state.connections.discard(self)
        connection = UpgradedConnection(self._state, protocol)
        transport.set_protocol(connection)
        connection.connection_made(transport)
        if self._writing_paused:
            connection.pause_writing()
        if self._reading_paused:
            self._reading_paused = False
            transport.resume_reading()
        if leftover:
            connection.data_received(leftover)
        if self._state.closing:
            connection.shutdown()
        self._state.on_connection_closed(self)

    def detach(self) -> tuple[asyncio.Transport, bytes]:
        """Hand the raw transport (and any bytes read past the request) to the caller.

        The caller must ``transport.set_protocol()`` at once, or later bytes
        are lost. HTTP parsing stops and the connection no longer counts as a
        connection of the server (prefer :meth:`upgrade`, which keeps it known
        to the server's drain).
        """
        if self._transport is None or self._closed:
            raise RuntimeError("cannot detach a closed connection")
        current = self._current
        if current is not None and current.upgrade_requested and self._upgrade_data is None:
            raise RuntimeError(
                "cannot detach while the upgrade request is still being parsed: the bytes "
                "after it are not known yet; detach from a coroutine, or use upgrade()"
            )
        self._flush_out()
        transport = self._transport
        leftover = self._upgrade_data or b""
        self._upgrade_data = None
        self._closed = True
        self._current = None
        self._state.connections.discard(self)
        self._state.on_connection_closed(self)
        return transport, leftover


class ConnectionContext:
    """Who is on the other end: address, IP and scheme, proxies considered."""

    __slots__ = ("address", "decompress_request", "max_body_size", "protocol", "remote_ip",
                 "trusted_downstream", "xheaders")

    def __init__(self, transport: asyncio.BaseTransport, config: ServerConfig) -> None:
        peer = transport.get_extra_info("peername")
        self.address: Any = peer
        if isinstance(peer, tuple) and peer:
            self.remote_ip: str = str(peer[0])
        else:
            self.remote_ip = "0.0.0.0"
        self.protocol = "https" if transport.get_extra_info("sslcontext") is not None else "http"
        self.xheaders = config.xheaders
        self.trusted_downstream = config.trusted_downstream
        # Carried for the application, which decompresses bodies within this limit.
        self.decompress_request = config.decompress_request
        self.max_body_size = config.max_body_size

    def __str__(self) -> str:
        return self.remote_ip


def _simple_response(status: int, message: str) -> bytes:
    body = (message + "\n").encode("utf-8", "replace")
    reason = REASONS.get(status, "Error")
    return (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode("latin-1") + body
