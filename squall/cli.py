"""The ``squall`` command: serve an app with N worker processes, and manage it.

Subcommands: ``serve``, ``stop``, ``status``, ``reload`` (HUP: rolling restart),
``restart`` (stop, then serve again with the given arguments), ``nginx-config``,
``systemd-unit``. Exit status 2 means the command line, the app or the PID file
stopped us before anything ran; the message says which.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Sequence

from squall.process.daemon import EXIT_LOCKED, daemonize, drop_privileges, reopen_log
from squall.process.listeners import bind_listeners
from squall.process.loader import AppLoadError, load_app
from squall.process.nginx import render_nginx_config
from squall.process.pidfile import PIDFile, PIDFileLocked, is_locked, read_pid
from squall.process.supervisor import Supervisor, SupervisorConfig
from squall.process.systemd import render_systemd_unit
from squall.process.worker import configure_logging

EXIT_USAGE = 2
EXIT_NOT_RUNNING = 3  # LSB's "program is not running", for `squall status`


class _Usage(Exception):
    """A bad command line; main() prints it and exits 2."""


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"{value} is not a TCP port (1-65535)")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, not {text}")
    return value


def _add_serve_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("app", help="MODULE:APP, MODULE:make_app(), or path/to/app.py")
    p.add_argument("--port", type=_port, default=8000)
    p.add_argument("--address", default="127.0.0.1")
    p.add_argument("--instances", type=_positive_int, default=1)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--per-port", dest="per_port", action="store_true", default=True,
                      help="instance i listens on port+i (default; matches nginx-config)")
    mode.add_argument("--shared-socket", dest="per_port", action="store_false",
                      help="all instances accept on one socket bound by the supervisor")
    p.add_argument("--daemon", action="store_true", help="detach; needs --pidfile")
    p.add_argument("--pidfile")
    p.add_argument("--log-file", help="stdout/stderr of every process; reopened on SIGUSR1")
    p.add_argument("--user")
    p.add_argument("--group")
    p.add_argument("--debug", action="store_true")
    p.add_argument("--graceful-timeout", type=_positive_float, default=30.0)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="squall", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    _add_serve_arguments(sub.add_parser("serve", help="run the app's instances"))
    restart = sub.add_parser("restart", help="stop the running instance, then serve")
    _add_serve_arguments(restart)
    restart.add_argument("--stop-timeout", type=_positive_float, default=60.0)

    for name, what in (("stop", "graceful stop (TERM), waiting until it has exited"),
                       ("status", "whether it runs (exit 0) or not (exit 3)"),
                       ("reload", "rolling restart (HUP), one instance at a time")):
        p = sub.add_parser(name, help=what)
        p.add_argument("--pidfile", required=True)
        if name == "stop":
            p.add_argument("--timeout", type=_positive_float, default=60.0)

    nginx = sub.add_parser("nginx-config", help="print an nginx upstream and server")
    nginx.add_argument("--instances", type=_positive_int, default=4)
    nginx.add_argument("--port", type=_port, default=8000)
    nginx.add_argument("--address", default="127.0.0.1")
    nginx.add_argument("--shared-socket", dest="per_port", action="store_false", default=True)
    nginx.add_argument("--server-name", default="_")
    nginx.add_argument("--listen-port", type=_port, default=80)
    nginx.add_argument("--static-path")
    nginx.add_argument("--static-url-prefix", default="/static/")
    nginx.add_argument("--upstream-name", default="squall")
    nginx.add_argument("--websocket-prefix")

    unit = sub.add_parser("systemd-unit", help="print a systemd service unit")
    unit.add_argument("app")
    unit.add_argument("--instances", type=_positive_int, default=4)
    unit.add_argument("--port", type=_port, default=8000)
    unit.add_argument("--address", default="127.0.0.1")
    unit.add_argument("--shared-socket", dest="per_port", action="store_false", default=True)
    unit.add_argument("--graceful-timeout", type=_positive_float, default=30.0)
    unit.add_argument("--user")
    unit.add_argument("--group")
    unit.add_argument("--working-directory")
    return parser


def check_app(spec: str) -> str | None:
    """Import the app in a throwaway child; the error message, or None if it loads.

    A child keeps the supervisor free of the app's modules, so every worker (and a
    rolling restart) imports the code as it is on disk.
    """
    read_fd, write_fd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        status = 0
        try:
            load_app(spec)
        except AppLoadError as exc:
            os.write(write_fd, str(exc).encode("utf-8", "replace"))
            status = 1
        except BaseException as exc:
            os.write(write_fd, f"cannot load {spec!r}: {type(exc).__name__}: {exc}".encode())
            status = 1
        os._exit(status)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        message = pipe.read().decode("utf-8", "replace")
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) == 0:
        return None
    return message or f"loading {spec!r} failed (status {os.waitstatus_to_exitcode(status)})"


def _serve(args: argparse.Namespace) -> int:
    if args.daemon and not args.pidfile:
        raise _Usage("--daemon needs --pidfile, or the daemon could not be stopped")
    app = args.app
    if app.endswith(".py") or (os.sep in app and ":" not in app):
        app = os.path.abspath(app)
    error = check_app(app)
    if error is not None:
        print(f"squall: {error}", file=sys.stderr)
        return EXIT_USAGE
    log_file = os.path.abspath(args.log_file) if args.log_file else None
    config = SupervisorConfig(
        app=app,
        instances=args.instances,
        per_port=args.per_port,
        graceful_timeout=args.graceful_timeout,
        log_file=log_file,
        debug=args.debug,
    )
    if args.daemon:
        started = daemonize(os.path.abspath(args.pidfile), log_file=log_file,
                            working_directory=os.getcwd())
        if isinstance(started, int):
            return started  # the launcher: the daemon's report is printed
        configure_logging(args.debug)
        try:
            sockets = bind_listeners(args.address, args.port, instances=args.instances,
                                     per_port=args.per_port)
            drop_privileges(args.user, args.group)
        except (OSError, ValueError) as exc:
            started.fail(str(exc))
            return 1
        # The launcher's exit status waits for this: 0 only once every worker is ready.
        return Supervisor(config, sockets).run(started)

    pidfile = PIDFile(args.pidfile) if args.pidfile else None
    try:
        if pidfile is not None:
            pidfile.acquire()
        sockets = bind_listeners(args.address, args.port, instances=args.instances,
                                 per_port=args.per_port)
        if log_file:
            reopen_log(log_file)  # before dropping privileges: /var/log may be root's
        drop_privileges(args.user, args.group)
    except PIDFileLocked as exc:
        print(f"squall: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    except (OSError, ValueError) as exc:
        if pidfile is not None:
            pidfile.release()
        print(f"squall: {exc}", file=sys.stderr)
        return 1
    try:
        configure_logging(args.debug)
        return Supervisor(config, sockets).run()
    finally:
        if pidfile is not None:
            pidfile.release()


def _running_pid(path: str) -> int | None:
    """The PID of the live instance holding ``path``, or None."""
    if not is_locked(path):
        return None
    return read_pid(path)


def _stop(path: str, timeout: float) -> int:
    pid = _running_pid(path)
    if pid is None:
        stale = read_pid(path)
        note = f"; stale pidfile names PID {stale}, which was not signalled" if stale else ""
        print(f"squall is not running (pidfile {path}){note}")
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while is_locked(path):
        if time.monotonic() >= deadline:
            print(f"squall: PID {pid} still running {timeout:g}s after SIGTERM", file=sys.stderr)
            return 1
        time.sleep(0.1)
    print(f"squall PID {pid} stopped")
    return 0


def _signal(path: str, signum: signal.Signals, what: str) -> int:
    pid = _running_pid(path)
    if pid is None:
        print(f"squall is not running (pidfile {path})", file=sys.stderr)
        return 1
    os.kill(pid, signum)
    print(f"{what} requested for PID {pid}")
    return 0


def _dispatch(args: argparse.Namespace) -> int:
    command = args.command
    if command == "serve":
        return _serve(args)
    if command == "restart":
        if args.pidfile:
            status = _stop(os.path.abspath(args.pidfile), args.stop_timeout)
            if status != 0:
                return status
        return _serve(args)
    if command == "stop":
        return _stop(os.path.abspath(args.pidfile), args.timeout)
    if command == "status":
        path = os.path.abspath(args.pidfile)
        pid = _running_pid(path)
        if pid is None:
            print(f"squall is not running (pidfile {path})")
            return EXIT_NOT_RUNNING
        print(f"squall is running as PID {pid} (pidfile {path})")
        return 0
    if command == "reload":
        return _signal(os.path.abspath(args.pidfile), signal.SIGHUP, "rolling restart")
    if command == "nginx-config":
        sys.stdout.write(render_nginx_config(
            args.instances, args.port, args.address, args.server_name, args.listen_port,
            os.path.abspath(args.static_path) if args.static_path else None,
            args.static_url_prefix, args.upstream_name,
            per_port=args.per_port, websocket_prefix=args.websocket_prefix,
        ))
        return 0
    if command == "systemd-unit":
        sys.stdout.write(render_systemd_unit(
            args.app, instances=args.instances, port=args.port, address=args.address,
            per_port=args.per_port, graceful_timeout=args.graceful_timeout, user=args.user,
            group=args.group, working_directory=args.working_directory,
        ))
        return 0
    raise _Usage(f"unknown command {command!r}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``squall`` command line; return the exit status."""
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse's own errors (status 2) and --help (0)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return _dispatch(args)
    except (_Usage, ValueError) as exc:
        print(f"squall: {exc}", file=sys.stderr)
        return EXIT_USAGE
