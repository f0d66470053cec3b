"""``HTTPRequest`` and the resolution of its settings against client defaults.

An ``HTTPRequest`` keeps ``None`` for every option the caller did not set, so that
``AsyncHTTPClient(defaults=...)`` can fill them in at fetch time (Tornado's
``_RequestProxy``). ``resolve`` produces the effective, validated settings.
"""

from __future__ import annotations

import datetime
import email.utils
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from squall import version as squall_version
from squall.httpclient.headers import HeadersInput, HTTPHeaders, merge, to_headers

StreamingCallback = Callable[[bytes], object]
HeaderCallback = Callable[[str], object]

#: Values used when neither the request nor the client's ``defaults`` set an option.
REQUEST_DEFAULTS: Mapping[str, object] = {
    "connect_timeout": 20.0,
    "request_timeout": 20.0,
    "follow_redirects": True,
    "max_redirects": 5,
    "decompress_response": True,
    "proxy_password": "",
    "allow_nonstandard_methods": False,
    "validate_cert": True,
}

# RFC 9110 section 9.3: these methods define request content; GET, HEAD, DELETE and
# OPTIONS do not, and a body there is usually a bug (Tornado refuses it too).
_BODY_EXPECTED = frozenset({"POST", "PUT", "PATCH"})

# Options Tornado's curl client understands that have no equivalent here. Setting
# one is refused rather than silently ignored.
_UNSUPPORTED = ("network_interface", "prepare_curl_callback", "body_producer")


class HTTPRequest:
    """One HTTP request, with Tornado's constructor and attribute names.

    ``headers`` accepts a mapping, an ``HTTPHeaders`` or ``(name, value)`` pairs and is
    always an ``HTTPHeaders`` afterwards; ``body`` accepts ``str`` (sent as UTF-8) or
    ``bytes`` and is always ``bytes`` afterwards. Options left as ``None`` take the
    client's defaults. The body/method rule is checked when the request is fetched.
    """

    def __init__(
        self,
        url: str,
        method: str = "GET",
        headers: HeadersInput = None,
        body: str | bytes | None = None,
        auth_username: str | None = None,
        auth_password: str | None = None,
        auth_mode: str | None = None,
        connect_timeout: float | None = None,
        request_timeout: float | None = None,
        if_modified_since: datetime.datetime | float | None = None,
        follow_redirects: bool | None = None,
        max_redirects: int | None = None,
        user_agent: str | None = None,
        use_gzip: bool | None = None,
        network_interface: str | None = None,
        streaming_callback: StreamingCallback | None = None,
        header_callback: HeaderCallback | None = None,
        prepare_curl_callback: Callable[[Any], object] | None = None,
        proxy_host: str | None = None,
        proxy_port: int | None = None,
        proxy_username: str | None = None,
        proxy_password: str | None = None,
        proxy_auth_mode: str | None = None,
        allow_nonstandard_methods: bool | None = None,
        validate_cert: bool | None = None,
        ca_certs: str | None = None,
        allow_ipv6: bool | None = None,
        client_key: str | None = None,
        client_cert: str | None = None,
        body_producer: Callable[..., Any] | None = None,
        expect_100_continue: bool = False,
        decompress_response: bool | None = None,
        ssl_options: ssl.SSLContext | None = None,
    ) -> None:
        if not isinstance(url, str):
            raise TypeError(f"url must be str, not {type(url).__name__}")
        self.url = url
        self.method = method
        self.headers = headers  # the setter normalizes
        self.body = body  # the setter encodes
        self.auth_username = auth_username
        self.auth_password = auth_password
        self.auth_mode = auth_mode
        self.connect_timeout = connect_timeout
        self.request_timeout = request_timeout
        self.if_modified_since = if_modified_since
        self.follow_redirects = follow_redirects
        self.max_redirects = max_redirects
        self.user_agent = user_agent
        # use_gzip is Tornado's deprecated spelling of decompress_response.
        self.decompress_response = decompress_response if use_gzip is None else use_gzip
        self.network_interface = network_interface
        self.streaming_callback = streaming_callback
        self.header_callback = header_callback
        self.prepare_curl_callback = prepare_curl_callback
        self.proxy_host = proxy_host
        self.proxy_port = proxy_port
        self.proxy_username = proxy_username
        self.proxy_password = proxy_password
        self.proxy_auth_mode = proxy_auth_mode
        self.allow_nonstandard_methods = allow_nonstandard_methods
        self.validate_cert = validate_cert
        self.ca_certs = ca_certs
        self.allow_ipv6 = allow_ipv6
        self.client_key = client_key
        self.client_cert = client_cert
        self.body_producer = body_producer
        self.expect_100_continue = expect_100_continue
        self.ssl_options = ssl_options

    @property
    def headers(self) -> HTTPHeaders:
        return self._headers

    @headers.setter
    def headers(self, value: HeadersInput) -> None:
        self._headers = value if isinstance(value, HTTPHeaders) else to_headers(value)

    @property
    def body(self) -> bytes | None:
        return self._body

    @body.setter
    def body(self, value: str | bytes | None) -> None:
        if isinstance(value, str):
            value = value.encode("utf-8")
        elif value is not None and not isinstance(value, bytes | bytearray | memoryview):
            raise TypeError(f"body must be str or bytes, not {type(value).__name__}")
        self._body = bytes(value) if value is not None else None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.method} {self.url}>"


#: Option names a client's ``defaults`` may set (everything but url, method, body).
DEFAULTABLE = frozenset(
    name
    for name in HTTPRequest.__init__.__code__.co_varnames[
        1 : HTTPRequest.__init__.__code__.co_argcount
    ]
    if name not in {"url", "method", "body", "use_gzip"}
)


def check_defaults(defaults: Mapping[str, object] | None) -> dict[str, object]:
    """Merge ``defaults`` over ``REQUEST_DEFAULTS``, refusing misspelled names."""
    merged = dict(REQUEST_DEFAULTS)
    for name, value in (defaults or {}).items():
        if name not in DEFAULTABLE:
            raise ValueError(
                f"unknown HTTPRequest option {name!r} in defaults; "
                f"expected one of {sorted(DEFAULTABLE)}"
            )
        merged[name] = value
    return merged


@dataclass(frozen=True, slots=True)
class ResolvedRequest:
    """The effective settings of one fetch: request values over client defaults."""

    request: HTTPRequest
    url: str
    method: str
    headers: HTTPHeaders
    body: bytes | None
    connect_timeout: float | None
    request_timeout: float | None
    follow_redirects: bool
    max_redirects: int
    decompress_response: bool
    streaming_callback: StreamingCallback | None
    header_callback: HeaderCallback | None
    auth: tuple[str, str] | None
    proxy_url: str | None
    proxy_auth: tuple[str, str] | None
    validate_cert: bool
    ca_certs: str | None
    client_cert: str | None
    client_key: str | None
    ssl_options: ssl.SSLContext | None
    expect_100_continue: bool


def resolve(request: HTTPRequest, defaults: Mapping[str, object]) -> ResolvedRequest:
    """Apply ``defaults`` to ``request`` and validate the result.

    Raises ``ValueError`` naming the offending option, before any I/O happens.
    """

    def option(name: str) -> Any:
        value = getattr(request, name)
        return defaults.get(name) if value is None else value

    for name in _UNSUPPORTED:
        if option(name) is not None:
            raise ValueError(f"HTTPRequest option {name!r} is not supported by squall's client")

    url = request.url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError(
            f"unsupported URL scheme {parts.scheme!r} in {url!r}; expected http or https"
        )
    if not parts.hostname:
        raise ValueError(f"URL {url!r} has no host")

    method = request.method
    if not isinstance(method, str) or not method:
        raise ValueError(f"method must be a non-empty str, not {method!r}")
    body = request.body
    if not option("allow_nonstandard_methods"):
        expected = method.upper() in _BODY_EXPECTED
        if expected and body is None:
            raise ValueError(
                f"Body must not be None for method {method} "
                "(unless allow_nonstandard_methods is true)"
            )
        if not expected and body is not None:
            raise ValueError(
                f"Body must be None for method {method} (unless allow_nonstandard_methods is true)"
            )

    # Client default headers first; the request's own values win name by name.
    headers = merge(to_headers(defaults.get("headers")), request.headers)  # type: ignore[arg-type]
    user_agent = option("user_agent")
    if user_agent:
        headers["User-Agent"] = user_agent
    elif "User-Agent" not in headers:
        headers["User-Agent"] = f"squall/{squall_version}"
    if_modified_since = option("if_modified_since")
    if if_modified_since is not None:
        headers["If-Modified-Since"] = _http_date(if_modified_since)
    if method.upper() == "POST" and "Content-Type" not in headers:
        # Tornado's default, which squall's (and Tornado's) body_arguments parsing expects.
        headers["Content-Type"] = "application/x-www-form-urlencoded"

    auth = _credentials(
        "auth", option("auth_username"), option("auth_password"), option("auth_mode")
    )
    proxy_auth = _credentials(
        "proxy_auth",
        option("proxy_username"),
        option("proxy_password"),
        option("proxy_auth_mode"),
    )
    proxy_host, proxy_port = option("proxy_host"), option("proxy_port")
    proxy_url = None
    if proxy_host:
        if not proxy_port:
            raise ValueError(f"proxy_host {proxy_host!r} was given without a proxy_port")
        proxy_url = f"http://{proxy_host}:{int(proxy_port)}"

    connect_timeout = _timeout("connect_timeout", option("connect_timeout"))
    request_timeout = _timeout("request_timeout", option("request_timeout"))
    max_redirects = option("max_redirects")
    if not isinstance(max_redirects, int) or max_redirects < 0:
        raise ValueError(f"max_redirects must be an int >= 0, not {max_redirects!r}")
    client_cert, client_key = option("client_cert"), option("client_key")
    if client_key is not None and client_cert is None:
        raise ValueError("client_key was given without client_cert")

    return ResolvedRequest(
        request=request,
        url=url,
        method=method,
        headers=headers,
        body=body,
        connect_timeout=connect_timeout,
        request_timeout=request_timeout,
        follow_redirects=bool(option("follow_redirects")),
        max_redirects=max_redirects,
        decompress_response=bool(option("decompress_response")),
        streaming_callback=option("streaming_callback"),
        header_callback=option("header_callback"),
        auth=auth,
        proxy_url=proxy_url,
        proxy_auth=proxy_auth,
        validate_cert=bool(option("validate_cert")),
        ca_certs=option("ca_certs"),
        client_cert=client_cert,
        client_key=client_key,
        ssl_options=option("ssl_options"),
        expect_100_continue=bool(option("expect_100_continue")),
    )


def _credentials(
    what: str, username: str | None, password: str | None, mode: str | None
) -> tuple[str, str] | None:
    if username is None:
        return None
    if mode not in (None, "basic"):
        raise ValueError(f"unsupported {what} mode {mode!r}; only 'basic' is supported")
    return username, password or ""


def _timeout(name: str, value: object) -> float | None:
    """``None`` or ``0`` mean "no limit", as in Tornado."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} must be a number of seconds >= 0, not {value!r}")
    return float(value) or None


def _http_date(value: datetime.datetime | float) -> str:
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.UTC)
        return email.utils.format_datetime(value.astimezone(datetime.UTC), usegmt=True)
    return email.utils.formatdate(float(value), usegmt=True)
