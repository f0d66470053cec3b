"""Tornado's ``IOLoop`` API as a thin face over an asyncio event loop.

``IOLoop.current()`` returns the wrapper of the running asyncio loop, or of
this thread's current loop, creating one (uvloop when installed) on first use,
so ``HTTPServer(app).listen(8888); IOLoop.current().start()`` works as in
Tornado.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime
import functools
import logging
import math
import random
import threading
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, TypeVar

try:
    import uvloop as _uvloop
except ImportError:  # pragma: no cover
    _uvloop = None  # type: ignore[assignment]

log = logging.getLogger("squall.application")

_T = TypeVar("_T")


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A new event loop: uvloop when installed, the default asyncio loop otherwise."""
    factory = asyncio.new_event_loop if _uvloop is None else _uvloop.new_event_loop
    return factory()


class _ThreadCurrent(threading.local):
    loop: IOLoop | None = None


class IOLoop:
    """An event loop with Tornado's method names; every call maps onto asyncio."""

    NONE = 0
    READ = 0x001
    WRITE = 0x004
    ERROR = 0x018

    # The asyncio loop -> wrapper map and this thread's current wrapper: the
    # only module state, as Tornado keeps it, so current() is stable.
    _ioloop_for_asyncio: ClassVar[dict[asyncio.AbstractEventLoop, IOLoop]] = {}
    _thread_current: ClassVar[_ThreadCurrent] = _ThreadCurrent()

    def __init__(
        self, asyncio_loop: asyncio.AbstractEventLoop | None = None, make_current: bool = True
    ) -> None:
        self.asyncio_loop = asyncio_loop if asyncio_loop is not None else new_event_loop()
        existing = IOLoop._ioloop_for_asyncio.get(self.asyncio_loop)
        if existing is not None:
            raise RuntimeError(f"an IOLoop already wraps {self.asyncio_loop!r}; use IOLoop.current()")
        IOLoop._ioloop_for_asyncio[self.asyncio_loop] = self
        self._handlers: dict[int, tuple[Any, Callable[..., None]]] = {}
        self._closed = False
        if make_current:
            self.make_current()

    # -- which loop ---------------------------------------------------------

    @staticmethod
    def current(instance: bool = True) -> IOLoop:
        """The running loop's IOLoop, else this thread's current one (created if needed)."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not None:
            wrapper = IOLoop._ioloop_for_asyncio.get(running)
            if wrapper is None:
                wrapper = IOLoop(running, make_current=False)
            return wrapper
        current = IOLoop._thread_current.loop
        if current is None or current._closed:
            if not instance:
                raise RuntimeError("no current IOLoop in this thread")
            current = IOLoop()
        return current

    @staticmethod
    def instance() -> IOLoop:
        """Deprecated alias of :meth:`current`, kept for Tornado-era code."""
        return IOLoop.current()

    def make_current(self) -> None:
        IOLoop._thread_current.loop = self
        asyncio.set_event_loop(self.asyncio_loop)

    @staticmethod
    def clear_current() -> None:
        IOLoop._thread_current.loop = None

    # -- running ------------------------------------------------------------

    def start(self) -> None:
        """Run until :meth:`stop` is called."""
        self.make_current()
        self.asyncio_loop.run_forever()

    def stop(self) -> None:
        """Stop the loop after the current iteration (safe from any thread)."""
        self.asyncio_loop.call_soon_threadsafe(self.asyncio_loop.stop)

    def run_sync(self, func: Callable[[], Any], timeout: float | None = None) -> Any:
        """Run ``func`` (sync or async) to completion on this loop and return its result.

        Raises ``TimeoutError`` naming the timeout when it takes longer.
        """

        async def runner() -> Any:
            result = func()
            if isinstance(result, Awaitable):
                if timeout is not None:
                    try:
                        return await asyncio.wait_for(result, timeout)
                    except TimeoutError:
                        raise TimeoutError(f"operation timed out after {timeout} seconds") from None
                return await result
            return result

        self.make_current()
        return self.asyncio_loop.run_until_complete(runner())

    def close(self, all_fds: bool = False) -> None:
        """Close the loop; with ``all_fds`` also the file objects given to add_handler."""
        if self._closed:
            return
        self._closed = True
        for fd in list(self._handlers):
            fileobj, _ = self._handlers[fd]
            self.remove_handler(fd)
            if all_fds and hasattr(fileobj, "close"):
                fileobj.close()
        IOLoop._ioloop_for_asyncio.pop(self.asyncio_loop, None)
        if IOLoop._thread_current.loop is self:
            IOLoop._thread_current.loop = None
        if not self.asyncio_loop.is_closed():
            self.asyncio_loop.close()

    # -- scheduling ---------------------------------------------------------

    def time(self) -> float:
        return self.asyncio_loop.time()

    def add_callback(self, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Call ``callback`` on the next iteration; safe from other threads."""
        try:
            self.asyncio_loop.call_soon_threadsafe(
                self._run_callback, functools.partial(callback, *args, **kwargs)
            )
        except RuntimeError:
            if not self.asyncio_loop.is_closed():
                raise  # a closed loop silently drops callbacks, as Tornado's does

    add_callback_from_signal = add_callback

    def spawn_callback(self, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self.add_callback(callback, *args, **kwargs)

    def _run_callback(self, callback: Callable[[], Any]) -> None:
        try:
            result = callback()
            if isinstance(result, Awaitable):
                future = asyncio.ensure_future(result)
                future.add_done_callback(self._log_future_exception)
        except Exception:
            log.exception("Exception in callback %r", callback)

    @staticmethod
    def _log_future_exception(future: asyncio.Future[Any]) -> None:
        if not future.cancelled() and future.exception() is not None:
            log.error("Exception in callback", exc_info=future.exception())

    def call_later(
        self, delay: float, callback: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> asyncio.TimerHandle:
        return self.asyncio_loop.call_later(
            max(0.0, delay), self._run_callback, functools.partial(callback, *args, **kwargs)
        )

    def call_at(
        self, when: float, callback: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> asyncio.TimerHandle:
        return self.asyncio_loop.call_at(
            when, self._run_callback, functools.partial(callback, *args, **kwargs)
        )

    def add_timeout(
        self,
        deadline: float | datetime.timedelta,
        callback: Callable[..., Any],
        *args: Any,
        **kwargs: Any,
    ) -> asyncio.TimerHandle:
        """Call at ``deadline`` (a loop time) or after a ``timedelta``."""
        if isinstance(deadline, datetime.timedelta):
            return self.call_later(deadline.total_seconds(), callback, *args, **kwargs)
        if isinstance(deadline, (int, float)):
            return self.call_at(deadline, callback, *args, **kwargs)
        raise TypeError(f"deadline must be a number or a timedelta, got {type(deadline).__name__}")

    def remove_timeout(self, timeout: asyncio.TimerHandle) -> None:
        timeout.cancel()

    def add_future(
        self, future: asyncio.Future[_T] | Awaitable[_T], callback: Callable[[asyncio.Future[_T]], Any]
    ) -> None:
        """Call ``callback(future)`` on this loop once ``future`` is done."""
        fut = asyncio.ensure_future(future, loop=self.asyncio_loop)
        fut.add_done_callback(lambda f: self.add_callback(callback, f))

    def run_in_executor(
        self, executor: concurrent.futures.Executor | None, func: Callable[..., _T], *args: Any
    ) -> asyncio.Future[_T]:
        return self.asyncio_loop.run_in_executor(executor, func, *args)

    def set_default_executor(self, executor: concurrent.futures.Executor) -> None:
        self.asyncio_loop.set_default_executor(executor)

    # -- file descriptors ---------------------------------------------------

    def add_handler(self, fd: Any, handler: Callable[..., None], events: int) -> None:
        """Call ``handler(fd, events)`` when ``fd`` becomes readable/writable."""
        fileno = fd if isinstance(fd, int) else fd.fileno()
        if fileno in self._handlers:
            raise ValueError(f"fd {fileno} already registered")
        self._handlers[fileno] = (fd, handler)
        self.update_handler(fd, events)

    def update_handler(self, fd: Any, events: int) -> None:
        fileno = fd if isinstance(fd, int) else fd.fileno()
        fileobj, handler = self._handlers[fileno]
        loop = self.asyncio_loop
        loop.remove_reader(fileno)
        loop.remove_writer(fileno)
        if events & IOLoop.READ:
            loop.add_reader(fileno, handler, fileobj, IOLoop.READ)
        if events & IOLoop.WRITE:
            loop.add_writer(fileno, handler, fileobj, IOLoop.WRITE)

    def remove_handler(self, fd: Any) -> None:
        fileno = fd if isinstance(fd, int) else fd.fileno()
        if self._handlers.pop(fileno, None) is None:
            return
        self.asyncio_loop.remove_reader(fileno)
        self.asyncio_loop.remove_writer(fileno)


class PeriodicCallback:
    """Call ``callback`` every ``callback_time`` milliseconds (or a timedelta).

    A call that overruns its slot skips the missed slots rather than running
    back to back; ``jitter`` (0..1) spreads calls to avoid thundering herds.
    """

    def __init__(
        self,
        callback: Callable[[], Any],
        callback_time: float | datetime.timedelta,
        jitter: float = 0,
    ) -> None:
        self.callback = callback
        if isinstance(callback_time, datetime.timedelta):
            callback_time = callback_time.total_seconds() * 1000
        if callback_time <= 0:
            raise ValueError(f"callback_time must be positive, got {callback_time}")
        if not 0 <= jitter <= 1:
            raise ValueError(f"jitter must be between 0 and 1, got {jitter}")
        self.callback_time = float(callback_time)
        self.jitter = jitter
        self._running = False
        self._timeout: asyncio.TimerHandle | None = None
        self._next_timeout = 0.0
        self.io_loop: IOLoop | None = None

    def start(self) -> None:
        self.io_loop = IOLoop.current()
        self._running = True
        self._next_timeout = self.io_loop.time()
        self._schedule_next()

    def stop(self) -> None:
        self._running = False
        if self._timeout is not None:
            self._timeout.cancel()
            self._timeout = None

    def is_running(self) -> bool:
        return self._running

    async def _run(self) -> None:
        if not self._running:
            return
        try:
            result = self.callback()
            if isinstance(result, Awaitable):
                await result
        except Exception:
            log.exception("Exception in PeriodicCallback %r", self.callback)
        finally:
            self._schedule_next()

    def _schedule_next(self) -> None:
        if not self._running or self.io_loop is None:
            return
        now = self.io_loop.time()
        period = self.callback_time / 1000.0
        if self.jitter:
            period *= 1 + self.jitter * (random.random() - 0.5)
        if self._next_timeout <= now:
            self._next_timeout += (math.floor((now - self._next_timeout) / period) + 1) * period
        self._timeout = self.io_loop.call_at(self._next_timeout, self._run)

