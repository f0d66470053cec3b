"""``RequestHandler``: subclass it and define ``get``, ``post``, ... (sync or async)."""

from __future__ import annotations

import asyncio
import datetime
import email.utils
import hashlib
import http.cookies
import logging
import numbers
import time
import traceback
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urljoin

from squall.escape import json_encode, to_unicode, utf8, xhtml_escape
from squall.http.dates import http_date
from squall.http.delegate import ResponseStartLine
from squall.http.forms import BodyError
from squall.http.headers import _NORMALIZED, HTTPHeaders, normalize_header_name
from squall.http.status import REASONS
from squall.web.cookies import CookieMixin
from squall.web.errors import Finish, HTTPError, MissingArgumentError
from squall.web.templating import TemplateMixin
from squall.web.xsrf import XSRFMixin

if TYPE_CHECKING:
    from squall.http.request import HTTPServerRequest
    from squall.web.application import Application

app_log = logging.getLogger("squall.application")
gen_log = logging.getLogger("squall.general")

_ARG_DEFAULT: Any = object()
_T = TypeVar("_T")
_SAFE_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))
_SERVER_HEADER = "SquallServer/0.1"
# PERF: the verb method's attribute name without a str.lower() per request.
_METHOD_ATTRS = {m: m.lower() for m in ("GET", "HEAD", "POST", "DELETE", "PATCH", "PUT", "OPTIONS")}
# PERF: the start line of most responses, built once (namedtuples are immutable).
_OK_LINE = ResponseStartLine("HTTP/1.1", 200, "OK")
_new_headers = HTTPHeaders.__new__


def _strip_control(value: str) -> str:
    return "".join(ch for ch in value if ch >= " " or ch in "\t\n\r")


class RequestHandler(CookieMixin, XSRFMixin, TemplateMixin):
    """Base class for request handlers; one instance serves one request.

    Override the HTTP verb methods. Captured groups of the URL rule arrive as
    arguments, ``initialize(**kwargs)`` receives the rule's kwargs. A method
    may be ``async def``; the response finishes when it returns unless it
    called :meth:`finish` itself.
    """

    SUPPORTED_METHODS: tuple[str, ...] = ("GET", "HEAD", "POST", "DELETE", "PATCH", "PUT", "OPTIONS")

    _stream_request_body = False
    _allowed_methods_cache: dict[type, str] = {}

    def __init__(self, application: Application, request: HTTPServerRequest, **kwargs: Any) -> None:
        self.application = application
        self.request = request
        self.path_args: list[Any] = []
        self.path_kwargs: dict[str, Any] = {}
        self._headers_written = False
        self._finished = False
        self._auto_finish = True
        self._prepared_future: asyncio.Future[None] | None = None
        self._new_cookie: http.cookies.SimpleCookie | None = None
        self._xsrf_token: bytes | None = None
        self._raw_xsrf_token: tuple[int | None, bytes, float] | None = None
        self._task: asyncio.Task[None] | None = None
        self.ui: dict[str, Any] = {}
        # clear() sets the headers, the output buffer and the status, as in Tornado.
        self.clear()
        if kwargs:
            self.initialize(**kwargs)
        else:
            self.initialize()  # PERF: a plain call, not the **{} call path

    def initialize(self, **kwargs: Any) -> None:
        """Hook for the rule's kwargs: ``(r"/", H, dict(db=db))`` -> ``initialize(db=db)``."""
        if kwargs:
            raise TypeError(
                f"{type(self).__name__}.initialize() got keyword arguments {sorted(kwargs)} "
                "but does not define initialize() to receive them"
            )

    @property
    def settings(self) -> dict[str, Any]:
        settings: dict[str, Any] = self.application.settings
        return settings

    def _unimplemented_method(self, *args: Any, **kwargs: Any) -> None:
        raise HTTPError(405)

    head: Callable[..., Awaitable[None] | None] = _unimplemented_method
    get: Callable[..., Awaitable[None] | None] = _unimplemented_method
    post: Callable[..., Awaitable[None] | None] = _unimplemented_method
    delete: Callable[..., Awaitable[None] | None] = _unimplemented_method
    patch: Callable[..., Awaitable[None] | None] = _unimplemented_method
    put: Callable[..., Awaitable[None] | None] = _unimplemented_method
    options: Callable[..., Awaitable[None] | None] = _unimplemented_method

    def prepare(self) -> Awaitable[None] | None:
        """Called before the verb method; may be async; may finish the request."""
        return None

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        """With ``@stream_request_body``: called with each piece of the body."""
        raise NotImplementedError(f"{type(self).__name__} must define data_received()")

    def on_finish(self) -> None:
        """Called after the response is sent (for cleanup and logging)."""

    def on_connection_close(self) -> None:
        """Called when the client disconnects before the response finished."""

    # -- status and headers -------------------------------------------------

    def clear(self) -> None:
        """Reset headers and body to the defaults (used before error pages)."""
        # PERF: canonical names are known; skip normalisation for the defaults
        # (and HTTPHeaders.from_normalized's call).
        headers = _new_headers(HTTPHeaders)
        headers._as_list = {
            "Server": [_SERVER_HEADER],
            "Content-Type": ["text/html; charset=UTF-8"],
            "Date": [http_date()],
        }
        self._headers = headers
        self.set_default_headers()
        self._write_buffer: list[bytes] = []
        self._status_code = 200
        self._reason = "OK"

    def set_default_headers(self) -> None:
        """Override to set headers on every response, error pages included."""

    def set_status(self, status_code: int, reason: str | None = None) -> None:
        if not isinstance(status_code, int) or not 100 <= status_code <= 599:
            raise ValueError(f"status code must be an int in 100..599, got {status_code!r}")
        if reason is None:
            reason = REASONS.get(status_code, "Unknown")
        elif "\r" in reason or "\n" in reason:
            raise ValueError(f"reason phrase {reason!r} contains CR or LF")
        self._status_code = status_code
        self._reason = reason

    def get_status(self) -> int:
        return self._status_code

    def set_header(self, name: str, value: Any) -> None:
        if type(value) is str and "\r" not in value and "\n" not in value and "\x00" not in value:
            # PERF: the usual str value, checked as _convert_header_value does,
            # stored under its canonical name without two more calls.
            self._headers._as_list[_NORMALIZED.get(name) or normalize_header_name(name)] = [value]
            return
        self._headers[name] = self._convert_header_value(value)

    def add_header(self, name: str, value: Any) -> None:
        self._headers.add(name, self._convert_header_value(value))

    def clear_header(self, name: str) -> None:
        if name in self._headers:
            del self._headers[name]

    @staticmethod
    def _convert_header_value(value: Any) -> str:
        if isinstance(value, str):
            result = value
        elif isinstance(value, bytes):
            result = value.decode("latin-1")
        elif isinstance(value, numbers.Integral):
            return str(value)
        elif isinstance(value, datetime.datetime):
            return email.utils.format_datetime(
                value if value.tzinfo else value.replace(tzinfo=datetime.UTC), usegmt=True
            )
        else:
            raise TypeError(f"unsupported header value type {type(value).__name__}: {value!r}")
        # RFC 9110 §5.5: CR, LF and NUL are never allowed in a field value;
        # letting them through would let input split the response.
        if "\r" in result or "\n" in result or "\x00" in result:
            raise ValueError(f"unsafe header value {result!r}: contains CR, LF or NUL")
        return result

    # -- arguments ----------------------------------------------------------

    def get_argument(self, name: str, default: Any = _ARG_DEFAULT, strip: bool = True) -> Any:
        """The last value of query-or-body argument ``name``; 400 when required and absent."""
        return self._get_argument(name, default, self.request.arguments, strip)

    def get_arguments(self, name: str, strip: bool = True) -> list[str]:
        return self._get_arguments(name, self.request.arguments, strip)

    def get_body_argument(self, name: str, default: Any = _ARG_DEFAULT, strip: bool = True) -> Any:
        return self._get_argument(name, default, self.request.body_arguments, strip)

    def get_body_arguments(self, name: str, strip: bool = True) -> list[str]:
        return self._get_arguments(name, self.request.body_arguments, strip)

    def get_query_argument(self, name: str, default: Any = _ARG_DEFAULT, strip: bool = True) -> Any:
        return self._get_argument(name, default, self.request.query_arguments, strip)

    def get_query_arguments(self, name: str, strip: bool = True) -> list[str]:
        return self._get_arguments(name, self.request.query_arguments, strip)

    def _get_argument(
        self, name: str, default: Any, source: dict[str, list[bytes]], strip: bool
    ) -> Any:
        values = self._get_arguments(name, source, strip)
        if not values:
            if default is _ARG_DEFAULT:
                raise MissingArgumentError(name)
            return default
        return values[-1]

    def _get_arguments(self, name: str, source: dict[str, list[bytes]], strip: bool) -> list[str]:
        values = []
        for raw in source.get(name, []):
            value = _strip_control(self.decode_argument(raw, name=name))
            if strip:
                value = value.strip()
            values.append(value)
        return values

    def decode_argument(self, value: bytes, name: str | None = None) -> str:
        """Decode an argument from the request; 400 for invalid UTF-8."""
        try:
            return to_unicode(value)
        except UnicodeDecodeError:
            raise HTTPError(400, "Invalid unicode in %s: %r", name or "url", value[:40]) from None

    # -- output -------------------------------------------------------------

    def write(self, chunk: Any) -> None:
        """Buffer output; a dict is sent as JSON with ``Content-Type: application/json``.

        Lists are refused (as in Tornado) because top-level JSON arrays were a
        cross-site leak in old browsers; wrap them in a dict.
        """
        if self._finished:
            raise RuntimeError("Cannot write() after finish()")
        if type(chunk) is bytes:
            self._write_buffer.append(chunk)
            return
        if type(chunk) is str:
            self._write_buffer.append(chunk.encode("utf-8"))
            return
        if isinstance(chunk, dict):
            chunk = json_encode(chunk)
            self.set_header("Content-Type", "application/json; charset=UTF-8")
        elif not isinstance(chunk, (bytes, str)):
            message = f"write() only accepts bytes, str and dict objects, got {type(chunk).__name__}"
            if isinstance(chunk, list):
                message += ". Lists not accepted for security reasons; see RequestHandler.write()"
            raise TypeError(message)
        self._write_buffer.append(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)

    def redirect(self, url: str, permanent: bool = False, status: int | None = None) -> None:
        """Answer with a redirect to ``url`` (302, or 301 when permanent)."""
        if self._headers_written:
            raise RuntimeError("Cannot redirect after headers have been written")
        if status is None:
            status = 301 if permanent else 302
        elif not 300 <= status <= 399:
            raise ValueError(f"redirect status must be 3xx, got {status}")
        self.set_status(status)
        self.set_header("Location", urljoin(self.request.uri, utf8(url).decode("utf-8")))
        self.finish()

    def _response_headers(self) -> HTTPHeaders:
        headers = self._headers
        if self._new_cookie is not None:
            for morsel in self._new_cookie.values():
                headers.add("Set-Cookie", morsel.OutputString(None))
        return headers

    def flush(self, include_footers: bool = False) -> Awaitable[None]:
        """Send what is buffered; await the result to respect back-pressure."""
        connection = self.request.connection
        chunk = b"".join(self._write_buffer)
        self._write_buffer = []
        if not self._headers_written:
            self._headers_written = True
            if self.request.method == "HEAD":
                chunk = b""
            start_line = ResponseStartLine("HTTP/1.1", self._status_code, self._reason)
            return connection.write_headers(start_line, self._response_headers(), chunk)  # type: ignore[no-any-return]
        if self.request.method == "HEAD":
            return connection.stream.drain()  # type: ignore[no-any-return]
        return connection.write(chunk)  # type: ignore[no-any-return]

    def finish(self, chunk: str | bytes | dict[str, Any] | None = None) -> Awaitable[None]:
        """Finish the response, optionally writing ``chunk`` first."""
        if self._finished:
            raise RuntimeError("finish() called twice")
        if chunk is not None:
            self.write(chunk)
        connection = self.request.connection
        result: Awaitable[None]
        if not self._headers_written:
            buffer = self._write_buffer
            # PERF: the body joined once, for the ETag and the response alike.
            body = buffer[0] if len(buffer) == 1 else b"".join(buffer)
            fields = self._headers._as_list
            if (
                self._status_code == 200
                and self.request.method in ("GET", "HEAD")
                and "Etag" not in fields
            ):
                cls = type(self)
                if (
                    cls.compute_etag is RequestHandler.compute_etag
                    and cls.set_etag_header is RequestHandler.set_etag_header
                    and cls.check_etag_header is RequestHandler.check_etag_header
                ):
                    # PERF: the default ETag inline: one hash, and
                    # If-None-Match looked at only if sent.
                    fields["Etag"] = ['"' + hashlib.sha1(body).hexdigest() + '"']
                    if "If-None-Match" in self.request.headers._as_list and self.check_etag_header():
                        body = b""
                        self.set_status(304)
                else:
                    self.set_etag_header()
                    if self.check_etag_header():
                        body = b""
                        self.set_status(304)
            status = self._status_code
            if status in (204, 304) or status < 200:
                if body:
                    raise RuntimeError(f"Cannot send a body with a {self._status_code} response")
                self._clear_representation_headers()
            # The buffer's list is emptied, not replaced: one allocation less.
            buffer.clear()
            self._headers_written = True
            status = self._status_code
            reason = self._reason
            start_line = (
                _OK_LINE if status == 200 and reason == "OK"
                else ResponseStartLine("HTTP/1.1", status, reason)
            )
            transforms = self.application.transforms
            headers = self._headers if self._new_cookie is None else self._response_headers()
            if transforms:
                for transform in transforms:
                    body = transform(self.request, self._status_code, headers, body)
            self._finished = True
            connection.write_response(start_line, headers, body)
            result = connection.stream.drain()
        else:
            result = self.flush()
            self._finished = True
            connection.finish()
        self._on_finished()
        return result

    def _clear_representation_headers(self) -> None:
        # RFC 9110 §15.4.5: a 304 carries no content and no content headers.
        for name in ("Content-Encoding", "Content-Language", "Content-Type", "Content-Length"):
            self.clear_header(name)

    def _on_finished(self) -> None:
        # PERF: HTTPServerRequest._mark_finished inlined.
        self.request._finish_time = time.time()
        try:
            self.on_finish()
        except Exception:
            app_log.exception("Exception in on_finish of %s", self._request_summary())
        self.application.log_request(self)
        self.ui = {}

    def detach(self) -> tuple[asyncio.Transport, bytes]:
        """Take over the connection's transport (after writing an upgrade response)."""
        self._finished = True
        return self.request.connection.detach()  # type: ignore[no-any-return]

    # -- errors -------------------------------------------------------------

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        """Answer with an error page made by :meth:`write_error`."""
        if self._headers_written:
            gen_log.error("Cannot send error response after headers written")
            if not self._finished:
                try:
                    self.finish()
                except Exception:
                    gen_log.error("Failed to flush partial response", exc_info=True)
                    self.request.connection.stream.close()
            return
        allow = self._headers.get("Allow")
        self.clear()
        if status_code == 405 and allow:
            # RFC 9110 §15.5.6: a 405 response MUST list the allowed methods.
            self.set_header("Allow", allow)
        reason = kwargs.get("reason")
        exc_info = kwargs.get("exc_info")
        if exc_info is not None and isinstance(exc_info[1], HTTPError) and exc_info[1].reason:
            reason = exc_info[1].reason
        self.set_status(status_code, reason=reason)
        try:
            self.write_error(status_code, **kwargs)
        except Exception:
            app_log.error("Uncaught exception in write_error", exc_info=True)
        if not self._finished:
            self.finish()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Write the error page; with ``serve_traceback`` (debug) the traceback too."""
        exc_info = kwargs.get("exc_info")
        message = self._reason
        if self.settings.get("serve_traceback") and exc_info is not None:
            self.set_header("Content-Type", "text/html; charset=UTF-8")
            lines = "".join(traceback.format_exception(*exc_info))
            self.finish(
                f"<html><head><title>{status_code}: {xhtml_escape(message)}</title></head>"
                f"<body><h1>{status_code}: {xhtml_escape(message)}</h1>"
                f"<pre>{xhtml_escape(lines)}</pre></body></html>"
            )
            return
        self.finish(
            f"<html><title>{status_code}: {xhtml_escape(message)}</title>"
            f"<body>{status_code}: {xhtml_escape(message)}</body></html>"
        )

    def log_exception(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Log an exception from a handler: HTTPErrors as warnings, others with traceback."""
        if isinstance(value, HTTPError):
            if value.log_message:
                gen_log.warning("%d %s: %s", value.status_code, self._request_summary(),
                                value.log_message % value.args)
        else:
            app_log.error("Uncaught exception %s\n%r", self._request_summary(), self.request,
                          exc_info=(typ, value, tb))  # type: ignore[arg-type]

    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, Finish):
            if not self._finished:
                self.finish(*e.args)
            return
        try:
            self.log_exception(type(e), e, e.__traceback__)
        except Exception:
            app_log.error("Error in exception logger", exc_info=True)
        if self._finished:
            return
        if isinstance(e, HTTPError):
            self.send_error(e.status_code, exc_info=(type(e), e, e.__traceback__))
        else:
            self.send_error(500, exc_info=(type(e), e, e.__traceback__))

    def _request_summary(self) -> str:
        return f"{self.request.method} {self.request.uri} ({self.request.remote_ip})"

    # -- users, logins, templates -------------------------------------------

    @property
    def current_user(self) -> Any:
        """The signed-in user (from :meth:`get_current_user`), computed once per request."""
        if not hasattr(self, "_current_user"):
            self._current_user = self.get_current_user()
        return self._current_user

    @current_user.setter
    def current_user(self, value: Any) -> None:
        self._current_user = value

    def get_current_user(self) -> Any:
        """Override to identify the user, e.g. from a signed cookie."""
        return None

    def get_login_url(self) -> str:
        self.require_setting("login_url", "@squall.web.authenticated")
        return str(self.application.settings["login_url"])

    def require_setting(self, name: str, feature: str = "this feature") -> None:
        if not self.application.settings.get(name):
            raise RuntimeError(
                f"You must define the '{name}' setting in your application to use {feature}"
            )

    def reverse_url(self, name: str, *args: Any) -> str:
        return str(self.application.reverse_url(name, *args))

    # -- ETags --------------------------------------------------------------

    def compute_etag(self) -> str | None:
        """A hash of the body; return None to send no ETag."""
        hasher = hashlib.sha1()
        for part in self._write_buffer:
            hasher.update(part)
        return f'"{hasher.hexdigest()}"'

    def set_etag_header(self) -> None:
        etag = self.compute_etag()
        if etag is not None:
            self.set_header("Etag", etag)

    def check_etag_header(self) -> bool:
        """Whether the client's ``If-None-Match`` names our ETag (so 304 applies)."""
        computed = utf8(self._headers.get("Etag", ""))
        if not computed:
            return False
        header = self.request.headers.get("If-None-Match", "")
        if not header:
            return False
        tags = [t.strip() for t in header.split(",")]
        if "*" in tags:
            return True

        def weak(tag: bytes) -> bytes:
            return tag[2:] if tag.startswith(b"W/") else tag

        return any(weak(utf8(tag)) == weak(computed) for tag in tags)

    # -- execution ----------------------------------------------------------

    @classmethod
    def _allowed_methods(cls) -> str:
        cached = RequestHandler._allowed_methods_cache.get(cls)
        if cached is None:
            cached = ", ".join(
                m for m in cls.SUPPORTED_METHODS
                if getattr(cls, m.lower(), None) is not RequestHandler._unimplemented_method
            )
            RequestHandler._allowed_methods_cache[cls] = cached
        return cached

    def _start(self, path_args: list[bytes], path_kwargs: dict[str, bytes]) -> Awaitable[None] | None:
        """Check the method, decode arguments and run ``prepare``.

        Returns an awaitable when ``prepare`` is async, else None.
        """
        try:
            method = self.request.method
            if method not in self.SUPPORTED_METHODS:
                self.set_header("Allow", self._allowed_methods())
                raise HTTPError(405)
            # PERF: no comprehension frame for the usual empty ones.
            if path_args:
                self.path_args = self._decode_path_args(path_args)
            if path_kwargs:
                self.path_kwargs = {
                    k: self.decode_argument(v, name=k) for k, v in path_kwargs.items()
                }
            if not self._stream_request_body and self.request.body:
                self._check_body()
            if method not in _SAFE_METHODS and self.application.settings.get("xsrf_cookies"):
                self.check_xsrf_cookie()
            result = self.prepare()
        except Exception as e:
            self._handle_request_exception(e)
            return None
        if result is not None:
            return self._spawn(self._await_prepare(result))
        return None

    def _decode_path_args(self, path_args: list[bytes]) -> list[str]:
        if type(self).decode_argument is RequestHandler.decode_argument:
            try:
                # PERF: decode_argument's work (UTF-8) without two frames per argument.
                return list(map(bytes.decode, path_args))
            except (UnicodeDecodeError, TypeError):
                pass  # decode_argument raises the right error (or takes str)
        return [self.decode_argument(arg) for arg in path_args]

    def _check_body(self) -> None:
        try:
            self.request._parse_body()
        except BodyError as err:
            raise HTTPError(400, "Bad request body: %s", str(err)) from None

    async def _await_prepare(self, result: Awaitable[None]) -> None:
        try:
            await result
        except Exception as e:
            self._handle_request_exception(e)

    def _run_method(self) -> None:
        """Call the verb method; finish automatically unless it is async and pending."""
        if self._finished:
            return
        try:
            verb = self.request.method
            method = getattr(self, _METHOD_ATTRS.get(verb) or verb.lower())
            if getattr(method, "__func__", None) is RequestHandler._unimplemented_method:
                self.set_header("Allow", self._allowed_methods())
                raise HTTPError(405)
            result = method(*self.path_args, **self.path_kwargs)
            if result is not None:
                self._spawn(self._await_method(result))
                return
            if self._auto_finish and not self._finished:
                self.finish()
        except Exception as e:
            self._handle_request_exception(e)

    async def _await_method(self, result: Awaitable[None]) -> None:
        try:
            await result
            if self._auto_finish and not self._finished:
                self.finish()
        except Exception as e:
            self._handle_request_exception(e)

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        # The task is referenced from the handler, which the connection
        # references while the request runs: it cannot be collected mid-flight.
        self._task = asyncio.get_running_loop().create_task(coro)
        return self._task

    def _execute(self, path_args: list[bytes], path_kwargs: dict[str, bytes]) -> None:
        """Run the whole request: prepare, then the verb method."""
        pending = self._start(path_args, path_kwargs)
        if pending is None:
            self._run_method()
        else:
            task: asyncio.Task[None] = pending  # type: ignore[assignment]
            task.add_done_callback(lambda _: self._run_method())

