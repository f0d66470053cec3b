"""A tiny HTTP/1.1 responder used by workers only while ``squall.httpserver`` is absent.

It mirrors the slice of ``HTTPServer`` the worker calls (``add_sockets``, ``stop``,
``close_all_connections(timeout=)``) so the supervisor can be developed and tested
before the real server lands. Its "app" is ``async def app(method, path) ->
(status, body)``. Not part of the public API; delete once the real server serves.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable

StandInApp = Callable[[str, str], Awaitable[tuple[int, bytes]]]

#: During a drain, an idle keep-alive connection gets this long to send one more
#: request (answered with ``Connection: close``) before it is closed.
DRAIN_IDLE_GRACE = 1.0


class _Conn:
    __slots__ = ("busy", "writer")

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.busy = False


class StandInServer:
    def __init__(self, app: StandInApp, xheaders: bool = False) -> None:
        self._app = app
        self._sockets: list[socket.socket] = []
        self._conns: set[_Conn] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._draining = False
        self._drain_started = 0.0

    def add_sockets(self, sockets: list[socket.socket]) -> None:
        loop = asyncio.get_running_loop()
        for sock in sockets:
            sock.setblocking(False)
            self._sockets.append(sock)
            loop.add_reader(sock.fileno(), self._accept, sock)

    def _accept(self, sock: socket.socket) -> None:
        for _ in range(64):
            try:
                conn, _addr = sock.accept()
            except (BlockingIOError, InterruptedError):
                return  # another worker sharing the socket won the race
            except OSError:
                return
            task = asyncio.get_running_loop().create_task(self._serve(conn))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def stop(self) -> None:
        loop = asyncio.get_running_loop()
        for sock in self._sockets:
            loop.remove_reader(sock.fileno())
            sock.close()
        self._sockets.clear()

    async def close_all_connections(self, timeout: float | None = None) -> None:
        self._draining = True
        self._drain_started = asyncio.get_running_loop().time()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
        for conn in list(self._conns):
            conn.writer.close()

    async def _read_head(self, reader: asyncio.StreamReader) -> bytes | None:
        # Poll so an idle connection notices a drain; a cancelled readuntil keeps
        # its buffered bytes, so nothing is lost between polls.
        loop = asyncio.get_running_loop()
        idle_since = loop.time()
        while True:
            try:
                return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 0.2)
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                return None
            except TimeoutError:
                if self._draining:
                    idle_since = max(idle_since, self._drain_started)
                    if loop.time() - idle_since > DRAIN_IDLE_GRACE:
                        return None

    async def _serve(self, sock: socket.socket) -> None:
        reader, writer = await asyncio.open_connection(sock=sock)
        conn = _Conn(writer)
        self._conns.add(conn)
        try:
            while True:
                head = await self._read_head(reader)
                if head is None:
                    return
                conn.busy = True
                lines = head.decode("latin-1").split("\r\n")
                method, path, version = ([*lines[0].split(" "), "", "", ""])[:3]
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0") or "0")
                if length:
                    await reader.readexactly(length)
                keep_alive = (
                    version == "HTTP/1.1"
                    and headers.get("connection", "").lower() != "close"
                    and not self._draining
                )
                try:
                    status, body = await self._app(method, path)
                except Exception:
                    status, body = 500, b"internal error\n"
                keep_alive = keep_alive and not self._draining
                writer.write(
                    f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n"
                    f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
                conn.busy = False
                if not keep_alive:
                    return
        except ConnectionError:
            return
        finally:
            self._conns.discard(conn)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
