"""squall: RequestHandler subclasses, served as a user would write it."""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import squall.ioloop
import squall.web


class PlaintextHandler(squall.web.RequestHandler):
    def get(self) -> None:
        self.set_header("Content-Type", "text/plain")
        self.write("Hello, World!")


class JSONHandler(squall.web.RequestHandler):
    def get(self, item_id: str) -> None:
        self.write({"id": int(item_id), "message": "Hello"})


class EchoHandler(squall.web.RequestHandler):
    def post(self) -> None:
        self.set_header("Content-Type", "application/octet-stream")
        self.write(self.request.body)


def make_app() -> squall.web.Application:
    return squall.web.Application([
        (r"/plaintext", PlaintextHandler),
        (r"/json/([0-9]+)", JSONHandler),
        (r"/echo", EchoHandler),
    ])


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    make_app().listen(args.port, "127.0.0.1", backlog=4096)
    squall.ioloop.IOLoop.current().start()
