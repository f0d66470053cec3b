"""The chat example: one room across instances on Redis, through nginx, and in Chromium."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from examples.chat.app import ChatRoom, make_app
from squall.httpclient import AsyncHTTPClient, HTTPResponse
from squall.pubsub import MemoryPubSub, PubSub, RedisPubSub
from squall.testing import TestServer, serve
from squall.testing.ports import bind_unused_port
from squall.websocket import WebSocketClientConnection, websocket_connect
from tests import services
from tests.nginx import start_nginx, stop_nginx

XSRF = uuid.uuid4().hex  # a version-1 token: the cookie and the form field must match


class Instance:
    """One chat app (its own room and pub/sub connection) on an ephemeral port."""

    def __init__(self, srv: TestServer, room: ChatRoom) -> None:
        self.srv = srv
        self.room = room
        self.port = srv.port


@contextlib.asynccontextmanager
async def chat_instance(pubsub: PubSub, channel: str) -> AsyncIterator[Instance]:
    room = ChatRoom(pubsub, channel=channel)
    await room.start()
    try:
        async with serve(make_app(room)) as srv:
            yield Instance(srv, room)
    finally:
        await room.stop()
        await pubsub.close()


async def post(port: int, path: str, client: AsyncHTTPClient, **args: str) -> HTTPResponse:
    response: HTTPResponse = await client.fetch(
        f"http://127.0.0.1:{port}{path}", method="POST",
        body=urlencode({**args, "_xsrf": XSRF}), headers={"Cookie": f"_xsrf={XSRF}"},
        raise_error=False, request_timeout=20,
    )
    return response


async def chat_through(post_port: int, listen_port: int, body: str, room: ChatRoom) -> None:
    """Post on one port; a WebSocket and a long poll on the other both receive it."""
    client = AsyncHTTPClient(force_instance=True)
    socket: WebSocketClientConnection | None = None
    cursor = room.cache[-1]["id"] if room.cache else ""  # the last message every instance saw
    try:
        socket = await websocket_connect(f"ws://127.0.0.1:{listen_port}/chatsocket")
        poll = asyncio.ensure_future(post(listen_port, "/a/message/updates", client,
                                          cursor=cursor))
        await asyncio.sleep(0.1)
        assert not poll.done(), "the long poll answered before any new message"
        sent = await post(post_port, "/a/message/new", client, body=body)
        assert sent.code == 200, sent.body
        posted = json.loads(sent.body)
        over_socket = json.loads(await asyncio.wait_for(socket.read_message(), 10) or "")
        polled = await asyncio.wait_for(poll, 10)
        assert polled.code == 200
        assert json.loads(polled.body)["messages"] == [posted]
        assert over_socket == posted
        assert posted["body"] == body
    finally:
        if socket is not None:
            await socket.close()
        await client.aclose()


async def test_message_posted_on_one_instance_reaches_clients_of_the_other_over_redis(
    redis_url: str,
) -> None:
    channel = f"squall-test:chat:{uuid.uuid4().hex}"
    async with chat_instance(RedisPubSub(redis_url), channel) as a, \
            chat_instance(RedisPubSub(redis_url), channel) as b:
        await chat_through(a.port, b.port, "from A to B", a.room)
        await chat_through(b.port, a.port, "<b>from B</b> to A", a.room)
        # Both instances saw both messages, in the same order.
        assert [m["body"] for m in a.room.cache] == [m["body"] for m in b.room.cache] \
            == ["from A to B", "<b>from B</b> to A"]


CHAT_UPSTREAMS = """
    upstream chat {{
        server 127.0.0.1:{a};
        server 127.0.0.1:{b};
    }}
    server {{
        listen 127.0.0.1:{listen};
        location / {{
            proxy_pass http://chat;
            proxy_http_version 1.1;
            proxy_set_header Host $host:$server_port;
            proxy_read_timeout 60s;
        }}
        location /chatsocket {{
            proxy_pass http://chat;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_set_header Host $host:$server_port;
            proxy_read_timeout 3600s;
        }}
    }}
"""


async def wait_for_port(port: int, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return


@contextlib.asynccontextmanager
async def nginx_in_front(*ports: int) -> AsyncIterator[int]:
    sock, listen = bind_unused_port()
    sock.close()
    with tempfile.TemporaryDirectory() as prefix:
        nginx = start_nginx(Path(prefix), CHAT_UPSTREAMS.format(a=ports[0], b=ports[1],
                                                                listen=listen))
        try:
            await wait_for_port(listen)
            yield listen
        finally:
            # In a thread: nginx's graceful quit waits on connections this loop serves.
            await asyncio.to_thread(stop_nginx, nginx)


async def test_chat_through_nginx_round_robin_reaches_both_instances(redis_url: str) -> None:
    channel = f"squall-test:chat:{uuid.uuid4().hex}"
    async with chat_instance(RedisPubSub(redis_url), channel) as a, \
            chat_instance(RedisPubSub(redis_url), channel) as b, \
            nginx_in_front(a.port, b.port) as front:
        # Round robin sends consecutive requests to alternate instances, so
        # among these posts some cross from one instance to the other.
        for i in range(3):
            await chat_through(front, front, f"via nginx {i}", a.room)
        await chat_through(a.port, front, "direct to A, read via nginx", a.room)
        assert len(a.room.cache) == len(b.room.cache) == 4


async def test_long_poll_waiter_is_cancelled_when_the_client_disconnects() -> None:
    async with chat_instance(MemoryPubSub(), "room") as inst:
        body = urlencode({"_xsrf": XSRF}).encode()
        reader, writer = await inst.srv.open()
        writer.write(b"POST /a/message/updates HTTP/1.1\r\nHost: t\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n"
                     b"Cookie: _xsrf=" + XSRF.encode() + b"\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        for _ in range(100):
            if inst.room.waiters:
                break
            await asyncio.sleep(0.01)
        assert len(inst.room.waiters) == 1
        writer.close()
        for _ in range(100):
            if not inst.room.waiters:
                break
            await asyncio.sleep(0.01)
        assert not inst.room.waiters
        del reader


async def test_posts_need_the_xsrf_token_and_messages_are_rendered_escaped() -> None:
    async with chat_instance(MemoryPubSub(), "room") as inst:
        client = AsyncHTTPClient(force_instance=True)
        try:
            refused = await client.fetch(inst.srv.url("/a/message/new"), method="POST",
                                         body="body=hi", raise_error=False)
            assert refused.code == 403
            sent = await post(inst.port, "/a/message/new", client, body="<b>x</b>")
            message = json.loads(sent.body)
            assert message["html"] == f'<div class="message" id="m{message["id"]}">' \
                "&lt;b&gt;x&lt;/b&gt;</div>"
            await asyncio.sleep(0.05)
            page = await client.fetch(inst.srv.url("/"))
            assert b"&lt;b&gt;x&lt;/b&gt;" in page.body and b"<b>x</b>" not in page.body
        finally:
            await client.aclose()


# -- in a real browser --------------------------------------------------------


def _chromium(profile: str) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = services.find_binary("chromium") or "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver_path = "/usr/bin/chromedriver"
    return webdriver.Chrome(options=options, service=Service(driver_path))


def _type_and_see(url: str, text: str, profile: str) -> list[str]:
    """Open the page, post ``text`` through the form, return the inbox as the user sees it."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver = _chromium(profile)
    try:
        driver.get(url)
        wait = WebDriverWait(driver, 15)
        wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "connected"))
        box = driver.find_element(By.ID, "message")
        box.send_keys(text)
        driver.find_element(By.ID, "post").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "inbox"), text))
        return [element.text for element in driver.find_elements(By.CSS_SELECTOR,
                                                                 "#inbox .message")]
    finally:
        driver.quit()


@pytest.mark.loops("uvloop")
@pytest.mark.parametrize("transport", ["ws", "poll"])
async def test_chromium_posts_a_message_and_sees_it_literally(
    transport: str, tmp_path: Path,
) -> None:
    services.require("chromium")
    if not os.path.exists("/usr/bin/chromedriver"):
        services.require("chromium")  # skip or fail with the same rule
        pytest.skip("chromium-driver is not installed (apt-get install -y chromium-driver)")
    async with chat_instance(MemoryPubSub(), "room") as inst:
        url = inst.srv.url(f"/?transport={transport}")
        shown = await asyncio.to_thread(_type_and_see, url, "<b>x</b> & friends",
                                        str(tmp_path / "profile"))
        assert shown == ["<b>x</b> & friends"]
        assert [m["body"] for m in inst.room.cache] == ["<b>x</b> & friends"]
