"""squall.httpclient against real servers on loopback.

The origin server is a squall application (``squall.web`` handlers served by
squall's own ``HTTPServer``, plain and over TLS); raw asyncio servers stand in for
peers that misbehave in ways no framework would: a stalled server, a truncated
response and a forward proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import os
import re
import select
import socket
import ssl
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import trustme

from squall.httpclient import (
    AsyncHTTPClient,
    HTTPClient,
    HTTPClientError,
    HTTPError,
    HTTPHeaders,
    HTTPRequest,
    HTTPResponse,
    HTTPStreamClosedError,
    HTTPTimeoutError,
)
from squall.httpclient.headers import HeadersInput
from squall.testing import serve as serve_app
from squall.web import Application, RequestHandler

BIG_BODY_SIZE = 50 * 1024 * 1024
BLOCK = b"x" * 65536

# -- origin server -------------------------------------------------------------


class HelloHandler(RequestHandler):
    def get(self) -> None:
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.add_header("Set-Cookie", "a=1")
        self.add_header("Set-Cookie", "b=2")
        self.write("Hello world")


class EchoHandler(RequestHandler):
    SUPPORTED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

    def _echo(self) -> None:
        headers: dict[str, list[str]] = {}
        for name, value in self.request.headers.get_all():
            headers.setdefault(name.lower(), []).append(value)
        self.write({
            "method": self.request.method,
            "body": self.request.body.decode(),
            "headers": headers,
        })

    get = post = put = patch = delete = _echo  # type: ignore[assignment]


class RedirectHandler(RequestHandler):
    def get(self, n: str) -> None:
        remaining = int(n)
        if remaining == 0:
            self.write("arrived")
        else:
            self.redirect(f"/redirect/{remaining - 1}")


class StatusHandler(RequestHandler):
    def get(self, code: str) -> None:
        self.set_status(int(code))
        self.write(f"status {code}")


class GzipHandler(RequestHandler):
    def get(self) -> None:
        self.set_header("Content-Encoding", "gzip")
        self.write(gzip.compress(b"squall " * 1000))


class ChunkedHandler(RequestHandler):
    async def get(self) -> None:
        # No Content-Length and a flush before the end: squall frames it chunked.
        for part in (b"first,", b"second,", b"third"):
            self.write(part)
            await self.flush()
            await asyncio.sleep(0.01)


class BigHandler(RequestHandler):
    async def get(self) -> None:
        self.set_header("Content-Length", BIG_BODY_SIZE)
        for _ in range(BIG_BODY_SIZE // len(BLOCK)):
            self.write(BLOCK)
            await self.flush()


class ConcurrentHandler(RequestHandler):
    def initialize(self, gauge: dict[str, int]) -> None:
        self.gauge = gauge

    async def get(self) -> None:
        gauge = self.gauge
        gauge["now"] += 1
        gauge["peak"] = max(gauge["peak"], gauge["now"])
        await asyncio.sleep(0.05)
        gauge["now"] -= 1
        self.write("ok")


def make_app(gauge: dict[str, int] | None = None) -> Application:
    return Application([
        (r"/hello", HelloHandler),
        (r"/echo", EchoHandler),
        (r"/redirect/([0-9]+)", RedirectHandler),
        (r"/status/([0-9]+)", StatusHandler),
        (r"/gzip", GzipHandler),
        (r"/chunked", ChunkedHandler),
        (r"/big", BigHandler),
        (r"/concurrent", ConcurrentHandler, {"gauge": gauge if gauge is not None else {}}),
    ])


@contextlib.asynccontextmanager
async def serve(
    app: Application, ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[str]:
    """Serve ``app`` with squall's HTTPServer on an ephemeral loopback port; yield its URL."""
    async with serve_app(app, ssl_options=ssl_context) as srv:
        scheme = "https" if ssl_context is not None else "http"
        yield f"{scheme}://127.0.0.1:{srv.port}"


@contextlib.asynccontextmanager
async def origin() -> AsyncIterator[tuple[str, AsyncHTTPClient]]:
    """The usual test setup: the origin app and a private client, both closed after."""
    async with serve(make_app()) as url, AsyncHTTPClient(force_instance=True) as client:
        yield url, client


@contextlib.contextmanager
def serve_in_thread() -> Iterator[str]:
    """The origin app on its own loop in a thread, for the blocking client."""
    ready = threading.Event()
    started: list[tuple[str, asyncio.AbstractEventLoop, asyncio.Event]] = []

    async def main() -> None:
        stop = asyncio.Event()
        async with serve(make_app()) as url:
            started.append((url, asyncio.get_running_loop(), stop))
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(main(),))
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("test server thread did not start")
    url, loop, stop = started[0]
    try:
        yield url
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)


RawHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def raw_server(handler: RawHandler) -> AsyncIterator[int]:
    """A bare asyncio server running ``handler`` per connection; yields its port."""
    tasks: set[asyncio.Task[None]] = set()

    async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await handler(reader, writer)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    server = await asyncio.start_server(run, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()
        if tasks:
            await asyncio.wait(tasks, timeout=5)


async def read_head(reader: asyncio.StreamReader) -> list[str]:
    head = await reader.readuntil(b"\r\n\r\n")
    return head.decode("latin-1").split("\r\n")[:-2]


# -- basics ---------------------------------------------------------------------


async def test_fetch_returns_code_reason_body_headers_and_timing() -> None:
    async with origin() as (url, client):
        response = await client.fetch(url + "/hello")
    assert isinstance(response, HTTPResponse)
    assert (response.code, response.reason, response.body) == (200, "OK", b"Hello world")
    assert response.buffer is not None and response.buffer.read() == b"Hello world"
    assert response.effective_url == url + "/hello"
    assert response.error is None
    assert response.request.url == url + "/hello"
    assert response.request_time is not None and response.request_time >= 0
    assert response.start_time is not None
    assert set(response.time_info) == {"queue", "starttransfer", "total"}


async def test_response_headers_are_case_insensitive_and_multi_valued() -> None:
    async with origin() as (url, client):
        response = await client.fetch(url + "/hello")
    assert isinstance(response.headers, HTTPHeaders)
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers.get_list("SET-COOKIE") == ["a=1", "b=2"]
    assert response.headers["Set-Cookie"] == "a=1,b=2"


async def test_request_headers_accept_a_dict_pairs_or_httpheaders() -> None:
    multi = HTTPHeaders()
    multi.add("x-token", "one")
    multi.add("X-TOKEN", "two")
    cases: list[tuple[HeadersInput, list[str]]] = [
        ({"X-Token": "one"}, ["one"]),
        ([("X-Token", "one"), ("X-Token", "two")], ["one", "two"]),
        (multi, ["one", "two"]),
    ]
    async with origin() as (url, client):
        for headers, expected in cases:
            response = await client.fetch(url + "/echo", headers=headers)
            assert json.loads(response.body)["headers"]["x-token"] == expected


async def test_post_sends_a_str_body_as_utf8_with_tornados_form_content_type() -> None:
    async with origin() as (url, client):
        response = await client.fetch(url + "/echo", method="POST", body="name=caf\u00e9")
    echoed = json.loads(response.body)
    assert echoed["method"] == "POST"
    assert echoed["body"] == "name=caf\u00e9"
    assert echoed["headers"]["content-type"] == ["application/x-www-form-urlencoded"]


async def test_user_agent_defaults_to_squall_and_client_defaults_apply() -> None:
    async with (
        serve(make_app()) as url,
        AsyncHTTPClient(force_instance=True, defaults={"user_agent": "robot/1"}) as client,
    ):
        by_default = json.loads((await client.fetch(url + "/echo")).body)
        overridden = json.loads((await client.fetch(url + "/echo", user_agent="me/2")).body)
    assert by_default["headers"]["user-agent"] == ["robot/1"]
    assert overridden["headers"]["user-agent"] == ["me/2"]
    async with origin() as (url, client):
        plain = json.loads((await client.fetch(url + "/echo")).body)
    assert plain["headers"]["user-agent"][0].startswith("squall/")


async def test_basic_auth_sends_an_authorization_header() -> None:
    async with origin() as (url, client):
        response = await client.fetch(url + "/echo", auth_username="ann", auth_password="s3cret")
    sent = json.loads(response.body)["headers"]["authorization"]
    assert sent == ["Basic YW5uOnMzY3JldA=="]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
def test_a_body_is_required_for_post_put_and_patch(method: str) -> None:
    with (
        HTTPClient() as client,
        pytest.raises(ValueError, match=f"Body must not be None for method {method}"),
    ):
        client.fetch("http://127.0.0.1:9/", method=method)


async def test_a_body_is_refused_for_get_unless_nonstandard_methods_are_allowed() -> None:
    async with origin() as (url, client):
        with pytest.raises(ValueError, match="Body must be None for method GET"):
            await client.fetch(url + "/echo", body=b"x")
        response = await client.fetch(url + "/echo", body=b"x", allow_nonstandard_methods=True)
    assert json.loads(response.body)["body"] == "x"


async def test_invalid_requests_are_refused_before_any_io() -> None:
    client = AsyncHTTPClient(force_instance=True)
    with pytest.raises(ValueError, match="unsupported URL scheme 'ftp'"):
        client.fetch("ftp://127.0.0.1/")
    with pytest.raises(ValueError, match="kwargs can't be used"):
        client.fetch(HTTPRequest("http://127.0.0.1/"), method="POST")
    with pytest.raises(ValueError, match="unsupported auth mode 'digest'"):
        client.fetch("http://127.0.0.1/", auth_username="a", auth_mode="digest")
    with pytest.raises(ValueError, match="unknown HTTPRequest option 'timeout'"):
        AsyncHTTPClient(force_instance=True, defaults={"timeout": 1})
    await client.aclose()
    with pytest.raises(RuntimeError, match="closed AsyncHTTPClient"):
        client.fetch("http://127.0.0.1/")


# -- errors ---------------------------------------------------------------------


@pytest.mark.parametrize("code", [404, 503])
async def test_error_status_raises_http_client_error_with_the_response(code: int) -> None:
    async with origin() as (url, client):
        with pytest.raises(HTTPClientError) as caught:
            await client.fetch(f"{url}/status/{code}")
    assert caught.value.code == code
    assert str(caught.value).startswith(f"HTTP {code}: ")
    assert caught.value.response is not None
    assert caught.value.response.body == f"status {code}".encode()
    assert HTTPError is HTTPClientError


@pytest.mark.parametrize("code", [404, 503])
async def test_error_status_with_raise_error_false_returns_the_response(code: int) -> None:
    async with origin() as (url, client):
        response = await client.fetch(f"{url}/status/{code}", raise_error=False)
    assert response.code == code
    assert isinstance(response.error, HTTPClientError) and response.error.code == code
    with pytest.raises(HTTPClientError):
        response.rethrow()


async def test_connection_refused_raises_connection_refused_error_naming_the_target() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound but not listening: connects are refused
        async with AsyncHTTPClient(force_instance=True) as client:
            with pytest.raises(
                ConnectionRefusedError, match=re.escape(f"cannot connect to 127.0.0.1:{port}")
            ):
                await client.fetch(f"http://127.0.0.1:{port}/", raise_error=False)


async def test_a_truncated_body_raises_stream_closed_599() -> None:
    async def truncate(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")
        await writer.drain()

    async with raw_server(truncate) as port, AsyncHTTPClient(force_instance=True) as client:
        with pytest.raises(HTTPStreamClosedError) as caught:
            await client.fetch(f"http://127.0.0.1:{port}/")
    assert caught.value.code == 599
    assert str(caught.value).startswith("Stream closed")


# -- timeouts -------------------------------------------------------------------


@contextlib.contextmanager
def saturated_listener() -> Iterator[int]:
    """A loopback port whose accept queue is full, so new SYNs are dropped unanswered.

    With ``listen(0)`` Linux queues one connection and drops further SYNs until
    someone calls accept(), which nobody does: connecting there hangs.
    """
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(socket.socket())
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        for _ in range(16):
            filler = stack.enter_context(socket.socket())
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            _, writable, _ = select.select([], [filler], [], 0.3)
            if not writable:
                yield port
                return
        pytest.skip("this kernel answered every SYN; cannot make a connect hang on loopback")


async def test_connect_timeout_raises_599_timeout_while_connecting() -> None:
    with saturated_listener() as port:
        async with AsyncHTTPClient(force_instance=True) as client:
            with pytest.raises(HTTPTimeoutError) as caught:
                await client.fetch(
                    f"http://127.0.0.1:{port}/", connect_timeout=0.3, raise_error=False
                )
    assert caught.value.code == 599
    assert str(caught.value).startswith("Timeout while connecting")
    assert "connect_timeout=0.3s" in str(caught.value)


async def test_request_timeout_raises_599_timeout_during_request() -> None:
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # never answer; return once the client hangs up

    async with raw_server(stall) as port, AsyncHTTPClient(force_instance=True) as client:
        with pytest.raises(HTTPTimeoutError) as caught:
            await client.fetch(f"http://127.0.0.1:{port}/", request_timeout=0.3, raise_error=False)
    assert caught.value.code == 599
    assert str(caught.value).startswith("Timeout during request")
    assert "request_timeout=0.3s" in str(caught.value)


# -- redirects ------------------------------------------------------------------


async def test_redirects_are_followed_up_to_max_redirects() -> None:
    async with origin() as (url, client):
        response = await client.fetch(url + "/redirect/5")
    assert (response.code, response.body) == (200, b"arrived")
    assert response.effective_url == url + "/redirect/0"


async def test_past_max_redirects_the_last_redirect_is_the_response() -> None:
    async with origin() as (url, client):
        response = await client.fetch(url + "/redirect/3", max_redirects=2, raise_error=False)
        with pytest.raises(HTTPClientError) as caught:
            await client.fetch(url + "/redirect/3", max_redirects=2)
    assert response.code == 302
    assert response.effective_url == url + "/redirect/1"
    assert response.headers["Location"] == "/redirect/0"
    assert caught.value.code == 302


async def test_follow_redirects_false_returns_the_first_redirect() -> None:
    async with origin() as (url, client):
        response = await client.fetch(
            url + "/redirect/1", follow_redirects=False, raise_error=False
        )
    assert (response.code, response.headers["Location"]) == (302, "/redirect/0")


# -- bodies ---------------------------------------------------------------------


def current_rss() -> int | None:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return None


async def test_streaming_50mb_reaches_the_callback_in_chunks_without_buffering() -> None:
    seen = {"bytes": 0, "chunks": 0, "largest": 0}
    baseline = current_rss()
    peak = baseline

    def on_chunk(chunk: bytes) -> None:
        nonlocal peak
        seen["bytes"] += len(chunk)
        seen["chunks"] += 1
        seen["largest"] = max(seen["largest"], len(chunk))
        if seen["chunks"] % 64 == 0 and peak is not None:
            peak = max(peak, current_rss() or 0)

    async with origin() as (url, client):
        response = await client.fetch(url + "/big", streaming_callback=on_chunk)
    assert response.code == 200
    assert response.body == b""
    assert seen["bytes"] == BIG_BODY_SIZE
    assert seen["largest"] <= 4 * 1024 * 1024
    if baseline is not None and peak is not None:
        assert peak - baseline < 30 * 1024 * 1024  # far below the 50 MB body


async def test_header_callback_gets_status_line_header_lines_then_blank_line() -> None:
    lines: list[str] = []
    async with origin() as (url, client):
        await client.fetch(url + "/hello", header_callback=lines.append)
    assert lines[0] == "HTTP/1.1 200 OK\r\n"
    assert lines[-1] == "\r\n"
    assert "Set-Cookie: a=1\r\n" in lines and "Set-Cookie: b=2\r\n" in lines
    assert all(line.endswith("\r\n") for line in lines)
    parsed = HTTPHeaders.parse("".join(lines[1:-1]))
    assert parsed["Content-Length"] == "11"


async def test_gzip_bodies_are_decompressed_by_default() -> None:
    async with origin() as (url, client):
        response = await client.fetch(url + "/gzip")
    assert response.body == b"squall " * 1000
    assert "Content-Encoding" not in response.headers
    assert response.headers["X-Consumed-Content-Encoding"] == "gzip"


async def test_decompress_response_false_asks_for_and_returns_raw_bytes() -> None:
    async with origin() as (url, client):
        raw = await client.fetch(url + "/gzip", decompress_response=False)
        sent = json.loads((await client.fetch(url + "/echo", decompress_response=False)).body)
    assert gzip.decompress(raw.body) == b"squall " * 1000
    assert raw.headers["Content-Encoding"] == "gzip"
    assert "accept-encoding" not in sent["headers"]


async def test_chunked_responses_are_reassembled() -> None:
    async with origin() as (url, client):
        response = await client.fetch(url + "/chunked")
    assert response.headers["Transfer-Encoding"] == "chunked"
    assert response.body == b"first,second,third"


# -- TLS ------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def tls_origin(tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    """An HTTPS origin with a certificate from a throwaway CA; yields (url, CA file)."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    async with serve(make_app(), ssl_context=server_context) as url:
        yield url, str(ca_file)


async def test_tls_with_validate_cert_false_needs_no_ca(tmp_path: Path) -> None:
    async with tls_origin(tmp_path) as (url, _), AsyncHTTPClient(force_instance=True) as client:
        response = await client.fetch(url + "/hello", validate_cert=False)
    assert response.body == b"Hello world"


async def test_tls_with_an_unknown_ca_fails_certificate_verification(tmp_path: Path) -> None:
    async with tls_origin(tmp_path) as (url, _), AsyncHTTPClient(force_instance=True) as client:
        with pytest.raises(
            ssl.SSLCertVerificationError, match=re.escape("cannot connect to 127.0.0.1:")
        ):
            await client.fetch(url + "/hello")


async def test_tls_with_ca_certs_verifies_the_server(tmp_path: Path) -> None:
    async with (
        tls_origin(tmp_path) as (url, ca_file),
        AsyncHTTPClient(force_instance=True) as client,
    ):
        response = await client.fetch(url + "/hello", ca_certs=ca_file)
    assert response.body == b"Hello world"


# -- proxy ----------------------------------------------------------------------


async def test_requests_go_through_the_configured_proxy_with_its_credentials() -> None:
    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        lines = await read_head(reader)
        headers = HTTPHeaders.parse("\r\n".join(lines[1:]))
        body = json.dumps(
            {"request_line": lines[0], "auth": headers.get("Proxy-Authorization")}
        ).encode()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()

    async with raw_server(proxy) as port, AsyncHTTPClient(force_instance=True) as client:
        response = await client.fetch(
            "http://origin.example/path?q=1",
            proxy_host="127.0.0.1",
            proxy_port=port,
            proxy_username="ann",
            proxy_password="s3cret",
        )
    seen = json.loads(response.body)
    assert seen["request_line"] == "GET http://origin.example/path?q=1 HTTP/1.1"
    assert seen["auth"] == "Basic YW5uOnMzY3JldA=="


# -- the client object ---------------------------------------------------------


async def test_max_clients_bounds_concurrent_requests() -> None:
    gauge = {"now": 0, "peak": 0}
    async with (
        serve(make_app(gauge)) as url,
        AsyncHTTPClient(force_instance=True, max_clients=2) as client,
    ):
        responses = await asyncio.gather(*(client.fetch(url + "/concurrent") for _ in range(6)))
    assert [r.code for r in responses] == [200] * 6
    assert gauge["peak"] == 2


async def test_one_shared_client_per_loop_unless_forced() -> None:
    shared = AsyncHTTPClient()
    assert AsyncHTTPClient() is shared
    private = AsyncHTTPClient(force_instance=True)
    assert private is not shared
    async with serve(make_app()) as url:
        assert (await shared.fetch(url + "/hello")).code == 200
    await shared.aclose()
    await private.aclose()
    assert AsyncHTTPClient() is not shared
    await AsyncHTTPClient().aclose()


async def test_sync_close_inside_the_loop_releases_connections() -> None:
    async with serve(make_app()) as url:
        client = AsyncHTTPClient(force_instance=True)
        await client.fetch(url + "/hello")
        client.close()
        client.close()  # idempotent
        await asyncio.sleep(0)


async def test_awaiting_a_fetch_can_be_cancelled_by_the_caller() -> None:
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    async with raw_server(stall) as port, AsyncHTTPClient(force_instance=True) as client:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(client.fetch(f"http://127.0.0.1:{port}/"), 0.2)


def test_blocking_client_fetches_and_closes() -> None:
    with serve_in_thread() as url, HTTPClient() as client:
        assert client.fetch(url + "/hello").body == b"Hello world"
        with pytest.raises(HTTPClientError) as caught:
            client.fetch(url + "/status/404")
        assert caught.value.code == 404
        response = client.fetch(HTTPRequest(url + "/echo", method="PUT", body="x"))
        assert json.loads(response.body)["method"] == "PUT"
    with pytest.raises(RuntimeError, match="closed HTTPClient"):
        client.fetch(url + "/hello")


async def test_blocking_client_refuses_to_run_inside_an_event_loop() -> None:
    with pytest.raises(RuntimeError, match="use AsyncHTTPClient instead"):
        HTTPClient()
