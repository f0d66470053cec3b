"""PubSub: the same contract on the in-process and the Redis backend."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable

import pytest
import redis.asyncio as aioredis

from squall.pubsub import (
    MemoryPubSub,
    PubSub,
    PubSubError,
    RedisPubSub,
    SubscriptionClosed,
    pubsub_from_url,
)


def unique(name: str) -> str:
    """Channel names no concurrently running test shares."""
    return f"squall-test:{name}:{uuid.uuid4().hex}"


@pytest.fixture(params=["memory", "redis"])
def make_pubsub(request: pytest.FixtureRequest) -> Callable[[], PubSub]:
    if request.param == "memory":
        shared = MemoryPubSub()
        return lambda: shared  # "two processes" share one object in memory
    url = str(request.getfixturevalue("redis_url"))
    return lambda: RedisPubSub(url)


async def test_subscribers_receive_messages_published_after_they_are_ready_in_order(
    make_pubsub: Callable[[], PubSub],
) -> None:
    publisher, subscriber = make_pubsub(), make_pubsub()
    channel = unique("order")
    try:
        async with subscriber.subscribe(channel) as first, subscriber.subscribe(channel) as second:
            for i in range(50):
                await publisher.publish(channel, {"n": i, "text": "héllo"})
            got_first = [await asyncio.wait_for(first.get(), 5) for _ in range(50)]
            got_second = [await asyncio.wait_for(second.get(), 5) for _ in range(50)]
        assert got_first == got_second == [{"n": i, "text": "héllo"} for i in range(50)]
    finally:
        await publisher.close()
        await subscriber.close()


async def test_other_channels_and_closed_subscriptions_receive_nothing(
    make_pubsub: Callable[[], PubSub],
) -> None:
    pubsub = make_pubsub()
    a, b = unique("a"), unique("b")
    try:
        sub_a = pubsub.subscribe(a)
        sub_b = pubsub.subscribe(b)
        await sub_a.ready()
        await sub_b.ready()
        await pubsub.publish(b, "for b")
        assert await asyncio.wait_for(sub_b.get(), 5) == "for b"
        await sub_b.close()
        with pytest.raises(SubscriptionClosed, match="is closed"):
            await sub_b.get()
        await pubsub.publish(a, [1, 2, 3])
        assert await asyncio.wait_for(sub_a.get(), 5) == [1, 2, 3]
        assert not sub_a._messages
        await sub_a.close()
    finally:
        await pubsub.close()


async def test_async_iteration_ends_when_the_subscription_closes(
    make_pubsub: Callable[[], PubSub],
) -> None:
    pubsub = make_pubsub()
    channel = unique("iter")
    received: list[object] = []
    try:
        sub = pubsub.subscribe(channel)
        await sub.ready()

        async def consume() -> None:
            async for message in sub:
                received.append(message)
                if message == "last":
                    await sub.close()

        consumer = asyncio.ensure_future(consume())
        for message in ("one", 2, None, "last"):
            await pubsub.publish(channel, message)
        await asyncio.wait_for(consumer, 5)
        assert received == ["one", 2, None, "last"]
    finally:
        await pubsub.close()


async def test_messages_must_be_json_serialisable(make_pubsub: Callable[[], PubSub]) -> None:
    pubsub = make_pubsub()
    try:
        with pytest.raises(TypeError, match="not JSON-serialisable"):
            await pubsub.publish(unique("json"), {"when": object()})
        with pytest.raises(ValueError, match="non-empty str"):
            pubsub.subscribe("")
    finally:
        await pubsub.close()


async def test_a_get_that_times_out_does_not_break_the_next_one(
    make_pubsub: Callable[[], PubSub],
) -> None:
    pubsub = make_pubsub()
    channel = unique("timeout")
    try:
        async with pubsub.subscribe(channel) as sub:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(sub.get(), 0.01)
            await pubsub.publish(channel, "later")
            assert await asyncio.wait_for(sub.get(), 5) == "later"
    finally:
        await pubsub.close()


async def test_closing_the_backend_ends_open_subscriptions(
    make_pubsub: Callable[[], PubSub],
) -> None:
    pubsub = make_pubsub()
    sub = pubsub.subscribe(unique("end"))
    await sub.ready()
    waiting = asyncio.ensure_future(sub.get())
    await asyncio.sleep(0)
    await pubsub.close()
    with pytest.raises(SubscriptionClosed):
        await asyncio.wait_for(waiting, 5)
    with pytest.raises(PubSubError, match="closed"):
        await pubsub.publish("x", 1)


def test_pubsub_from_url_picks_the_backend() -> None:
    assert isinstance(pubsub_from_url("memory"), MemoryPubSub)
    with pytest.raises(ValueError, match="unknown pub/sub backend 'kafka://x'"):
        pubsub_from_url("kafka://x")


async def _kill_client(url: str, name: str) -> None:
    admin = aioredis.Redis.from_url(url)
    try:
        clients = await admin.client_list()
        ids = [c["id"] for c in clients if c.get("name") == name]
        assert ids, f"no Redis client named {name}"
        for client_id in ids:
            await admin.client_kill_filter(_id=client_id)
    finally:
        await admin.aclose()


async def test_redis_subscriber_recovers_after_its_connection_is_killed(
    redis_url: str, caplog: pytest.LogCaptureFixture,
) -> None:
    name = f"squall-test-{uuid.uuid4().hex[:12]}"
    subscriber = RedisPubSub(redis_url, client_name=name, retry_delay=0.05)
    publisher = RedisPubSub(redis_url)
    channel = unique("reconnect")
    try:
        sub = subscriber.subscribe(channel)
        await asyncio.wait_for(sub.ready(), 5)
        await publisher.publish(channel, "before")
        assert await asyncio.wait_for(sub.get(), 5) == "before"
        with caplog.at_level(logging.ERROR, logger="squall.pubsub"):
            await _kill_client(redis_url, name)
            # Publish until the resubscribed connection delivers (at most once:
            # messages sent while it was down may be lost).
            got = None
            for i in range(100):
                await publisher.publish(channel, f"after-{i}")
                try:
                    got = await asyncio.wait_for(sub.get(), 0.1)
                    break
                except TimeoutError:
                    continue
        assert got is not None and str(got).startswith("after-")
    finally:
        await publisher.close()
        await subscriber.close()


async def test_redis_publish_to_an_unreachable_server_names_the_url() -> None:
    pubsub = RedisPubSub("redis://127.0.0.1:1/0")
    try:
        with pytest.raises(PubSubError, match=r"publish to 'c' on redis://127.0.0.1:1/0 failed"):
            await pubsub.publish("c", 1)
    finally:
        await pubsub.close()


