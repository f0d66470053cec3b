"""Free ports for tests."""

from __future__ import annotations

import socket

from squall.http.server import bind_sockets


def bind_unused_port(reuse_port: bool = False, address: str = "127.0.0.1") -> tuple[socket.socket, int]:
    """A listening socket on a free port of ``address``, and that port."""
    sock = bind_sockets(0, address, family=socket.AF_INET, reuse_port=reuse_port)[0]
    return sock, int(sock.getsockname()[1])
