"""The request object handlers see (Tornado's ``HTTPServerRequest``)."""

from __future__ import annotations

import ipaddress
import time
from http.cookies import CookieError, Morsel
from typing import Any
from urllib.parse import unquote

from squall.http.forms import HTTPFile, parse_body_arguments, parse_qs_bytes
from squall.http.headers import HTTPHeaders

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _valid_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


class HTTPServerRequest:
    """One HTTP request: start line, headers, body and who sent it.

    Query and body arguments are parsed on first use, so a handler that never
    reads them pays nothing. ``remote_ip`` and ``protocol`` honour
    ``X-Real-IP``/``X-Forwarded-For``/``X-Forwarded-Proto`` only when the
    server was created with ``xheaders=True``: otherwise any client could
    claim any address.
    """

    __slots__ = (
        "_body_arguments",
        "_cookies",
        "_files",
        "_finish_time",
        "_host_name",
        "_query_arguments",
        "_start_time",
        "body",
        "connection",
        "headers",
        "host",
        "method",
        "path",
        "protocol",
        "query",
        "remote_ip",
        "server_connection",
        "uri",
        "version",
    )

    def __init__(
        self,
        method: str = "GET",
        uri: str = "/",
        version: str = "HTTP/1.0",
        headers: HTTPHeaders | None = None,
        body: bytes | None = None,
        host: str | None = None,
        files: dict[str, list[HTTPFile]] | None = None,
        connection: Any = None,
        start_line: Any = None,
        server_connection: Any = None,
    ) -> None:
        if start_line is not None:
            method, uri, version = start_line
        self.method = method
        self.uri = uri
        self.version = version
        self.headers = headers if headers is not None else HTTPHeaders()
        self.body = body or b""
        self.connection = connection
        self.server_connection = server_connection
        context = getattr(connection, "context", None)
        if context is None:
            self.remote_ip: str = "127.0.0.1"
            self.protocol: str = "http"
        else:
            self.remote_ip = context.remote_ip
            self.protocol = context.protocol
            if context.xheaders:
                self._apply_xheaders(context.trusted_downstream)
        if not host:
            if type(self.headers) is HTTPHeaders:
                # PERF: the canonical key, without HTTPHeaders.get's two calls.
                hosts = self.headers._as_list.get("Host")
                if hosts:
                    host = hosts[0] if len(hosts) == 1 else ",".join(hosts)
            else:
                host = self.headers.get("Host")
        self.host = host or "127.0.0.1"
        self._host_name: str | None = None
        path, _sep, query = uri.partition("?")
        self.path = path
        self.query = query
        self._files = files
        self._query_arguments: dict[str, list[bytes]] | None = None
        self._body_arguments: dict[str, list[bytes]] | None = None
        self._cookies: dict[str, Morsel[str]] | None = None
        self._start_time = time.time()
        self._finish_time: float | None = None

    def _apply_xheaders(self, trusted: frozenset[str]) -> None:
        ip = self.headers.get("X-Real-Ip")
        if ip is None:
            forwarded = self.headers.get("X-Forwarded-For")
            if forwarded:
                # The rightmost address not belonging to a trusted proxy is the
                # one our own proxy saw; anything left of it is client-supplied.
                for candidate in reversed([p.strip() for p in forwarded.split(",")]):
                    if candidate not in trusted:
                        ip = candidate
                        break
        if ip and _valid_ip(ip.strip()):
            self.remote_ip = ip.strip()
        proto = self.headers.get("X-Scheme") or self.headers.get("X-Forwarded-Proto")
        if proto:
            proto = proto.split(",")[-1].strip().lower()
            if proto in ("http", "https"):
                self.protocol = proto

    @property
    def host_name(self) -> str:
        """``host`` without the port, lower-cased (computed on first use)."""
        if self._host_name is None:
            self._host_name = _split_host(self.host)
        return self._host_name

    @host_name.setter
    def host_name(self, value: str) -> None:
        self._host_name = value

    # -- arguments ----------------------------------------------------------

    @property
    def query_arguments(self) -> dict[str, list[bytes]]:
        if self._query_arguments is None:
            self._query_arguments = parse_qs_bytes(self.query) if self.query else {}
        return self._query_arguments

    @query_arguments.setter
    def query_arguments(self, value: dict[str, list[bytes]]) -> None:
        self._query_arguments = value

    def _parse_body(self) -> None:
        """Parse form bodies; raises ``BodyError`` for a malformed one."""
        arguments: dict[str, list[bytes]] = {}
        files: dict[str, list[HTTPFile]] = self._files if self._files is not None else {}
        content_type = self.headers.get("Content-Type", "")
        if self.body and content_type.startswith(_FORM_TYPES):
            parse_body_arguments(content_type, self.body, arguments, files, self.headers)
        self._body_arguments = arguments
        self._files = files

    @property
    def body_arguments(self) -> dict[str, list[bytes]]:
        if self._body_arguments is None:
            self._parse_body()
        return self._body_arguments  # type: ignore[return-value]

    @body_arguments.setter
    def body_arguments(self, value: dict[str, list[bytes]]) -> None:
        self._body_arguments = value

    @property
    def files(self) -> dict[str, list[HTTPFile]]:
        if self._body_arguments is None:
            self._parse_body()
        return self._files  # type: ignore[return-value]

    @files.setter
    def files(self, value: dict[str, list[HTTPFile]]) -> None:
        self._files = value

    @property
    def arguments(self) -> dict[str, list[bytes]]:
        """Query and body arguments together (query values first)."""
        merged = {name: list(values) for name, values in self.query_arguments.items()}
        for name, values in self.body_arguments.items():
            merged.setdefault(name, []).extend(values)
        return merged

    @property
    def cookies(self) -> dict[str, Morsel[str]]:
        """Cookies sent by the client, as ``http.cookies.Morsel`` objects."""
        if self._cookies is None:
            self._cookies = {}
            for header in self.headers.get_list("Cookie"):
                for chunk in header.split(";"):
                    name, sep, value = chunk.partition("=")
                    name = name.strip()
                    if not sep or not name:
                        continue
                    value = value.strip()
                    morsel: Morsel[str] = Morsel()
                    try:
                        morsel.set(name, _unquote_cookie(value), value)
                    except CookieError:
                        continue  # a name the cookie module refuses is skipped, not fatal
                    self._cookies[name] = morsel
        return self._cookies

    # -- helpers ------------------------------------------------------------

    def full_url(self) -> str:
        return f"{self.protocol}://{self.host}{self.uri}"

    def request_time(self) -> float:
        """Seconds this request took so far, or in all once finished."""
        end = self._finish_time if self._finish_time is not None else time.time()
        return end - self._start_time

    def _mark_finished(self) -> None:
        self._finish_time = time.time()

    def get_ssl_certificate(self, binary_form: bool = False) -> Any:
        stream = getattr(self.connection, "stream", None)
        transport = getattr(stream, "_transport", None)
        sslobj = transport.get_extra_info("ssl_object") if transport is not None else None
        if sslobj is None:
            return None
        return sslobj.getpeercert(binary_form=binary_form)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(protocol={self.protocol!r}, host={self.host!r}, "
                f"method={self.method!r}, uri={self.uri!r}, version={self.version!r}, "
                f"remote_ip={self.remote_ip!r})")


def _split_host(host: str) -> str:
    if host.startswith("["):
        end = host.find("]")
        return host[1:end] if end != -1 else host
    return host.rsplit(":", 1)[0].lower() if ":" in host else host.lower()


def _unquote_cookie(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        inner = value[1:-1]
        return unquote(inner.replace("\\", "")) if "\\" in inner else inner
    return value
