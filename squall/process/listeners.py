"""Bind the listening sockets the supervisor owns and hands down to every worker.

The supervisor binds before any worker starts and keeps its copies open, so a
worker's exit (crash, rolling restart) never closes a port: connections wait in
the kernel's accept queue until a live worker accepts them. That is why
``SO_REUSEPORT`` is not needed for sharing, and is off by default: with it, a
second squall started on the same port by mistake would silently split traffic.
"""

from __future__ import annotations

import socket

BACKLOG = 1024


def bind_socket(address: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """A listening TCP socket on ``address:port``; raise ``OSError`` naming both on failure."""
    try:
        infos = socket.getaddrinfo(
            address, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise OSError(f"cannot resolve address {address!r}: {exc}") from exc
    family, kind, proto, _name, sockaddr = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port and hasattr(socket, "SO_REUSEPORT"):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(sockaddr)
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot listen on {address}:{port}: {exc.strerror}") from exc
    sock.set_inheritable(True)
    return sock


def bind_listeners(
    address: str, port: int, *, instances: int, per_port: bool, reuse_port: bool = False
) -> list[socket.socket]:
    """One socket per instance on consecutive ports (per-port), or one shared socket."""
    if instances < 1:
        raise ValueError(f"instances must be at least 1, not {instances}")
    ports = [port + i for i in range(instances)] if per_port else [port]
    sockets: list[socket.socket] = []
    try:
        for p in ports:
            sockets.append(bind_socket(address, p, reuse_port=reuse_port))
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets
