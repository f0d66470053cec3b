"""The smallest squall application: ``python examples/hello.py`` then open :8888."""

from __future__ import annotations

import squall.ioloop
import squall.web
from squall.log import enable_pretty_logging


class MainHandler(squall.web.RequestHandler):
    def get(self) -> None:
        self.write("Hello, world")


def make_app() -> squall.web.Application:
    return squall.web.Application([(r"/", MainHandler)])


if __name__ == "__main__":
    enable_pretty_logging()
    make_app().listen(8888)
    squall.ioloop.IOLoop.current().start()
