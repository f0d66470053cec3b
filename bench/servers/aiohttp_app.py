"""aiohttp: a web.Application with three routes, access log off, on uvloop."""

from __future__ import annotations

import argparse
import asyncio

import uvloop
from aiohttp import web


async def plaintext(request: web.Request) -> web.Response:
    return web.Response(text="Hello, World!")


async def json_item(request: web.Request) -> web.Response:
    return web.json_response({"id": int(request.match_info["item_id"]), "message": "Hello"})


async def echo(request: web.Request) -> web.Response:
    return web.Response(body=await request.read(), content_type="application/octet-stream")


async def main(port: int) -> None:
    app = web.Application()
    app.router.add_get("/plaintext", plaintext)
    app.router.add_get(r"/json/{item_id:\d+}", json_item)
    app.router.add_post("/echo", echo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=4096)
    await site.start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    uvloop.run(main(parser.parse_args().port))
