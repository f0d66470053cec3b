"""Publish/subscribe through Redis, so every process connected to one Redis sees every message.

One connection publishes (from a pool); one dedicated connection carries all
of this object's subscriptions, read by one task that fans messages out to
the local :class:`~squall.pubsub.Subscription` objects. When that connection
is lost the reader logs the error, waits (doubling the delay up to a cap),
reconnects and subscribes again to every channel still wanted. Redis pub/sub
is at most once: messages published while disconnected are not replayed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Coroutine
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from squall.pubsub.base import PubSub, PubSubError, Subscription, check_channel, encode, log

_READ_TIMEOUT = 1.0


class RedisPubSub(PubSub):
    """``RedisPubSub("redis://127.0.0.1:6379/0")``; create and use it inside the event loop."""

    def __init__(
        self,
        url: str,
        *,
        retry_delay: float = 0.25,
        max_retry_delay: float = 10.0,
        client_name: str | None = None,
    ) -> None:
        self.url = url
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self._redis: aioredis.Redis = aioredis.Redis.from_url(url, client_name=client_name)
        self._pubsub: Any = None  # redis.asyncio.client.PubSub, created on first subscribe
        self._channels: dict[str, set[Subscription]] = {}
        self._confirmed: set[str] = set()
        self._lock = asyncio.Lock()  # one SUBSCRIBE/UNSUBSCRIBE/reconnect at a time
        self._reader: asyncio.Task[None] | None = None
        self._commands: set[asyncio.Task[None]] = set()
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    async def publish(self, channel: str, message: Any) -> None:
        if self._closed:
            raise PubSubError(f"publish to {channel!r} on a closed RedisPubSub")
        data = encode(channel, message)
        try:
            await self._redis.publish(channel, data)
        except RedisError as err:
            raise PubSubError(f"publish to {channel!r} on {self.url} failed: {err}") from err

    def subscribe(self, channel: str) -> Subscription:
        if self._closed:
            raise PubSubError(f"subscribe to {channel!r} on a closed RedisPubSub")
        check_channel(channel)
        subscription = Subscription(channel, self._release)
        subscribers = self._channels.get(channel)
        if subscribers is None:
            subscribers = self._channels[channel] = set()
            self._spawn(self._send("subscribe", channel))
        elif channel in self._confirmed:
            subscription.set_ready()
        subscribers.add(subscription)
        return subscription

    async def _release(self, subscription: Subscription) -> None:
        channel = subscription.channel
        subscribers = self._channels.get(channel)
        if subscribers is None:
            return
        subscribers.discard(subscription)
        if not subscribers:
            del self._channels[channel]
            if not self._closed:
                await self._send("unsubscribe", channel)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._commands.add(task)
        task.add_done_callback(self._commands.discard)

    async def _send(self, command: str, channel: str) -> None:
        async with self._lock:
            if self._closed:
                return
            if self._pubsub is None:
                self._pubsub = self._redis.pubsub()
            try:
                await getattr(self._pubsub, command)(channel)
            except RedisError as err:
                # The reader notices the broken connection too, reconnects and
                # subscribes again to every wanted channel.
                log.error("Redis %s %r on %s failed: %s", command.upper(), channel, self.url, err)
            if self._reader is None:
                self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        delay = self.retry_delay
        while not self._closed:
            try:
                message = await self._pubsub.get_message(timeout=_READ_TIMEOUT)
            except (RedisError, OSError) as err:
                if self.closed:
                    return
                log.error("Redis pub/sub connection to %s lost (%s); reconnecting in %.2fs",
                          self.url, err, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_retry_delay)
                await self._reconnect()
                continue
            delay = self.retry_delay
            if message is not None:
                self._dispatch(message)

    async def _reconnect(self) -> None:
        async with self._lock:
            self._confirmed.clear()
            old, self._pubsub = self._pubsub, self._redis.pubsub()
            with contextlib.suppress(RedisError, OSError):
                await old.aclose()
            channels = list(self._channels)
            if not channels:
                return
            try:
                await self._pubsub.subscribe(*channels)
            except RedisError as err:
                log.error("Redis SUBSCRIBE on %s failed after reconnecting: %s", self.url, err)

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        raw_channel = message.get("channel")
        channel = raw_channel.decode() if isinstance(raw_channel, bytes) else str(raw_channel)
        if kind == "message":
            subscribers = self._channels.get(channel)
            if not subscribers:
                return
            try:
                value = json.loads(message["data"])
            except ValueError:
                log.warning("Ignoring a non-JSON message on Redis channel %r", channel)
                return
            for subscription in list(subscribers):
                subscription.deliver(value)
        elif kind == "subscribe":
            subscribers = self._channels.get(channel)
            if subscribers is not None:
                self._confirmed.add(channel)
                for subscription in subscribers:
                    subscription.set_ready()
        elif kind == "unsubscribe" and channel not in self._channels:
            self._confirmed.discard(channel)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for task in list(self._commands):
            task.cancel()
        if self._reader is not None:
            self._reader.cancel()
        await asyncio.gather(*self._commands, *([self._reader] if self._reader else []),
                             return_exceptions=True)
        channels, self._channels = self._channels, {}
        for subscribers in channels.values():
            for subscription in subscribers:
                subscription.end()
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.aclose()
        await self._redis.aclose()
