"""Publish/subscribe for fan-out across handlers and processes (chat rooms, live updates).

``MemoryPubSub()`` serves one process; ``RedisPubSub(url)`` every process
connected to that Redis. Both take JSON-serialisable messages::

    async with pubsub.subscribe("room:1") as sub:
        async for message in sub:
            ...
    await pubsub.publish("room:1", {"body": "hi"})
"""

from __future__ import annotations

from squall.pubsub.base import PubSub, PubSubError, Subscription, SubscriptionClosed
from squall.pubsub.memory import MemoryPubSub

__all__ = [
    "MemoryPubSub",
    "PubSub",
    "PubSubError",
    "RedisPubSub",
    "Subscription",
    "SubscriptionClosed",
    "pubsub_from_url",
]


def __getattr__(name: str) -> object:
    # redis is imported only by programs that use the Redis backend.
    if name == "RedisPubSub":
        from squall.pubsub.redis_backend import RedisPubSub

        return RedisPubSub
    raise AttributeError(f"module 'squall.pubsub' has no attribute {name!r}")


def pubsub_from_url(spec: str) -> PubSub:
    """``"memory"`` -> :class:`MemoryPubSub`; ``"redis://..."``/``"rediss://..."`` -> RedisPubSub."""
    if spec == "memory":
        return MemoryPubSub()
    if spec.startswith(("redis://", "rediss://", "unix://")):
        from squall.pubsub.redis_backend import RedisPubSub

        return RedisPubSub(spec)
    raise ValueError(f"unknown pub/sub backend {spec!r}; expected 'memory' or a redis:// URL")
