"""One request/response exchange on a connection (the delegate's ``HTTPConnection``)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Final

from squall.http.delegate import HTTPMessageDelegate, RequestStartLine, ResponseStartLine
from squall.http.headers import HTTPHeaders
from squall.http.status import REASONS, STATUS_LINES, status_line

if TYPE_CHECKING:
    import asyncio

    from squall.http.protocol import ConnectionContext, HTTP1ServerProtocol
    from squall.http.upgrade import UpgradedProtocol


# PERF: the status line of a standard (version, code, reason) start line is one
# dict lookup keyed by the start line itself (a namedtuple hashes as a tuple).
_STANDARD_LINES: Final[dict[tuple[str, int, str], bytes]] = {
    ("HTTP/1.1", code, reason): STATUS_LINES[code] for code, reason in REASONS.items()
}


class _Finish:
    """Marks the end of a request body among buffered body chunks."""

    __slots__ = ()

    def __len__(self) -> int:
        return 0


FINISH: Final = _Finish()


class HTTPOutputError(Exception):
    """The application misused the response API (wrong length, write after finish)."""


class RequestCycle:
    """Request framing state and the response writer for one request.

    The application writes through :meth:`write_headers`, :meth:`write` and
    :meth:`finish` (Tornado's ``HTTP1Connection`` shape) or, when the whole
    response is known at once, :meth:`write_response`, which sends it with a
    single ``transport.write``.
    """

    __slots__ = (
        "_chunked", "_expected_length", "_protocol", "_written_length", "active",
        "body_received", "busy", "context", "delegate", "events", "expect_continue", "headers",
        "is_head", "keep_alive", "message_complete", "method", "response_finished",
        "response_started", "start_line", "stream", "switched_protocols", "upgrade_requested",
        "url", "version",
    )

    def __init__(
        self,
        protocol: HTTP1ServerProtocol,
        start_line: RequestStartLine,
        headers: HTTPHeaders,
        keep_alive: bool,
    ) -> None:
        # request
        self._protocol = protocol
        # PERF: plain attributes, not properties: the request and the handler
        # read them for every request.
        self.stream: HTTP1ServerProtocol = protocol
        self.context: ConnectionContext = protocol.context
        self.start_line = start_line
        self.method, self.url, self.version = start_line
        self.headers = headers
        self.keep_alive = keep_alive
        self.is_head = self.method == "HEAD"
        self.expect_continue = False
        # Upgrade + Connection: upgrade were sent; llhttp parses nothing after it.
        self.upgrade_requested = False
        # delivery to the delegate
        self.delegate: HTTPMessageDelegate | None = None
        self.active = False
        self.busy = False
        self.events: list[bytes | _Finish] = []
        self.message_complete = False
        self.body_received = 0
        # response
        self.response_started = False
        self.response_finished = False
        self._chunked = False
        self._expected_length: int | None = None
        self._written_length = 0
        self.switched_protocols = False

    def set_close_callback(self, callback: object) -> None:
        """Accepted for Tornado compatibility; squall calls ``on_connection_close``."""

    def _head(
        self, start_line: ResponseStartLine, headers: HTTPHeaders, length: int | None = None
    ) -> bytes:
        """The response head; ``length`` is the Content-Length the caller just set."""
        if self.response_started:
            raise HTTPOutputError("response headers already written")
        code = start_line.code
        if code == 101:
            return self._switching_protocols_head(start_line, headers)
        self.response_started = True
        if self.upgrade_requested or self._protocol._shutting_down:
            # llhttp stops parsing at an upgrade request, so a connection
            # whose upgrade was refused cannot carry another request.
            self.keep_alive = False
        bodyless = self.is_head or code == 204 or code == 304 or code < 200
        fields = headers._as_list
        if length is not None:
            # PERF: the length write_response just set needs no int() parse.
            self._expected_length = length
        elif (lengths := fields.get("Content-Length")) is not None:
            try:
                self._expected_length = int(lengths[0])
            except ValueError:
                raise HTTPOutputError(
                    f"Content-Length {lengths[0]!r} is not an integer"
                ) from None
        elif not bodyless and "Transfer-Encoding" not in fields:
            if self.version == "HTTP/1.1":
                self._chunked = True
                headers["Transfer-Encoding"] = "chunked"
            else:
                # HTTP/1.0 has no chunking: the end of the body is the close.
                self.keep_alive = False
        if not self.keep_alive:
            fields["Connection"] = ["close"]
        elif self.version == "HTTP/1.0":
            fields["Connection"] = ["keep-alive"]
        if bodyless:
            self._expected_length = None
        line = _STANDARD_LINES.get(start_line)
        if line is None:
            line = status_line(code, start_line.reason)
        return line + _header_block(fields)

    def _switching_protocols_head(
        self, start_line: ResponseStartLine, headers: HTTPHeaders
    ) -> bytes:
        # RFC 9110 §15.2.2: 101 only answers a request that asked to upgrade;
        # the headers go out as given (no Connection: close, no framing).
        if not self.upgrade_requested:
            raise HTTPOutputError(
                "101 Switching Protocols for a request without Upgrade and Connection: upgrade"
            )
        block = _header_block(headers._as_list)
        self.response_started = True
        self.switched_protocols = True
        return status_line(101, start_line.reason) + block

    def _frame(self, chunk: bytes) -> bytes:
        if self.is_head or not chunk:
            return b""
        self._written_length += len(chunk)
        if self._expected_length is not None and self._written_length > self._expected_length:
            raise HTTPOutputError(
                f"tried to write {self._written_length} bytes, more than the "
                f"Content-Length of {self._expected_length}"
            )
        if self._chunked:
            return b"%x\r\n%b\r\n" % (len(chunk), chunk)
        return chunk

    def write_headers(
        self,
        start_line: ResponseStartLine,
        headers: HTTPHeaders,
        chunk: bytes | None = None,
    ) -> Awaitable[None]:
        """Send the status line and headers (and a first body chunk)."""
        data = self._head(start_line, headers)
        if chunk:
            data += self._frame(chunk)
        self._protocol._write(data)
        return self._protocol.drain()

    def write(self, chunk: bytes) -> Awaitable[None]:
        """Send a body chunk; await the result to respect back-pressure."""
        if not self.response_started:
            raise HTTPOutputError("write() called before write_headers()")
        if self.response_finished:
            raise HTTPOutputError("write() called after finish()")
        data = self._frame(chunk)
        if data:
            self._protocol._write(data)
        return self._protocol.drain()

    def finish(self) -> None:
        """End the response; the connection moves on to the next request."""
        if self.response_finished:
            raise HTTPOutputError("finish() called twice")
        if not self.response_started:
            raise HTTPOutputError("finish() called before write_headers()")
        if self._expected_length is not None and self._written_length != self._expected_length:
            self.keep_alive = False
            self.response_finished = True
            self._protocol.on_response_finished(self)
            raise HTTPOutputError(
                f"response ended after {self._written_length} of "
                f"{self._expected_length} bytes promised by Content-Length"
            )
        if self._chunked:
            self._protocol._write(b"0\r\n\r\n")
        self.response_finished = True
        self._protocol.on_response_finished(self)

    def write_response(
        self, start_line: ResponseStartLine, headers: HTTPHeaders, body: bytes
    ) -> None:
        """Send a complete response with one ``transport.write`` and finish."""
        # PERF: one write and no chunk framing for the common whole-body case.
        code = start_line.code
        fields = headers._as_list
        length = None
        if "Content-Length" not in fields and code >= 200 and code != 204 and code != 304:
            length = len(body)
            fields["Content-Length"] = [str(length)]
        data = self._head(start_line, headers, length)
        if body and not self.is_head and self._expected_length is not None:
            if len(body) != self._expected_length:
                self.keep_alive = False
                raise HTTPOutputError(
                    f"body of {len(body)} bytes does not match Content-Length "
                    f"{self._expected_length}"
                )
            data += body
        protocol = self._protocol
        # PERF: protocol._write inlined: inside data_received the response
        # joins the read's batch.
        out = protocol._out
        if out is not None:
            out.append(data)
        else:
            protocol._write(data)
        self.response_finished = True
        protocol.on_response_finished(self)

    def upgrade(self, protocol: UpgradedProtocol) -> None:
        """After a 101 response: hand the connection to ``protocol`` (see the protocol's)."""
        self._protocol.upgrade(self, protocol)

    def detach(self) -> tuple[asyncio.Transport, bytes]:
        """Take over the raw connection (protocol upgrades)."""
        transport, leftover = self._protocol.detach()
        self.response_finished = True
        return transport, leftover


def _header_block(fields: dict[str, list[str]]) -> bytes:
    """The header lines and the blank line ending them; refuses CR/LF in values."""
    # PERF: one loop, no generator or comprehension frame; the CR/LF check
    # counts instead of rescanning a copy: each line ends in exactly one CR
    # and one LF, so any more of either came from a name or value.
    lines = []
    for name, values in fields.items():
        if len(values) == 1:
            lines.append(f"{name}: {values[0]}\r\n")
        else:
            for value in values:
                lines.append(f"{name}: {value}\r\n")
    block = "".join(lines)
    count = len(lines)
    if block.count("\n") != count or block.count("\r") != count:
        raise HTTPOutputError(f"CR or LF in a response header value: {block!r}")
    return block.encode("latin-1") + b"\r\n"
