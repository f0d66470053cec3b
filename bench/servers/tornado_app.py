"""Tornado: the same three RequestHandlers, on uvloop like every server here."""

from __future__ import annotations

import argparse
import asyncio

import tornado.web
import uvloop


class PlaintextHandler(tornado.web.RequestHandler):
    def get(self) -> None:
        self.set_header("Content-Type", "text/plain")
        self.write("Hello, World!")


class JSONHandler(tornado.web.RequestHandler):
    def get(self, item_id: str) -> None:
        self.write({"id": int(item_id), "message": "Hello"})


class EchoHandler(tornado.web.RequestHandler):
    def post(self) -> None:
        self.set_header("Content-Type", "application/octet-stream")
        self.write(self.request.body)


async def main(port: int) -> None:
    app = tornado.web.Application([
        (r"/plaintext", PlaintextHandler),
        (r"/json/([0-9]+)", JSONHandler),
        (r"/echo", EchoHandler),
    ])
    app.listen(port, "127.0.0.1", backlog=4096)
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    uvloop.run(main(parser.parse_args().port))
