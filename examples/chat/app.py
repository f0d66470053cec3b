"""A chat room: Tornado's classic demo, with long polling and WebSockets on pub/sub.

    python examples/chat/app.py [--port=8888] [--pubsub=memory|redis://127.0.0.1:6379/0]

Every instance subscribes to one pub/sub channel and keeps the last 200
messages it saw. A message posted to any instance (``POST /a/message/new`` or
over ``/chatsocket``) is published; each instance, on receiving it, wakes its
long-polling clients (``POST /a/message/updates`` with a cursor) and writes it
to its WebSocket clients. With ``--pubsub=redis://...`` instances behind one
load balancer form one room.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import uuid
from typing import Any

if __package__ in (None, ""):  # run as a script: make the package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    __package__ = "examples.chat"

from squall.escape import to_unicode
from squall.options import OptionParser
from squall.pubsub import PubSub, Subscription, pubsub_from_url
from squall.web import Application, HTTPError, RequestHandler
from squall.websocket import WebSocketClosedError, WebSocketHandler

log = logging.getLogger("chat")
HERE = os.path.dirname(os.path.abspath(__file__))
CACHE_SIZE = 200


class ChatRoom:
    """This instance's view of the room: recent messages, waiting pollers, open sockets."""

    def __init__(self, pubsub: PubSub, channel: str = "chat") -> None:
        self.pubsub = pubsub
        self.channel = channel
        self.cache: list[dict[str, Any]] = []
        self.waiters: set[asyncio.Future[None]] = set()
        self.sockets: set[ChatSocketHandler] = set()
        self._subscription: Subscription | None = None
        self._listener: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._subscription = self.pubsub.subscribe(self.channel)
        await self._subscription.ready()
        self._listener = asyncio.get_running_loop().create_task(self._listen(self._subscription))

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._subscription is not None:
            await self._subscription.close()
        for waiter in self.waiters:
            waiter.cancel()

    async def publish(self, message: dict[str, Any]) -> None:
        await self.pubsub.publish(self.channel, message)

    async def _listen(self, subscription: Subscription) -> None:
        async for message in subscription:
            self._add(message)

    def _add(self, message: dict[str, Any]) -> None:
        self.cache.append(message)
        del self.cache[:-CACHE_SIZE]
        waiters, self.waiters = self.waiters, set()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
        for socket in list(self.sockets):
            socket.send(message)

    def messages_since(self, cursor: str | None) -> list[dict[str, Any]]:
        """Messages newer than the one with id ``cursor`` (all cached ones if unknown)."""
        newer: list[dict[str, Any]] = []
        for message in reversed(self.cache):
            if message["id"] == cursor:
                break
            newer.append(message)
        newer.reverse()
        return newer

    def wait(self) -> asyncio.Future[None]:
        """Completes when the next message arrives; cancel it to stop waiting."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.add(waiter)
        waiter.add_done_callback(self.waiters.discard)
        return waiter


class RoomHandler(RequestHandler):
    def initialize(self, room: ChatRoom) -> None:
        self.room = room

    def new_message(self, body: str) -> dict[str, Any]:
        """A message with its HTML rendered (escaped) once, by the instance receiving it."""
        if not body.strip():
            raise HTTPError(400, "empty message")
        message: dict[str, Any] = {"id": uuid.uuid4().hex, "body": body}
        message["html"] = to_unicode(self.render_string("message.html", message=message))
        return message


class MainHandler(RoomHandler):
    def get(self) -> None:
        transport = "poll" if self.get_argument("transport", "") == "poll" else "ws"
        self.render("index.html", messages=self.room.cache, transport=transport)


class MessageNewHandler(RoomHandler):
    async def post(self) -> None:
        message = self.new_message(self.get_argument("body"))
        await self.room.publish(message)
        next_url = self.get_argument("next", None)
        if next_url and next_url.startswith("/") and not next_url.startswith("//"):
            self.redirect(next_url)
        else:
            self.write(message)


class MessageUpdatesHandler(RoomHandler):
    """Long polling: answers at once if the client missed messages, else waits for one."""

    def initialize(self, room: ChatRoom) -> None:
        super().initialize(room)
        self.waiter: asyncio.Future[None] | None = None

    async def post(self) -> None:
        cursor = self.get_argument("cursor", None)
        messages = self.room.messages_since(cursor)
        while not messages:
            self.waiter = self.room.wait()
            try:
                await self.waiter
            except asyncio.CancelledError:
                return  # the client went away (or the room stopped)
            messages = self.room.messages_since(cursor)
        self.write({"messages": messages})

    def on_connection_close(self) -> None:
        if self.waiter is not None:
            self.waiter.cancel()


class ChatSocketHandler(WebSocketHandler):
    def initialize(self, room: ChatRoom) -> None:
        self.room = room

    def open(self) -> None:
        self.room.sockets.add(self)

    def on_close(self) -> None:
        self.room.sockets.discard(self)

    async def on_message(self, data: str | bytes) -> None:
        try:
            body = json.loads(data)["body"]
        except (ValueError, KeyError, TypeError):
            self.close(1003, "expected {\"body\": text}")
            return
        if not isinstance(body, str) or not body.strip():
            return
        message: dict[str, Any] = {"id": uuid.uuid4().hex, "body": body}
        message["html"] = to_unicode(self.render_string("message.html", message=message))
        await self.room.publish(message)

    def send(self, message: dict[str, Any]) -> None:
        try:
            self.write_message(message)
        except WebSocketClosedError:
            self.room.sockets.discard(self)


def make_app(room: ChatRoom, **settings: Any) -> Application:
    return Application(
        [
            (r"/", MainHandler, {"room": room}),
            (r"/a/message/new", MessageNewHandler, {"room": room}),
            (r"/a/message/updates", MessageUpdatesHandler, {"room": room}),
            (r"/chatsocket", ChatSocketHandler, {"room": room}),
        ],
        template_path=os.path.join(HERE, "templates"),
        static_path=os.path.join(HERE, "static"),
        xsrf_cookies=True,
        **settings,
    )


def define_options(parser: OptionParser) -> None:
    parser.define("port", default=8888, type=int, help="port to listen on")
    parser.define("address", default="127.0.0.1", help="address to listen on")
    parser.define("debug", default=False, type=bool, help="debug mode")
    parser.define("pubsub", default="memory",
                  help="pub/sub backend: memory (one process) or redis://host:port/db")


async def serve(options: OptionParser) -> None:
    pubsub = pubsub_from_url(options.pubsub)
    room = ChatRoom(pubsub)
    await room.start()
    server = make_app(room, debug=options.debug).listen(options.port, options.address)
    log.info("chat on http://%s:%d/ (pubsub %s)", options.address, options.port, options.pubsub)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        server.stop()
        await server.close_all_connections(timeout=5)
        await room.stop()
        await pubsub.close()


def main(argv: list[str] | None = None) -> None:
    from squall.log import enable_pretty_logging

    options = OptionParser()
    define_options(options)
    options.parse_command_line(sys.argv if argv is None else argv)
    enable_pretty_logging()
    asyncio.run(serve(options))


if __name__ == "__main__":
    main()
