"""The publish/subscribe interface and the subscription object every backend shares.

Messages are JSON values: a backend serialises on ``publish`` (so a value that
cannot cross a process boundary is refused at once, with any backend) and each
subscriber process decodes once; subscribers in one process share the decoded
value, so treat it as read-only. Delivery is at most once: a subscriber sees
the messages published after its subscription became ready, in publish order.
"""

from __future__ import annotations

import abc
import asyncio
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

log = logging.getLogger("squall.pubsub")

_CLOSED: Any = object()


class PubSubError(Exception):
    """A backend could not publish or subscribe (the message says where and why)."""


class SubscriptionClosed(PubSubError):
    """``get()`` on a subscription that was closed (by its owner or its backend)."""


def check_channel(channel: str) -> None:
    if not isinstance(channel, str) or not channel:
        raise ValueError(f"channel must be a non-empty str, got {channel!r}")


def encode(channel: str, message: Any) -> str:
    """``message`` as JSON; TypeError naming the channel when it is not JSON-serialisable."""
    check_channel(channel)
    try:
        return json.dumps(message, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"message published to {channel!r} is not JSON-serialisable: {err}"
        ) from None


class Subscription:
    """Messages of one channel, in order: ``await sub.get()`` or ``async for``.

    ``async with pubsub.subscribe(channel) as sub:`` waits until the backend
    confirmed the subscription and closes it on exit. A subscriber that falls
    more than ``max_pending`` messages behind loses the oldest ones (counted in
    :attr:`dropped`) rather than let one slow reader grow memory without bound.
    """

    __slots__ = ("_closed", "_messages", "_ready", "_release", "_waiter", "channel", "dropped",
                 "max_pending")

    def __init__(
        self,
        channel: str,
        release: Callable[[Subscription], Awaitable[None]],
        max_pending: int = 10_000,
    ) -> None:
        self.channel = channel
        self.max_pending = max_pending
        self.dropped = 0
        self._release = release
        self._messages: deque[Any] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._closed = False

    # -- backend side ---------------------------------------------------------

    def deliver(self, message: Any) -> None:
        if self._closed:
            return
        if len(self._messages) >= self.max_pending:
            self._messages.popleft()
            self.dropped += 1
            if self.dropped == 1:
                log.warning("Subscriber of %r is %d messages behind; dropping the oldest",
                            self.channel, self.max_pending)
        self._messages.append(message)
        self._wake()

    def set_ready(self) -> None:
        if not self._ready.done():
            self._ready.set_result(None)

    def end(self) -> None:
        """The backend is closing: wake readers, who then see the close."""
        self._closed = True
        self.set_ready()
        self._wake()

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- subscriber side ------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    async def ready(self) -> None:
        """Wait until messages published from now on will reach this subscription."""
        await self._ready

    async def get(self) -> Any:
        """The next message; raises :class:`SubscriptionClosed` once closed."""
        while not self._messages:
            if self._closed:
                raise SubscriptionClosed(f"subscription to {self.channel!r} is closed")
            waiter = self._waiter
            if waiter is None or waiter.done():
                waiter = self._waiter = asyncio.get_running_loop().create_future()
            # Shielded: a reader that gives up (timeout, cancel) must not cancel
            # the future other readers and the next get() wait on.
            await asyncio.shield(waiter)
        return self._messages.popleft()

    async def close(self) -> None:
        """Unsubscribe; pending and future ``get()`` calls raise SubscriptionClosed."""
        if self._closed:
            return
        self.end()
        self._messages.clear()
        await self._release(self)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.get()
        except SubscriptionClosed:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> Subscription:
        await self.ready()
        return self

    async def __aexit__(
        self, typ: type[BaseException] | None, value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class PubSub(abc.ABC):
    """Publish JSON messages to named channels; subscribe to receive them."""

    @abc.abstractmethod
    async def publish(self, channel: str, message: Any) -> None:
        """Send ``message`` to every subscriber of ``channel`` (in every process sharing it)."""

    @abc.abstractmethod
    def subscribe(self, channel: str) -> Subscription:
        """A new subscription to ``channel`` (must be called inside the event loop)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Close every subscription and release connections."""

    async def __aenter__(self) -> PubSub:
        return self

    async def __aexit__(
        self, typ: type[BaseException] | None, value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
