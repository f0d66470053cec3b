"""In-process publish/subscribe: one process, no server (tests, single instances)."""

from __future__ import annotations

import json
from typing import Any

from squall.pubsub.base import PubSub, PubSubError, Subscription, check_channel, encode


class MemoryPubSub(PubSub):
    """Delivers to the subscribers of this object only.

    Messages still go through JSON, so code that works here works unchanged
    on :class:`~squall.pubsub.RedisPubSub`.
    """

    def __init__(self) -> None:
        self._channels: dict[str, set[Subscription]] = {}
        self._closed = False

    async def publish(self, channel: str, message: Any) -> None:
        if self._closed:
            raise PubSubError(f"publish to {channel!r} on a closed MemoryPubSub")
        data = encode(channel, message)
        subscribers = self._channels.get(channel)
        if subscribers:
            value = json.loads(data)
            for subscription in list(subscribers):
                subscription.deliver(value)

    def subscribe(self, channel: str) -> Subscription:
        if self._closed:
            raise PubSubError(f"subscribe to {channel!r} on a closed MemoryPubSub")
        check_channel(channel)
        subscription = Subscription(channel, self._release)
        self._channels.setdefault(channel, set()).add(subscription)
        subscription.set_ready()
        return subscription

    async def _release(self, subscription: Subscription) -> None:
        subscribers = self._channels.get(subscription.channel)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._channels[subscription.channel]

    async def close(self) -> None:
        self._closed = True
        channels, self._channels = self._channels, {}
        for subscribers in channels.values():
            for subscription in subscribers:
                subscription.end()
