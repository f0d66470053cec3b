"""RequestHandler and Application behaviour, through a real server."""

from __future__ import annotations

import asyncio
import json
import logging
import re

import pytest

import squall.web
from squall.testing import ExpectLog, serve
from squall.web import (
    Application,
    Finish,
    HTTPError,
    RequestHandler,
    authenticated,
    create_signed_value,
    decode_signed_value,
    url,
)


class PlaceHandler(squall.web.RequestHandler):
    def get(self, id):  # type: ignore[no-untyped-def]
        self.write("GETting something")

    def post(self):  # type: ignore[no-untyped-def]
        self.write("POSTing something")


SEED_APP = [(r"/place", PlaceHandler), (r"/place/([0-9]+)", PlaceHandler)]


async def test_seed_program_answers_as_tornado_did() -> None:
    async with serve(Application(SEED_APP)) as srv:
        got = await srv.fetch("/place/7")
        assert (got.code, got.body) == (200, b"GETting something")
        got = await srv.fetch("/place", method="POST", body="")
        assert (got.code, got.body) == (200, b"POSTing something")
        got = await srv.fetch("/place", method="PUT", body="x")
        assert got.code == 405
        assert got.headers["Allow"] == "GET, POST"
        assert (await srv.fetch("/nowhere")).code == 404


class ArgsHandler(RequestHandler):
    def initialize(self, greeting: str = "hi") -> None:
        self.greeting = greeting

    def get(self, *args: str, **kwargs: str) -> None:
        self.write({"greeting": self.greeting, "args": list(args), "kwargs": kwargs,
                    "q": self.get_arguments("q"), "one": self.get_argument("one", None)})


async def test_unnamed_groups_are_positional_and_named_groups_keywords_url_decoded() -> None:
    app = Application([
        (r"/pos/([^/]+)/([0-9]+)", ArgsHandler, {"greeting": "hello"}),
        url(r"/kw/(?P<slug>[^/]+)", ArgsHandler, name="kw"),
    ])
    async with serve(app) as srv:
        got = json.loads((await srv.fetch("/pos/caf%C3%A9%20x/42?q=1&q=2&one=%20a%20")).body)
        assert got == {"greeting": "hello", "args": ["café x", "42"], "kwargs": {},
                       "q": ["1", "2"], "one": "a"}
        got = json.loads((await srv.fetch("/kw/a%2Fb")).body)
        assert got["kwargs"] == {"slug": "a/b"} and got["args"] == []
    assert app.reverse_url("kw", "a/b c") == "/kw/a%2Fb%20c"


def test_reverse_url_refuses_wrong_argument_count_and_unknown_names() -> None:
    app = Application([url(r"/a/([0-9]+)/b/([a-z]+)", ArgsHandler, name="ab")])
    assert app.reverse_url("ab", 1, "x") == "/a/1/b/x"
    with pytest.raises(ValueError, match="needs 2 arguments"):
        app.reverse_url("ab", 1)
    with pytest.raises(KeyError, match="no URL rule named 'zz'"):
        app.reverse_url("zz")


def test_bad_rules_are_refused_with_a_clear_message() -> None:
    with pytest.raises(TypeError, match="URL rule must be"):
        Application([("/only-a-pattern",)])
    with pytest.raises(ValueError, match="invalid URL pattern"):
        Application([(r"/(unclosed", ArgsHandler)])
    with pytest.raises(TypeError, match="must be a class"):
        Application([(r"/", "not.a.Handler.instance"[0:0] or 42)])


class ErrorsHandler(RequestHandler):
    def get(self, kind: str) -> None:
        if kind == "http":
            raise HTTPError(418, "teapot for %s", self.request.remote_ip, reason="I'm a teapot")
        if kind == "finish":
            self.set_status(201)
            raise Finish("finished early")
        if kind == "crash":
            raise RuntimeError("boom <script>")
        if kind == "missing":
            self.get_argument("needed")
        if kind == "list":
            self.write([1, 2])  # type: ignore[arg-type]
        if kind == "crlf":
            self.set_header("X-Evil", "a\r\nSet-Cookie: pwned=1")
        if kind == "send":
            self.send_error(503, reason="Back Soon")


async def test_errors_become_the_right_status_pages() -> None:
    async with serve(Application([(r"/e/(\w+)", ErrorsHandler)])) as srv:
        with ExpectLog("squall.general", ".*teapot for"):
            got = await srv.fetch("/e/http")
        assert (got.code, got.reason) == (418, "I'm a teapot")
        got = await srv.fetch("/e/finish")
        assert (got.code, got.body) == (201, b"finished early")
        with ExpectLog("squall.application", "Uncaught exception"):
            got = await srv.fetch("/e/crash")
        assert got.code == 500 and b"boom" not in got.body  # no traceback without debug
        with ExpectLog("squall.general", ".*Missing argument needed"):
            got = await srv.fetch("/e/missing")
        assert got.code == 400
        with ExpectLog("squall.application", "Uncaught exception"):
            assert (await srv.fetch("/e/list")).code == 500
        with ExpectLog("squall.application", "Uncaught exception"):
            got = await srv.fetch("/e/crlf")
        assert got.code == 500 and "pwned" not in got.headers.get("Set-Cookie", "")
        got = await srv.fetch("/e/send")
        assert (got.code, got.reason) == (503, "Back Soon")


async def test_debug_mode_serves_an_escaped_traceback_page() -> None:
    async with serve(Application([(r"/e/(\w+)", ErrorsHandler)], debug=True)) as srv:
        with ExpectLog("squall.application", "Uncaught exception"):
            got = await srv.fetch("/e/crash")
    assert got.code == 500
    assert b"Traceback" in got.body and b"boom &lt;script&gt;" in got.body


async def test_unset_keyword_passed_to_handler_without_initialize_is_an_error() -> None:
    app = Application([(r"/", PlaceHandler, {"unexpected": 1})])
    async with serve(app) as srv:
        with ExpectLog("squall.application", "Error creating handler"):
            got = await srv.fetch("/")
    assert got.code == 500


class OutputHandler(RequestHandler):
    async def prepare(self) -> None:
        await asyncio.sleep(0)
        if self.get_argument("stop", None):
            self.finish("stopped in prepare")

    async def get(self) -> None:
        what = self.get_argument("what")
        if what == "json":
            self.write({"a": 1, "b": "</script>"})
        elif what == "redirect":
            self.redirect("/elsewhere", permanent=True)
        elif what == "headers":
            self.set_header("X-One", 1)
            self.add_header("X-Multi", "a")
            self.add_header("X-Multi", "b")
            self.set_header("X-Gone", "x")
            self.clear_header("X-Gone")
            self.write("ok")
        elif what == "etag":
            self.write("stable body")


async def test_output_api_json_redirect_headers_and_async_prepare() -> None:
    async with serve(Application([(r"/out", OutputHandler)])) as srv:
        got = await srv.fetch("/out?what=json")
        assert got.headers["Content-Type"] == "application/json; charset=UTF-8"
        assert json.loads(got.body) == {"a": 1, "b": "</script>"}
        assert b"<\\/script>" in got.body
        got = await srv.fetch("/out?what=redirect", follow_redirects=False)
        assert (got.code, got.headers["Location"]) == (301, "/elsewhere")
        got = await srv.fetch("/out?what=headers")
        assert got.headers["X-One"] == "1"
        assert got.headers.get_list("X-Multi") == ["a", "b"]
        assert "X-Gone" not in got.headers
        got = await srv.fetch("/out?what=x&stop=1")
        assert got.body == b"stopped in prepare"


async def test_etag_is_sent_and_matching_if_none_match_gets_304() -> None:
    async with serve(Application([(r"/out", OutputHandler)])) as srv:
        first = await srv.fetch("/out?what=etag")
        etag = first.headers["Etag"]
        assert re.fullmatch(r'"[0-9a-f]{40}"', etag)
        again = await srv.fetch("/out?what=etag", headers={"If-None-Match": etag})
        assert again.code == 304 and again.body == b""
        other = await srv.fetch("/out?what=etag", headers={"If-None-Match": '"nope"'})
        assert other.code == 200


class FormHandler(RequestHandler):
    def post(self) -> None:
        files = {name: [(f.filename, f.body.decode(), f.content_type) for f in fs]
                 for name, fs in self.request.files.items()}
        self.write({"title": self.get_body_argument("title"),
                    "tags": self.get_body_arguments("tag"),
                    "query": self.get_query_argument("q", None),
                    "files": files})


async def test_urlencoded_and_multipart_bodies_with_files() -> None:
    async with serve(Application([(r"/form", FormHandler)])) as srv:
        got = await srv.fetch("/form?q=1", method="POST", body="title=Hello+W%C3%B6rld&tag=a&tag=b")
        assert json.loads(got.body) == {"title": "Hello Wörld", "tags": ["a", "b"],
                                        "query": "1", "files": {}}
        boundary = "xyzzy"
        body = (
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nT\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"a.txt\"\r\n"
            f"Content-Type: text/plain\r\n\r\nfile body\r\n--{boundary}--\r\n"
        )
        got = await srv.fetch("/form", method="POST", body=body,
                              headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        assert json.loads(got.body)["files"] == {"doc": [["a.txt", "file body", "text/plain"]]}
        with ExpectLog("squall.general", ".*Bad request body"):
            bad = await srv.fetch("/form", method="POST", body="--x\r\nbroken",
                                  headers={"Content-Type": "multipart/form-data; boundary=x"})
        assert bad.code == 400


class CookieHandler(RequestHandler):
    def get(self) -> None:
        action = self.get_argument("a")
        if action == "set":
            self.set_cookie("plain", "v1", httponly=True, samesite="Lax")
            self.set_signed_cookie("user", "alice")
        elif action == "read":
            value = self.get_signed_cookie("user")
            self.write({"plain": self.get_cookie("plain"),
                        "user": value.decode() if value else None,
                        "version": self.get_signed_cookie_key_version("user")})
        elif action == "clear":
            self.clear_cookie("plain")
        elif action == "bad":
            self.set_cookie("x", "a;b")


def _cookie_header(response: object) -> str:
    values = response.headers.get_list("Set-Cookie")  # type: ignore[attr-defined]
    return "; ".join(v.split(";")[0] for v in values)


async def test_cookies_and_signed_cookies_round_trip_and_forgeries_are_ignored() -> None:
    app = Application([(r"/c", CookieHandler)], cookie_secret="s3cret")
    async with serve(app) as srv:
        set_response = await srv.fetch("/c?a=set")
        raw = set_response.headers.get_list("Set-Cookie")
        assert any(v.startswith("plain=v1") and "HttpOnly" in v and "SameSite=Lax" in v for v in raw)
        cookies = _cookie_header(set_response)
        got = json.loads((await srv.fetch("/c?a=read", headers={"Cookie": cookies})).body)
        assert got == {"plain": "v1", "user": "alice", "version": 0}
        signed = re.search(r"user=([^;]+)", cookies).group(1)  # type: ignore[union-attr]
        tampered = signed.replace("YWxpY2U=", "bWFsbG9yeQ==")  # base64 of alice -> mallory
        assert tampered != signed
        forged = cookies.replace(signed, tampered)
        got = json.loads((await srv.fetch("/c?a=read", headers={"Cookie": forged})).body)
        assert got["user"] is None
        cleared = await srv.fetch("/c?a=clear")
        assert "Max-Age=0" in cleared.headers["Set-Cookie"]
        with ExpectLog("squall.application", "Uncaught exception"):
            assert (await srv.fetch("/c?a=bad")).code == 500


def test_signed_values_rotate_keys_and_expire() -> None:
    old = create_signed_value({1: "old", 2: "new"}, "n", "v", key_version=1)
    assert decode_signed_value({1: "old", 2: "new"}, "n", old) == b"v"
    assert decode_signed_value({2: "new"}, "n", old) is None  # retired key
    assert decode_signed_value({1: "old"}, "other-name", old) is None
    stale = create_signed_value("k", "n", "v", clock=lambda: 1_000_000)
    assert decode_signed_value("k", "n", stale, max_age_days=31) is None
    with pytest.raises(ValueError, match="key_version"):
        create_signed_value({1: "a"}, "n", "v")


async def test_signed_cookie_made_with_an_old_key_still_reads_after_rotation() -> None:
    old_cookie = create_signed_value({1: "k1"}, "user", "bob", key_version=1).decode()
    app = Application([(r"/c", CookieHandler)], cookie_secret={1: "k1", 2: "k2"}, key_version=2)
    async with serve(app) as srv:
        got = json.loads((await srv.fetch("/c?a=read", headers={"Cookie": f"user={old_cookie}"})).body)
    assert got["user"] == "bob" and got["version"] == 1


class SecretHandler(RequestHandler):
    def get_current_user(self) -> str | None:
        user = self.get_signed_cookie("user")
        return user.decode() if user else None

    @authenticated
    def get(self) -> None:
        self.write(f"hello {self.current_user}")

    @authenticated
    def post(self) -> None:
        self.write("posted")


async def test_authenticated_redirects_to_login_or_forbids() -> None:
    app = Application([(r"/secret", SecretHandler)], login_url="/login", cookie_secret="k")
    async with serve(app) as srv:
        got = await srv.fetch("/secret?x=1", follow_redirects=False)
        assert got.code == 302
        assert got.headers["Location"] == "/login?next=%2Fsecret%3Fx%3D1"
        assert (await srv.fetch("/secret", method="POST", body="")).code == 403
        cookie = create_signed_value("k", "user", "carol").decode()
        got = await srv.fetch("/secret", headers={"Cookie": f"user={cookie}"})
        assert got.body == b"hello carol"


class XSRFHandler(RequestHandler):
    def get(self) -> None:
        self.write(self.xsrf_form_html())

    def post(self) -> None:
        self.write("accepted")


async def test_xsrf_token_required_on_unsafe_methods() -> None:
    app = Application([(r"/f", XSRFHandler)], xsrf_cookies=True)
    async with serve(app) as srv:
        page = await srv.fetch("/f")
        cookie = _cookie_header(page)
        token = re.search(rb'value="([^"]+)"', page.body).group(1).decode()  # type: ignore[union-attr]
        with ExpectLog("squall.general", ".*'_xsrf' argument missing"):
            assert (await srv.fetch("/f", method="POST", body="a=1")).code == 403
        with ExpectLog("squall.general", ".*XSRF cookie does not match"):
            forged = await srv.fetch("/f", method="POST", body="_xsrf=" + "00" * 20,
                                     headers={"Cookie": cookie})
        assert forged.code == 403
        ok = await srv.fetch("/f", method="POST", body="_xsrf=" + token, headers={"Cookie": cookie})
        assert (ok.code, ok.body) == (200, b"accepted")
        header_ok = await srv.fetch("/f", method="POST", body="",
                                    headers={"Cookie": cookie, "X-XSRFToken": token})
        assert header_ok.code == 200


class IPHandler(RequestHandler):
    def get(self) -> None:
        self.write({"ip": self.request.remote_ip, "protocol": self.request.protocol,
                    "host": self.request.host})


async def test_remote_ip_honours_proxy_headers_only_with_xheaders() -> None:
    app = Application([(r"/ip", IPHandler)])
    spoof = {"X-Forwarded-For": "6.6.6.6, 10.0.0.9", "X-Forwarded-Proto": "https"}
    async with serve(app) as srv:
        got = json.loads((await srv.fetch("/ip", headers=spoof)).body)
        assert got["ip"] == "127.0.0.1" and got["protocol"] == "http"
    async with serve(app, xheaders=True) as srv:
        got = json.loads((await srv.fetch("/ip", headers=spoof)).body)
        assert got["ip"] == "10.0.0.9" and got["protocol"] == "https"
        got = json.loads((await srv.fetch("/ip", headers={"X-Real-IP": "1.2.3.4"})).body)
        assert got["ip"] == "1.2.3.4"
        got = json.loads((await srv.fetch("/ip", headers={"X-Real-IP": "not an ip"})).body)
        assert got["ip"] == "127.0.0.1"


class LifecycleHandler(RequestHandler):
    events: list[str] = []

    def prepare(self) -> None:
        self.events.append("prepare")

    async def get(self) -> None:
        self.events.append("get")
        await asyncio.sleep(5)

    def on_connection_close(self) -> None:
        self.events.append("close")

    def on_finish(self) -> None:
        self.events.append("finish")


async def test_on_connection_close_called_when_client_goes_away() -> None:
    LifecycleHandler.events = []
    async with serve(Application([(r"/l", LifecycleHandler)])) as srv:
        _reader, writer = await srv.open()
        writer.write(b"GET /l HTTP/1.1\r\nHost: t\r\n\r\n")
        await asyncio.sleep(0.1)
        writer.close()
        for _ in range(50):
            if "close" in LifecycleHandler.events:
                break
            await asyncio.sleep(0.02)
    assert LifecycleHandler.events[:3] == ["prepare", "get", "close"]


async def test_default_handler_class_and_access_log(caplog: pytest.LogCaptureFixture) -> None:
    class Fallback(RequestHandler):
        def get(self) -> None:
            self.set_status(404)
            self.write("custom not found")

    app = Application([(r"/place", PlaceHandler)], default_handler_class=Fallback)
    with caplog.at_level(logging.INFO, logger="squall.access"):
        async with serve(app) as srv:
            got = await srv.fetch("/missing?x=1")
    assert (got.code, got.body) == (404, b"custom not found")
    assert re.search(r"404 GET /missing\?x=1 \(127\.0\.0\.1\) \d+\.\d\dms", caplog.text)


async def test_flush_waits_while_the_client_is_not_reading() -> None:
    written: list[int] = []
    chunk = b"x" * 65536
    total_chunks = 512  # 32 MiB

    class Firehose(RequestHandler):
        async def get(self) -> None:
            self.set_header("Content-Length", len(chunk) * total_chunks)
            for _ in range(total_chunks):
                self.write(chunk)
                await self.flush()
                written.append(len(chunk))

    async with serve(Application([(r"/big", Firehose)])) as srv:
        reader, writer = await srv.open()
        writer.write(b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n")
        await asyncio.sleep(0.5)  # not reading: the handler must stall on flush()
        stalled_at = sum(written)
        assert stalled_at < len(chunk) * total_chunks // 2
        await reader.readuntil(b"\r\n\r\n")
        received = 0
        while received < len(chunk) * total_chunks:
            data = await asyncio.wait_for(reader.read(1 << 20), 10)
            assert data
            received += len(data)
        writer.close()
    assert sum(written) == len(chunk) * total_chunks


async def test_host_specific_rules_win_over_the_default_rules() -> None:
    class Which(RequestHandler):
        def initialize(self, name: str) -> None:
            self.name = name

        def get(self) -> None:
            self.write(self.name)

    app = Application([(r"/", Which, {"name": "default"})])
    app.add_handlers(r"api\.example\.com", [(r"/", Which, {"name": "api"})])
    async with serve(app) as srv:
        api = await srv.fetch("/", headers={"Host": "API.example.com:8080"})
        other = await srv.fetch("/", headers={"Host": "www.example.com"})
    assert (api.body, other.body) == (b"api", b"default")
