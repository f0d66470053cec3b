"""One worker process: import the app, serve it on inherited sockets, drain on SIGTERM.

The supervisor starts each worker as ``python -m squall.process`` (fork and
exec), passing the listening sockets as inherited file descriptors. A fresh
interpreter per worker means a rolling restart loads new code, and no event loop
state is shared across a fork.

Signals: TERM/INT stop accepting and drain in-flight requests for up to
``graceful_timeout`` seconds, then exit 0; QUIT exits at once; USR1 reopens the
log file.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import signal
import socket
import sys
from collections.abc import Sequence
from typing import Protocol

from squall.process.daemon import try_reopen_log
from squall.process.listeners import bind_socket
from squall.process.loader import AppLoadError, load_app

log = logging.getLogger("squall.process.worker")

#: Exit status of a worker whose app failed to import (the supervisor backs off).
EXIT_APP_LOAD = 3
LOG_FORMAT = "%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s"


class Server(Protocol):
    """The slice of ``squall.httpserver.HTTPServer`` a worker relies on."""

    def add_sockets(self, sockets: list[socket.socket]) -> None: ...

    def stop(self) -> None: ...

    async def close_all_connections(self, timeout: float | None = None) -> None: ...


def make_server(app: object) -> Server:
    """``HTTPServer(app, xheaders=True)``: behind a proxy, trust X-Real-IP and friends."""
    module = importlib.import_module("squall.httpserver")
    server: Server = module.HTTPServer(app, xheaders=True)
    return server


def configure_logging(debug: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO, format=LOG_FORMAT, stream=sys.stderr
    )


def run_worker(
    app_spec: str,
    sockets: Sequence[socket.socket] | None = None,
    *,
    port: int | None = None,
    address: str = "127.0.0.1",
    graceful_timeout: float = 30.0,
    ready_fd: int | None = None,
    log_file: str | None = None,
) -> int:
    """Serve ``app_spec`` until signalled; return the process exit status.

    Either ``sockets`` (inherited from the supervisor) or ``port`` (bind here).
    ``ready_fd`` receives one byte once the server accepts connections.
    """
    if sockets is None:
        if port is None:
            raise ValueError("run_worker needs sockets or a port")
        sockets = [bind_socket(address, port)]
    from squall.ioloop import new_event_loop

    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(_serve(app_spec, list(sockets), graceful_timeout, ready_fd, log_file))


async def _serve(
    app_spec: str,
    sockets: list[socket.socket],
    graceful_timeout: float,
    ready_fd: int | None,
    log_file: str | None,
) -> int:
    try:
        app = load_app(app_spec)
    except AppLoadError as exc:
        log.error("%s", exc)
        return EXIT_APP_LOAD
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGQUIT, _exit_now)
    if log_file is not None:
        loop.add_signal_handler(signal.SIGUSR1, try_reopen_log, log_file, log)

    server = make_server(app)
    server.add_sockets(sockets)
    wait_started = getattr(server, "wait_started", None)
    if wait_started is not None:
        await wait_started()  # add_sockets may finish starting asynchronously
    if ready_fd is not None:
        os.write(ready_fd, b"R")
        os.close(ready_fd)
    log.info("serving %s on %s", app_spec, ", ".join(_describe(s) for s in sockets))

    orphan_watch = asyncio.ensure_future(_stop_when_orphaned(os.getppid(), stop, log))
    await stop.wait()
    orphan_watch.cancel()
    log.info("stopping: no new connections, draining for up to %.1fs", graceful_timeout)
    server.stop()
    try:
        await asyncio.wait_for(
            server.close_all_connections(timeout=graceful_timeout), graceful_timeout + 1.0
        )
    except TimeoutError:
        log.warning("connections still open after %.1fs; exiting anyway", graceful_timeout)
    log.info("stopped")
    return 0


async def _stop_when_orphaned(parent: int, stop: asyncio.Event, log: logging.Logger) -> None:
    """Drain and exit if the supervisor dies (e.g. SIGKILL): an orphaned worker
    would keep the port and block the next start."""
    while os.getppid() == parent:
        await asyncio.sleep(0.5)
    log.warning("supervisor (PID %d) is gone; stopping", parent)
    stop.set()


def _exit_now() -> None:
    logging.getLogger("squall.process.worker").info("immediate stop (SIGQUIT)")
    logging.shutdown()
    os._exit(0)


def _describe(sock: socket.socket) -> str:
    try:
        host, port = sock.getsockname()[:2]
    except OSError:
        return "?"
    return f"{host}:{port}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m squall.process")
    parser.add_argument("app")
    parser.add_argument("--fd", type=int, action="append", default=[], dest="fds")
    parser.add_argument("--port", type=int)
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--ready-fd", type=int)
    parser.add_argument("--graceful-timeout", type=float, default=30.0)
    parser.add_argument("--log-file")
    parser.add_argument("--debug", action="store_true")
    args = parser.parse_args(argv)
    configure_logging(args.debug)
    sockets = [socket.socket(fileno=fd) for fd in args.fds] or None
    return run_worker(
        args.app,
        sockets,
        port=args.port,
        address=args.address,
        graceful_timeout=args.graceful_timeout,
        ready_fd=args.ready_fd,
        log_file=args.log_file,
    )
