"""Tornado's ``fork_processes``: pre-fork N children that share listening sockets.

Used by ``HTTPServer.start(num_processes)``. For production, ``squall serve
--instances N`` (the supervisor) adds PID files, graceful restarts and
back-off; this is the in-process form Tornado programs call directly.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
import time

log = logging.getLogger("squall.general")

_task_id: int | None = None


def cpu_count() -> int:
    """Processors this process may run on (at least 1)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def fork_processes(num_processes: int | None, max_restarts: int | None = None) -> int:
    """Fork ``num_processes`` children (``None``/``0``: one per CPU); return the child's index.

    The parent never returns: it restarts children that die abnormally (at
    most ``max_restarts`` times in all, default 100) and exits with status 0
    once every child has exited cleanly. Call it before any event loop exists.
    """
    global _task_id
    if _task_id is not None:
        raise RuntimeError("fork_processes() was already called in this process")
    if num_processes is None or num_processes <= 0:
        num_processes = cpu_count()
    if max_restarts is None:
        max_restarts = 100
    log.info("Starting %d processes", num_processes)
    children: dict[int, int] = {}

    def start_child(index: int) -> int | None:
        pid = os.fork()
        if pid == 0:
            global _task_id
            _task_id = index
            return index
        children[pid] = index
        return None

    for index in range(num_processes):
        if start_child(index) is not None:
            return index
    restarts = 0
    while children:
        try:
            pid, status = os.wait()
        except OSError as err:
            if err.errno == errno.EINTR:
                continue
            raise
        if pid not in children:
            continue
        index = children.pop(pid)
        if os.WIFSIGNALED(status):
            log.warning("child %d (pid %d) killed by signal %d, restarting",
                        index, pid, os.WTERMSIG(status))
        elif os.waitstatus_to_exitcode(status) != 0:
            log.warning("child %d (pid %d) exited with status %d, restarting",
                        index, pid, os.waitstatus_to_exitcode(status))
        else:
            log.info("child %d (pid %d) exited normally", index, pid)
            continue
        restarts += 1
        if restarts > max_restarts:
            raise RuntimeError(f"too many child restarts ({restarts}), giving up")
        time.sleep(min(1.0, 0.05 * restarts))  # a child failing at start-up must not spin
        if start_child(index) is not None:
            return index
    sys.exit(0)


def task_id() -> int | None:
    """This child's index from :func:`fork_processes`, or None in an unforked process."""
    return _task_id

