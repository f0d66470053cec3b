"""Starlette on uvicorn (httptools + uvloop)."""

from __future__ import annotations

import argparse

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route


async def plaintext(request: Request) -> Response:
    return PlainTextResponse("Hello, World!")


async def json_item(request: Request) -> Response:
    return JSONResponse({"id": request.path_params["item_id"], "message": "Hello"})


async def echo(request: Request) -> Response:
    return Response(await request.body(), media_type="application/octet-stream")


app = Starlette(routes=[
    Route("/plaintext", plaintext),
    Route("/json/{item_id:int}", json_item),
    Route("/echo", echo, methods=["POST"]),
])

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    uvicorn.run(app, host="127.0.0.1", port=port, loop="uvloop", http="httptools",
                log_level="warning", access_log=False, backlog=4096, timeout_keep_alive=75)
