"""Turn ``squall serve --daemon`` into a background process, and say so truthfully.

python-daemon's ``DaemonContext`` detaches with a double fork, and the process that
called it exits 0 at once. That would make a failed start look like success, so the
launcher forks first and keeps a pipe: the daemon (the grandchild that survives the
double fork) takes the PID file lock *after* detaching, so the lock belongs to the
process that runs, then reports ``OK <pid>`` or ``ERR <message>`` through the pipe.
The launcher prints that and exits 0 or non-zero; a daemon that dies before writing
anything is reported as a failure too.
"""

from __future__ import annotations

import grp
import logging
import os
import pwd
import sys
from typing import IO

import daemon

from squall.process.pidfile import PIDFile, PIDFileLocked

#: Exit status of the launcher when the PID file is held by a running instance.
EXIT_LOCKED = 2
#: Exit status of the launcher when the daemon failed for another reason.
EXIT_FAILED = 1


def reopen_log(path: str) -> None:
    """Point stdout and stderr (fds 1 and 2) at ``path``, opened afresh for append.

    Called at start and on SIGUSR1, after logrotate has moved the old file away.
    """
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(fd, 1)
        os.dup2(fd, 2)
    finally:
        os.close(fd)


def try_reopen_log(path: str, logger: logging.Logger) -> bool:
    """:func:`reopen_log` for a signal handler: on failure log why and keep the old file.

    After ``--user`` the process may not create files in a root-owned log directory;
    the old descriptors stay open, so no line is lost, and a later SIGUSR1 retries.
    """
    try:
        reopen_log(path)
    except OSError as exc:
        logger.error("cannot reopen log file %s: %s; still writing to the old file",
                     path, exc.strerror or exc)
        return False
    return True


def drop_privileges(user: str | None, group: str | None) -> None:
    """Switch to ``user``/``group`` (names or numeric ids); call after binding ports."""
    if user is None and group is None:
        return
    gid: int | None = None
    uid: int | None = None
    if group is not None:
        try:
            gid = int(group) if group.isdigit() else grp.getgrnam(group).gr_gid
        except KeyError:
            raise ValueError(f"unknown group {group!r}") from None
    if user is not None:
        try:
            entry = pwd.getpwuid(int(user)) if user.isdigit() else pwd.getpwnam(user)
        except KeyError:
            raise ValueError(f"unknown user {user!r}") from None
        uid = entry.pw_uid
        if gid is None:
            gid = entry.pw_gid
    if gid is not None:
        os.setgroups([gid])
        os.setgid(gid)
    if uid is not None:
        os.setuid(uid)


class StartupReport:
    """The daemon's side of the launcher's pipe: call :meth:`ok` or :meth:`fail` once."""

    def __init__(self, fd: int, pidfile: PIDFile) -> None:
        self._fd: int | None = fd
        self.pidfile = pidfile

    def _send(self, line: str) -> None:
        if self._fd is None:
            return
        try:
            os.write(self._fd, line.encode("utf-8", "replace") + b"\n")
        except OSError:
            pass  # the launcher was killed; nobody is listening
        finally:
            os.close(self._fd)
            self._fd = None

    def ok(self) -> None:
        self._send(f"OK {os.getpid()}")

    def fail(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)
        self._send(f"ERR {EXIT_FAILED} {message}")


def _open_log(log_file: str | None) -> IO[str]:
    return open(log_file or os.devnull, "a", encoding="utf-8")


def daemonize(
    pidfile_path: str,
    *,
    log_file: str | None,
    working_directory: str,
    umask: int = 0o022,
) -> StartupReport | int:
    """Detach into a daemon holding ``pidfile_path``.

    Returns an exit status in the launching process (after printing the daemon's
    report), and a :class:`StartupReport` in the daemon, which must call ``ok()``
    once it is serving, or ``fail(message)``.
    """
    read_fd, write_fd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    child = os.fork()
    if child:
        os.close(write_fd)
        return _wait_for_report(read_fd, child, pidfile_path)
    os.close(read_fd)
    try:
        pidfile = PIDFile(pidfile_path)
        context = daemon.DaemonContext(
            working_directory=working_directory,
            umask=umask,
            detach_process=True,
            files_preserve=[write_fd],
            stdout=_open_log(log_file),
            stderr=_open_log(log_file),
            pidfile=pidfile,
        )
        context.open()
    except PIDFileLocked as exc:
        _report_and_exit(write_fd, f"ERR {EXIT_LOCKED} {exc}", EXIT_LOCKED)
    except BaseException as exc:
        _report_and_exit(write_fd, f"ERR {EXIT_FAILED} cannot daemonize: {exc}", EXIT_FAILED)
    return StartupReport(write_fd, pidfile)


def _report_and_exit(fd: int, line: str, status: int) -> None:
    try:
        os.write(fd, line.encode("utf-8", "replace") + b"\n")
    finally:
        os._exit(status)


def _wait_for_report(read_fd: int, child: int, pidfile_path: str) -> int:
    chunks = []
    with os.fdopen(read_fd, "rb") as pipe:
        while chunk := pipe.read(4096):
            chunks.append(chunk)
    os.waitpid(child, 0)  # the first fork exits as soon as it has forked again
    line = b"".join(chunks).decode("utf-8", "replace").strip()
    if line.startswith("OK "):
        print(f"squall started as PID {line[3:]} (pidfile {pidfile_path})")
        return 0
    if line.startswith("ERR "):
        code, _, message = line[4:].partition(" ")
        print(f"squall: {message}", file=sys.stderr)
        return int(code) if code.isdigit() else EXIT_FAILED
    print("squall: the daemon exited before it started serving; see its log file",
          file=sys.stderr)
    return EXIT_FAILED
