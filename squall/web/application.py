"""``Application``: routes requests to handlers and holds the settings."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from squall.http.delegate import HTTPConnection, RequestStartLine
from squall.http.headers import HTTPHeaders
from squall.http.request import HTTPServerRequest
from squall.routing import RouteMatch, Router, RuleSpec, URLSpec
from squall.web.compression import decompress_request_body, transforms_from_settings
from squall.web.handler import RequestHandler
from squall.web.handlers import ErrorHandler
from squall.web.static import static_rules

if TYPE_CHECKING:
    from squall.httpserver import HTTPServer

access_log = logging.getLogger("squall.access")

OutputTransform = Callable[[HTTPServerRequest, int, HTTPHeaders, bytes], bytes]


class Application:
    """A collection of request handlers making up a web application.

    ``Application([(r"/", MainHandler)], cookie_secret="...", debug=True)``.
    Settings are Tornado's: ``debug``, ``cookie_secret``, ``key_version``,
    ``xsrf_cookies``, ``login_url``, ``default_handler_class``,
    ``default_handler_args``, ``template_path``, ``static_path``,
    ``compress_response``, ``serve_traceback``, ``log_function`` ...
    """

    def __init__(
        self,
        handlers: Sequence[RuleSpec] | None = None,
        default_host: str | None = None,
        transforms: Sequence[OutputTransform] | None = None,
        **settings: Any,
    ) -> None:
        self.settings: dict[str, Any] = settings
        if settings.get("debug"):
            settings.setdefault("autoreload", True)
            settings.setdefault("compiled_template_cache", False)
            settings.setdefault("static_hash_cache", False)
            settings.setdefault("serve_traceback", True)
        self.default_host = default_host
        self.transforms: list[OutputTransform] = list(transforms or [])
        self.transforms.extend(transforms_from_settings(settings))
        self.ui_modules: dict[str, Any] = {}
        self.ui_methods: dict[str, Any] = {}
        self.template_loaders: dict[str, Any] = {}
        self._routers: list[Router] = []
        self._default_router = Router(".*$")
        self._named: dict[str, URLSpec] = {}
        rules: list[RuleSpec] = [*static_rules(settings), *(handlers or [])]
        self._add_router(self._default_router, rules)

    def _add_router(self, router: Router, rules: Sequence[RuleSpec]) -> None:
        for rule in rules:
            spec = router.add_rule(rule)
            if spec.name:
                if spec.name in self._named:
                    raise ValueError(f"two URL rules are named {spec.name!r}")
                self._named[spec.name] = spec
        if router not in self._routers:
            self._routers.append(router)

    def add_handlers(self, host_pattern: str, host_handlers: Sequence[RuleSpec]) -> None:
        """Add rules for hosts matching ``host_pattern`` (checked before ``.*``)."""
        router = Router(host_pattern)
        self._add_router(router, host_handlers)
        # Host-specific routers go before the catch-all default router.
        self._routers.remove(router)
        self._routers.insert(len(self._routers) - 1, router)

    def reverse_url(self, name: str, *args: Any) -> str:
        """The path of the rule named ``name`` with ``args`` filled in."""
        spec = self._named.get(name)
        if spec is None:
            raise KeyError(f"no URL rule named {name!r}")
        return spec.reverse(*args)

    def find_handler(self, request: HTTPServerRequest) -> RouteMatch | None:
        if len(self._routers) == 1:
            return self._default_router.find(request.path)
        host = request.host_name
        for router in self._routers:
            if router is self._default_router or router.host_pattern.match(host):
                match = router.find(request.path)
                if match is not None:
                    return match
        return None

    def listen(self, port: int, address: str | None = None, **kwargs: Any) -> HTTPServer:
        """Start an :class:`~squall.httpserver.HTTPServer` for this app on ``port``."""
        from squall.httpserver import HTTPServer

        listen_kwargs = {k: kwargs.pop(k) for k in ("family", "backlog", "reuse_port") if k in kwargs}
        server = HTTPServer(self, **kwargs)
        server.listen(port, address, **listen_kwargs)
        if self.settings.get("autoreload"):
            from squall import autoreload

            autoreload.start()
        return server

    # -- HTTPServerConnectionDelegate ---------------------------------------

    def start_request(self, server_conn: object, request_conn: HTTPConnection) -> _RequestDispatcher:
        return _RequestDispatcher(self, request_conn, server_conn)

    def on_close(self, server_conn: object) -> None:
        pass

    def log_request(self, handler: RequestHandler) -> None:
        """Log the finished request to ``squall.access`` (or ``log_function``)."""
        log_function = self.settings.get("log_function")
        if log_function is not None:
            log_function(handler)
            return
        status = handler.get_status()
        if status < 400:
            level = logging.INFO
        elif status < 500:
            level = logging.WARNING
        else:
            level = logging.ERROR
        if access_log.isEnabledFor(level):
            access_log.log(level, "%d %s %.2fms", status, handler._request_summary(),
                           1000.0 * handler.request.request_time())


class _RequestDispatcher:
    """The per-request delegate: buffers the body, then runs the handler."""

    __slots__ = ("application", "chunks", "connection", "handler", "match", "request",
                 "server_conn", "stream")

    def __init__(self, application: Application, connection: HTTPConnection,
                 server_conn: object) -> None:
        self.application = application
        self.connection = connection
        self.server_conn = server_conn
        self.request: HTTPServerRequest | None = None
        self.handler: RequestHandler | None = None
        self.match: RouteMatch | None = None
        self.chunks: list[bytes] = []
        self.stream = False

    def headers_received(
        self, start_line: RequestStartLine, headers: HTTPHeaders
    ) -> Awaitable[None] | None:
        method, uri, version = start_line
        # PERF: positional arguments bind ~0.2 us faster than four keywords.
        request = HTTPServerRequest(
            method, uri, version, headers, None, None, None, self.connection, None,
            self.server_conn,
        )
        self.request = request
        match = self.application.find_handler(request)
        self.match = match
        if match is not None and getattr(match.spec.handler_class, "_stream_request_body", False):
            self.stream = True
            handler = self._make_handler()
            return handler._start(match.path_args, match.path_kwargs)
        return None

    def _make_handler(self) -> RequestHandler:
        application = self.application
        match = self.match
        request = self.request
        if request is None:
            raise RuntimeError("handler requested before headers_received")
        if match is None:
            handler_class = application.settings.get("default_handler_class", ErrorHandler)
            kwargs = application.settings.get("default_handler_args", {})
            if handler_class is ErrorHandler and not kwargs:
                kwargs = {"status_code": 404}
        else:
            handler_class = match.spec.handler_class
            kwargs = match.spec.kwargs
        # PERF: a plain call when there are no kwargs, not the **{} call path.
        handler: RequestHandler = (
            handler_class(application, request, **kwargs) if kwargs
            else handler_class(application, request)
        )
        self.handler = handler
        return handler

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        if self.stream and self.handler is not None:
            if self.handler._finished:
                return None
            return self.handler.data_received(chunk)
        self.chunks.append(chunk)
        return None

    def finish(self) -> None:
        request = self.request
        if request is None:
            raise RuntimeError("finish() before headers_received()")
        if self.stream and self.handler is not None:
            self.handler._run_method()
            return
        if self.chunks:
            request.body = self.chunks[0] if len(self.chunks) == 1 else b"".join(self.chunks)
            self.chunks = []
        error_status = (
            decompress_request_body(self.application.settings, request) if request.body else None
        )
        if error_status is not None:
            ErrorHandler(self.application, request, status_code=error_status)._execute([], {})
            return
        try:
            handler = self._make_handler()
        except Exception:
            logging.getLogger("squall.application").exception(
                "Error creating handler for %s %s", request.method, request.uri)
            handler = ErrorHandler(self.application, request, status_code=500)
        match = self.match
        if match is None:
            handler._execute([], {})
        else:
            handler._execute(match.path_args, match.path_kwargs)

    def on_connection_close(self) -> None:
        if self.handler is not None and not self.handler._finished:
            self.handler.on_connection_close()
        self.chunks = []
