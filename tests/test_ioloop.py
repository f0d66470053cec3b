"""IOLoop and PeriodicCallback: Tornado's names over asyncio."""

from __future__ import annotations

import asyncio
import datetime
import threading

import pytest

from squall.ioloop import IOLoop, PeriodicCallback


@pytest.fixture
def io_loop() -> IOLoop:
    loop = IOLoop()
    yield loop  # type: ignore[misc]
    loop.close()
    IOLoop.clear_current()
    asyncio.set_event_loop(None)


def test_current_returns_the_same_loop_until_closed(io_loop: IOLoop) -> None:
    assert IOLoop.current() is io_loop
    assert IOLoop.instance() is io_loop


def test_run_sync_runs_coroutines_and_plain_functions(io_loop: IOLoop) -> None:
    async def compute() -> int:
        await asyncio.sleep(0)
        assert IOLoop.current() is io_loop
        return 42

    assert io_loop.run_sync(compute) == 42
    assert io_loop.run_sync(lambda: 7) == 7


def test_run_sync_timeout_names_the_limit(io_loop: IOLoop) -> None:
    with pytest.raises(TimeoutError, match=r"0\.05 seconds"):
        io_loop.run_sync(lambda: asyncio.sleep(1), timeout=0.05)


def test_callbacks_timeouts_and_stop_from_another_thread(io_loop: IOLoop) -> None:
    events: list[str] = []
    io_loop.add_callback(events.append, "soon")
    io_loop.call_later(0.01, events.append, "later")
    io_loop.add_timeout(datetime.timedelta(seconds=0.02), events.append, "timedelta")
    cancelled = io_loop.call_later(0.01, events.append, "never")
    io_loop.remove_timeout(cancelled)
    threading.Timer(0.1, io_loop.stop).start()
    io_loop.start()
    # uvloop may run due timers before ready callbacks; only timer order is promised.
    assert sorted(events) == ["later", "soon", "timedelta"]
    assert events.index("later") < events.index("timedelta")


def test_periodic_callback_repeats_until_stopped(io_loop: IOLoop) -> None:
    calls: list[float] = []

    def tick() -> None:
        calls.append(io_loop.time())
        if len(calls) == 3:
            periodic.stop()
            io_loop.stop()

    periodic = PeriodicCallback(tick, 10)
    periodic.start()
    io_loop.start()
    assert len(calls) == 3 and not periodic.is_running()


def test_periodic_callback_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="callback_time must be positive"):
        PeriodicCallback(lambda: None, 0)
    with pytest.raises(ValueError, match="jitter"):
        PeriodicCallback(lambda: None, 10, jitter=2)
