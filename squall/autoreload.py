"""Restart the process when a source file changes (``debug=True`` development servers).

``start()`` polls the modification times of every imported module's file (plus
files given to :func:`watch`) with a :class:`~squall.ioloop.PeriodicCallback`, and
on a change re-executes the process with the same interpreter and arguments, so
the new code is loaded from scratch. ``Application.listen`` calls it when the
``autoreload`` setting is true (``debug=True`` implies it).

Only for development: re-exec drops in-flight requests. Listening sockets are
created non-inheritable, so the new process can bind the same port again.
The watch list and reload hooks are process-wide, as in Tornado: they describe
the one process that will be replaced.
"""

from __future__ import annotations

import logging
import os
import sys
import weakref
from collections.abc import Callable

from squall.ioloop import IOLoop, PeriodicCallback

__all__ = ["add_reload_hook", "start", "wait", "watch"]

gen_log = logging.getLogger("squall.general")

_watched_files: set[str] = set()
_reload_hooks: list[Callable[[], None]] = []
_started: weakref.WeakKeyDictionary[IOLoop, PeriodicCallback] = weakref.WeakKeyDictionary()


def watch(filename: str) -> None:
    """Also restart when ``filename`` (a config file, a template) changes."""
    _watched_files.add(os.path.abspath(filename))


def add_reload_hook(fn: Callable[[], None]) -> None:
    """Call ``fn`` just before the process re-executes (close resources, flush logs)."""
    _reload_hooks.append(fn)


def start(check_time: float = 500) -> None:
    """Check for changes every ``check_time`` ms on the current IOLoop (once per loop)."""
    io_loop = IOLoop.current()
    if io_loop in _started:
        return
    checker = _Checker()
    callback = PeriodicCallback(checker.check, check_time)
    _started[io_loop] = callback
    callback.start()


def wait() -> None:
    """Run a loop that only watches for changes (for scripts that are not servers)."""
    io_loop = IOLoop.current()
    io_loop.add_callback(start)
    io_loop.start()


class _Checker:
    """Remembers each file's first-seen mtime; any later difference means reload."""

    def __init__(self) -> None:
        self.mtimes: dict[str, float] = {}
        self.reloading = False

    def files(self) -> set[str]:
        found = set(_watched_files)
        for module in list(sys.modules.values()):
            path = getattr(module, "__file__", None)
            if isinstance(path, str):
                found.add(path[:-1] if path.endswith((".pyc", ".pyo")) else path)
        return found

    def check(self) -> None:
        if self.reloading:
            return
        for path in self.files():
            try:
                mtime = os.stat(path).st_mtime
            except OSError:
                continue
            previous = self.mtimes.setdefault(path, mtime)
            if mtime != previous:
                gen_log.info("%s modified; restarting server", path)
                self.reloading = True
                _reload()
                return


def _reload() -> None:
    for hook in _reload_hooks:
        try:
            hook()
        except Exception:
            gen_log.exception("Error in reload hook %r", hook)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    # sys.orig_argv keeps "-m package" and interpreter flags; sys.argv would lose them.
    argv = [sys.executable, *sys.orig_argv[1:]]
    os.execv(sys.executable, argv)
