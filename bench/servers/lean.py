"""The leanest pure-Python server with Tornado's request model: a lower bound.

Not a framework: the fewest Python objects and calls that any pure-Python
implementation of the ``RequestHandler`` model must make per request, with
nothing else (no limits, no timeouts, no pipelining order, no error pages, no
access log, no hooks). Per request it keeps what the model itself needs:

- httptools callbacks for the URL and each header (the handler reads headers);
- a request object and a handler object (the handler is a user's class
  instantiated per request, and reads ``self.request``);
- routing by path (hard-coded comparisons here, cheaper than any route table);
- the headers Tornado sends: Server, Content-Type, Date, Content-Length and,
  for a 200 answer to GET or HEAD as in Tornado, the SHA-1 ETag of the body
  (with If-None-Match looked at only when sent, as squall does);
- one ``transport.write`` per read: the responses to a pipelined batch leave
  together, as squall sends them.

Its CPU per request, measured in the same run as the floor, shows how close
to the floor a pure-Python implementation of the model can get at best.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import time
from email.utils import formatdate
from typing import Any

import httptools
import uvloop


class Request:
    __slots__ = ("body", "headers", "method", "path", "uri", "version")

    def __init__(self, method: str, uri: str, version: str, headers: dict[str, str]) -> None:
        self.method = method
        self.uri = uri
        self.path = uri.partition("?")[0]
        self.version = version
        self.headers = headers
        self.body = b""


class Handler:
    def __init__(self, request: Request) -> None:
        self.request = request
        self.status = 200
        self.headers = {"Server": "lean", "Content-Type": "text/html; charset=UTF-8"}
        self.buffer: list[bytes] = []

    def set_header(self, name: str, value: str) -> None:
        self.headers[name] = value

    def write(self, chunk: bytes | str | dict[str, Any]) -> None:
        if isinstance(chunk, dict):
            chunk = json.dumps(chunk)
            self.headers["Content-Type"] = "application/json; charset=UTF-8"
        self.buffer.append(chunk.encode() if isinstance(chunk, str) else chunk)

    def response(self) -> bytes:
        body = b"".join(self.buffer)
        headers = self.headers
        headers["Date"] = _date()
        headers["Content-Length"] = str(len(body))
        request = self.request
        if request.method in ("GET", "HEAD"):  # Tornado's finish(): no ETag for POST
            etag = '"' + hashlib.sha1(body).hexdigest() + '"'
            headers["Etag"] = etag
            if "If-None-Match" in request.headers and request.headers["If-None-Match"] == etag:
                del headers["Content-Length"], headers["Content-Type"]
                head = "".join([f"{k}: {v}\r\n" for k, v in headers.items()])
                return b"HTTP/1.1 304 Not Modified\r\n" + head.encode("latin-1") + b"\r\n"
        head = "".join([f"{k}: {v}\r\n" for k, v in headers.items()])
        return b"HTTP/1.1 200 OK\r\n" + head.encode("latin-1") + b"\r\n" + body


class Plaintext(Handler):
    def get(self) -> None:
        self.set_header("Content-Type", "text/plain")
        self.write("Hello, World!")


class JSON(Handler):
    def get(self, item_id: str) -> None:
        self.write({"id": int(item_id), "message": "Hello"})


class Echo(Handler):
    def post(self) -> None:
        self.set_header("Content-Type", "application/octet-stream")
        self.write(self.request.body)


_date_cache = [0, ""]


def _date() -> str:
    now = int(time.time())
    if now != _date_cache[0]:
        _date_cache[0] = now
        _date_cache[1] = formatdate(now, usegmt=True)
    return _date_cache[1]  # type: ignore[return-value]


_NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"


def route(path: str) -> tuple[type[Handler], list[str]] | None:
    if path == "/plaintext":
        return Plaintext, []
    if path.startswith("/json/"):
        return JSON, [path[6:]]
    if path == "/echo":
        return Echo, []
    return None


class LeanProtocol(asyncio.Protocol):
    __slots__ = ("_body", "_headers", "_out", "_parser", "_transport", "_url")

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpRequestParser(self)
        self._url = b""
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._out: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            assert self._transport is not None
            self._transport.close()
            return
        out = self._out
        if out:
            assert self._transport is not None
            self._transport.write(out[0] if len(out) == 1 else b"".join(out))
            out.clear()

    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = {}
        self._body = []

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").title()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        parser = self._parser
        request = Request(parser.get_method().decode(), self._url.decode("latin-1"),
                          parser.get_http_version(), self._headers)
        request.body = b"".join(self._body)
        found = route(request.path)
        if found is None:
            response = _NOT_FOUND
        else:
            handler_class, args = found
            handler = handler_class(request)
            method = handler.post if request.method == "POST" else handler.get  # type: ignore[attr-defined]
            method(*args)
            response = handler.response()
        self._out.append(response)


async def main(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(LeanProtocol, "127.0.0.1", port, backlog=4096)
    await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvloop.run(main(args.port))
