"""uvicorn (httptools + uvloop) with a raw ASGI app routing by hand."""

from __future__ import annotations

import argparse
import json
from typing import Any

import uvicorn

_PLAIN_HEADERS = [(b"content-type", b"text/plain"), (b"content-length", b"13")]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path == "/plaintext":
        await send({"type": "http.response.start", "status": 200, "headers": _PLAIN_HEADERS})
        await send({"type": "http.response.body", "body": b"Hello, World!"})
        return
    if path.startswith("/json/") and path[6:].isdigit():
        body = json.dumps({"id": int(path[6:]), "message": "Hello"}).encode()
        ctype = b"application/json"
    elif path == "/echo" and scope["method"] == "POST":
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        ctype = b"application/octet-stream"
    else:
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    headers = [(b"content-type", ctype), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    uvicorn.run(app, host="127.0.0.1", port=port, loop="uvloop", http="httptools",
                log_level="warning", access_log=False, backlog=4096, timeout_keep_alive=75)
