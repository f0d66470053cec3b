"""The floor: a bare asyncio Protocol on uvloop with httptools, no framework.

It does the least any server must do for each route (parse, answer canned or
minimally built bytes), so the other servers' cost is read as a ratio to it.
"""

from __future__ import annotations

import argparse
import asyncio
import json

import httptools
import uvloop

_PLAIN = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\n"
    b"Hello, World!"
)
_NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"


class FloorProtocol(asyncio.Protocol):
    __slots__ = ("_body", "_out", "_parser", "_transport", "_url")

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpRequestParser(self)
        self._url = b""
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
        # The responses to one read (a pipelined batch) leave in one write.
        out = self._out
        if out:
            assert self._transport is not None
            self._transport.write(out[0] if len(out) == 1 else b"".join(out))
            out.clear()

    def on_message_begin(self) -> None:
        self._url = b""
        self._body = []

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        url = self._url
        if url == b"/plaintext":
            response = _PLAIN
        elif url.startswith(b"/json/"):
            body = json.dumps({"id": int(url[6:]), "message": "Hello"}).encode()
            response = (
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%b"
                % (len(body), body)
            )
        elif url == b"/echo":
            body = b"".join(self._body)
            response = (
                b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                b"Content-Length: %d\r\n\r\n%b" % (len(body), body)
            )
        else:
            response = _NOT_FOUND
        self._out.append(response)


async def main(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(FloorProtocol, "127.0.0.1", port, backlog=4096)
    await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    uvloop.run(main(parser.parse_args().port))
