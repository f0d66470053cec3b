"""Listening sockets, live connections and graceful shutdown for one HTTP server."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
import ssl
from collections.abc import Callable, Iterable
from typing import Any

from squall.http.config import ServerConfig
from squall.http.delegate import HTTPServerConnectionDelegate
from squall.http.protocol import HTTP1ServerProtocol
from squall.http.upgrade import UpgradedConnection

log = logging.getLogger("squall.general")


class ServerState:
    """Everything the connections of one server share, passed to each of them."""

    __slots__ = ("_reaper", "_reaper_interval", "closing", "config", "connections",
                 "delegate", "done", "idle_waiter", "loop", "upgraded")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        delegate: HTTPServerConnectionDelegate,
        config: ServerConfig,
    ) -> None:
        self.loop = loop
        self.delegate = delegate
        self.config = config
        self.connections: set[HTTP1ServerProtocol] = set()
        # Upgraded (e.g. WebSocket) connections: not HTTP any more, so neither
        # reaped nor counted as HTTP connections, but a drain still ends them.
        self.upgraded: set[UpgradedConnection] = set()
        self.closing = False
        # One completed future shared by every connection's drain() when
        # writing is not paused (a future per connection would cost memory).
        self.done: asyncio.Future[None] = loop.create_future()
        self.done.set_result(None)
        self.idle_waiter: asyncio.Future[None] | None = None
        self._reaper: asyncio.TimerHandle | None = None
        smallest = min(config.header_timeout, config.body_timeout, config.idle_connection_timeout)
        self._reaper_interval = max(0.05, min(1.0, smallest / 4))

    def start_reaper(self) -> None:
        if self._reaper is None:
            self._reaper = self.loop.call_later(self._reaper_interval, self._reap)

    def stop_reaper(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None

    def _reap(self) -> None:
        # PERF: one timer per server sweeps deadlines, instead of a timer
        # handle created and cancelled for every request.
        now = self.loop.time()
        for conn in list(self.connections):
            deadline = conn.deadline
            if deadline and deadline < now:
                conn.on_timeout()
        self._reaper = self.loop.call_later(self._reaper_interval, self._reap)

    def on_connection_closed(self, conn: HTTP1ServerProtocol) -> None:
        delegate_close = getattr(self.delegate, "on_close", None)
        if delegate_close is not None:
            delegate_close(conn)
        self._check_idle()

    def on_upgraded_closed(self) -> None:
        self._check_idle()

    def _check_idle(self) -> None:
        if self.connections or self.upgraded:
            return
        if self.idle_waiter is not None and not self.idle_waiter.done():
            self.idle_waiter.set_result(None)


def bind_sockets(
    port: int,
    address: str | None = None,
    family: socket.AddressFamily = socket.AF_UNSPEC,
    backlog: int = 1024,
    reuse_port: bool = False,
) -> list[socket.socket]:
    """Create listening, non-blocking sockets for every address ``address`` resolves to.

    ``port=0`` picks a free port; all sockets of one call share it.
    """
    if reuse_port and not hasattr(socket, "SO_REUSEPORT"):
        raise ValueError("reuse_port=True but this platform has no SO_REUSEPORT")
    host = address or None
    if address == "":
        host = None
    infos = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
    sockets: list[socket.socket] = []
    bound_port: int | None = None
    seen: set[Any] = set()
    for af, socktype, proto, _name, sockaddr in sorted(infos, key=lambda i: i[0]):
        if sockaddr in seen:
            continue
        seen.add(sockaddr)
        sock = socket.socket(af, socktype, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if af == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            addr = sockaddr
            if bound_port is not None and port == 0:
                addr = (sockaddr[0], bound_port, *sockaddr[2:])
            try:
                sock.bind(addr)
            except OSError as err:
                if err.errno == errno.EADDRNOTAVAIL and af == socket.AF_INET6:
                    sock.close()  # no IPv6 on this host: the IPv4 socket serves
                    continue
                raise OSError(err.errno, f"cannot listen on {addr!r}: {err.strerror}") \
                    from None
            sock.setblocking(False)
            sock.listen(backlog)
        except BaseException:
            sock.close()
            for other in sockets:
                other.close()
            raise
        bound_port = sock.getsockname()[1]
        sockets.append(sock)
    if not sockets:
        raise OSError(f"no usable address to listen on for {address!r}:{port}")
    return sockets


def bind_unix_socket(path: str, mode: int = 0o600, backlog: int = 1024) -> socket.socket:
    """A listening Unix socket at ``path``, replacing a stale socket file."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        if os.path.exists(path):
            import stat

            if not stat.S_ISSOCK(os.stat(path).st_mode):
                raise ValueError(f"{path} exists and is not a socket; refusing to replace it")
            os.unlink(path)
        sock.bind(path)
        os.chmod(path, mode)
        sock.setblocking(False)
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


class HTTPServerCore:
    """Accepts connections on sockets and serves them with one delegate.

    ``squall.httpserver.HTTPServer`` is the Tornado-shaped face of this class.
    """

    def __init__(
        self,
        delegate: HTTPServerConnectionDelegate,
        config: ServerConfig,
        ssl_options: ssl.SSLContext | dict[str, Any] | None = None,
        loop_getter: Callable[[], asyncio.AbstractEventLoop] | None = None,
    ) -> None:
        self.delegate = delegate
        self.config = config
        self.ssl_context = _ssl_context(ssl_options)
        self._loop_getter = loop_getter
        self._state: ServerState | None = None
        self._servers: list[asyncio.AbstractServer] = []
        self._sockets: list[socket.socket] = []
        self._pending: list[asyncio.Task[Any]] = []
        self._pending_sockets: list[socket.socket] = []

    @property
    def state(self) -> ServerState:
        if self._state is None:
            loop = self._loop_getter() if self._loop_getter else asyncio.get_event_loop()
            self._state = ServerState(loop, self.delegate, self.config)
        return self._state

    @property
    def connections(self) -> set[HTTP1ServerProtocol]:
        return self.state.connections

    def add_sockets(self, sockets: Iterable[socket.socket]) -> None:
        """Start accepting on already-listening sockets."""
        state = self.state
        loop = state.loop
        for sock in sockets:
            self._sockets.append(sock)
            coro = loop.create_server(
                lambda: HTTP1ServerProtocol(state), sock=sock, ssl=self.ssl_context,
                backlog=1024,
            )
            if loop.is_running():
                task = loop.create_task(coro)
                self._pending.append(task)
                task.add_done_callback(self._server_started)
            else:
                self._servers.append(loop.run_until_complete(coro))
        state.start_reaper()

    def _server_started(self, task: asyncio.Task[asyncio.AbstractServer]) -> None:
        if task in self._pending:
            self._pending.remove(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("Could not start serving", exc_info=exc)
            return
        server = task.result()
        if self.state.closing:
            server.close()
        else:
            self._servers.append(server)

    async def wait_started(self) -> None:
        """Wait until every socket added so far is accepting."""
        while self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    @property
    def sockets(self) -> list[socket.socket]:
        return list(self._sockets)

    def stop(self) -> None:
        """Stop accepting: new connections are refused from now on.

        Connections already open keep being served; see
        :meth:`close_all_connections` to drain them.
        """
        state = self.state
        state.closing = True
        for task in self._pending:
            task.cancel()
        for server in self._servers:
            server.close()
        for sock in self._sockets:
            try:
                sock.close()
            except OSError:
                pass
        self._servers.clear()
        self._sockets.clear()

    async def close_all_connections(
        self, timeout: float | None = None, idle_grace: float = 0.5
    ) -> None:
        """Drain: every connection closes after its response in flight.

        Idle keep-alive connections get ``idle_grace`` seconds in which a
        request already on its way is still answered (with ``Connection:
        close``). Upgraded connections are asked to shut down (a WebSocket
        closes with 1001 Going Away) and waited for too. Connections still
        open after ``timeout`` seconds are closed (upgraded ones aborted).
        """
        state = self.state
        state.closing = True
        if timeout is not None:
            idle_grace = min(idle_grace, timeout)
        for conn in list(state.connections):
            conn.shutdown(idle_grace)
        for upgraded in list(state.upgraded):
            upgraded.shutdown()
        if state.connections or state.upgraded:
            state.idle_waiter = state.loop.create_future()
            try:
                await asyncio.wait_for(asyncio.shield(state.idle_waiter), timeout)
            except TimeoutError:
                log.warning("%d connections still open after %ss; closing them",
                            len(state.connections) + len(state.upgraded), timeout)
                for conn in list(state.connections):
                    conn.close()
                for upgraded in list(state.upgraded):
                    upgraded.abort()
        state.stop_reaper()


def _ssl_context(options: ssl.SSLContext | dict[str, Any] | None) -> ssl.SSLContext | None:
    if options is None or isinstance(options, ssl.SSLContext):
        return options
    if not isinstance(options, dict):
        raise TypeError(f"ssl_options must be an SSLContext or a dict, got {type(options).__name__}")
    unknown = set(options) - {"certfile", "keyfile", "cert_reqs", "ca_certs", "ciphers"}
    if unknown:
        raise ValueError(f"unknown ssl_options keys {sorted(unknown)}")
    if "certfile" not in options:
        raise ValueError("ssl_options needs a 'certfile'")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(options["certfile"], options.get("keyfile"))
    if "cert_reqs" in options:
        context.verify_mode = options["cert_reqs"]
    if "ca_certs" in options:
        context.load_verify_locations(options["ca_certs"])
    if "ciphers" in options:
        context.set_ciphers(options["ciphers"])
    return context
