"""``AsyncHTTPClient``: Tornado's non-blocking client API on an aiohttp ``ClientSession``.

aiohttp does the wire work (pooling, TLS, proxies, redirects, decompression); this
module translates Tornado's options into aiohttp's, and aiohttp's outcomes and
errors back into Tornado's (``HTTPResponse``, ``HTTPClientError`` with code 599 for
timeouts and dropped connections, the underlying ``OSError`` for connect failures).
"""

from __future__ import annotations

import asyncio
import io
import ssl
import time
import weakref
from collections.abc import Mapping
from typing import Any, ClassVar, Self

import aiohttp

from squall.httpclient.errors import HTTPClientError, HTTPStreamClosedError, HTTPTimeoutError
from squall.httpclient.headers import HTTPHeaders
from squall.httpclient.request import HTTPRequest, ResolvedRequest, check_defaults, resolve
from squall.httpclient.response import HTTPResponse

# Encodings aiohttp decodes itself; after decoding, Tornado renames the header to
# X-Consumed-Content-Encoding so Content-Encoding no longer lies about the body.
_DECODED_ENCODINGS = frozenset({"gzip", "x-gzip", "deflate"})


class _LoopState:
    """What one client owns on one event loop: a session and its request slots."""

    __slots__ = ("session", "slots")

    def __init__(self, max_clients: int) -> None:
        # Cookies are not remembered between fetches: Tornado's client never did, and
        # a hidden jar would make requests depend on earlier responses.
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=max_clients),
            timeout=aiohttp.ClientTimeout(total=None),
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
        )
        # A slot is held from before connecting until the body is read, so at most
        # max_clients connections are ever in use, and waiting for a slot is
        # distinguishable from waiting for a connect.
        self.slots = asyncio.Semaphore(max_clients)


class AsyncHTTPClient:
    """A non-blocking HTTP client: ``response = await AsyncHTTPClient().fetch(url)``.

    ``AsyncHTTPClient()`` called on a running loop returns that loop's shared
    instance (Tornado's one-per-IOLoop rule); ``force_instance=True`` gives a private
    one. Called with no running loop it returns a private instance. Keyword
    arguments only configure a new instance: a shared one that already exists is
    returned unchanged, as in Tornado.

    Each client opens one aiohttp session per event loop, lazily, on the first
    fetch there. A session cannot outlive its loop cleanly, so close the client
    (``await client.aclose()`` or ``client.close()``) before the loop ends; tests
    must do so, or the unclosed session is reported as a ``ResourceWarning``.
    """

    _configured: ClassVar[dict[str, Any]] = {}
    _instances: ClassVar[weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncHTTPClient]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._instances = weakref.WeakKeyDictionary()
        cls._configured = {}

    def __new__(
        cls,
        force_instance: bool = False,
        *,
        max_clients: int | None = None,
        defaults: Mapping[str, object] | None = None,
    ) -> Self:
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        shared = not force_instance and loop is not None
        if shared and loop is not None and loop in cls._instances:
            return cls._instances[loop]  # type: ignore[return-value]
        self = super().__new__(cls)
        self._initialize(max_clients, defaults)
        if shared and loop is not None:
            cls._instances[loop] = self
            self._shared_on = weakref.ref(loop)
        return self

    def _initialize(self, max_clients: int | None, defaults: Mapping[str, object] | None) -> None:
        if max_clients is None:
            max_clients = self._configured.get("max_clients", 10)
        if defaults is None:
            defaults = self._configured.get("defaults")
        if not isinstance(max_clients, int) or max_clients < 1:
            raise ValueError(f"max_clients must be an int >= 1, not {max_clients!r}")
        self.max_clients: int = max_clients
        self.defaults: dict[str, object] = check_defaults(defaults)
        self._states: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = (
            weakref.WeakKeyDictionary()
        )
        self._ssl_contexts: dict[tuple[object, ...], ssl.SSLContext] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._closed = False
        self._shared_on: weakref.ref[asyncio.AbstractEventLoop] | None = None

    @classmethod
    def configure(cls, impl: type[AsyncHTTPClient] | None, **kwargs: Any) -> None:
        """Set the keyword arguments later ``AsyncHTTPClient()`` calls use by default.

        squall has one implementation, so ``impl`` must be ``None`` (or this class);
        only ``max_clients`` and ``defaults`` are accepted.
        """
        if impl is not None and impl is not cls:
            raise ValueError(f"squall has a single AsyncHTTPClient implementation; got {impl!r}")
        unknown = set(kwargs) - {"max_clients", "defaults"}
        if unknown:
            raise ValueError(f"unknown AsyncHTTPClient options {sorted(unknown)}")
        cls._configured = dict(kwargs)

    # -- fetching ---------------------------------------------------------------

    def fetch(
        self, request: str | HTTPRequest, raise_error: bool = True, **kwargs: Any
    ) -> asyncio.Future[HTTPResponse]:
        """Start fetching ``request`` now; the returned future resolves to its response.

        A URL string is turned into ``HTTPRequest(url, **kwargs)``. With
        ``raise_error=True`` a non-2xx response raises ``HTTPClientError`` (response
        attached); with ``False`` it is returned with ``.error`` set. Timeouts
        (``HTTPTimeoutError``), dropped connections (``HTTPStreamClosedError``) and
        connect failures (``ConnectionRefusedError``, ``socket.gaierror``,
        ``ssl.SSLCertVerificationError``...) raise either way. Invalid options raise
        ``ValueError`` immediately, before any I/O.
        """
        if self._closed:
            raise RuntimeError("fetch() called on a closed AsyncHTTPClient")
        if isinstance(request, str):
            request = HTTPRequest(request, **kwargs)
        elif kwargs:
            raise ValueError("kwargs can't be used if request is an HTTPRequest object")
        resolved = resolve(request, self.defaults)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                "AsyncHTTPClient.fetch() needs a running event loop; call it from a "
                "coroutine, or use the blocking squall.httpclient.HTTPClient"
            ) from None
        return loop.create_task(self._fetch(resolved, raise_error))

    async def _fetch(self, req: ResolvedRequest, raise_error: bool) -> HTTPResponse:
        loop = asyncio.get_running_loop()
        state = self._state_for(loop)
        start_time, start = time.time(), loop.time()
        times: dict[str, float] = {}
        try:
            async with asyncio.timeout(req.request_timeout) as overall:
                await self._take_slot(state, req)
                times["queue"] = loop.time() - start
                try:
                    response = await self._exchange(state.session, req, times, start)
                finally:
                    state.slots.release()
        except TimeoutError as exc:
            if not overall.expired():
                raise
            raise HTTPTimeoutError(
                f"Timeout during request: no complete response from {req.url} "
                f"within request_timeout={req.request_timeout:g}s"
            ) from exc
        times["total"] = loop.time() - start
        response.request_time = times["total"]
        response.start_time = start_time
        response.time_info = times
        if response.error is not None and (raise_error or not response._error_is_response_code):
            raise response.error
        return response

    async def _take_slot(self, state: _LoopState, req: ResolvedRequest) -> None:
        # Tornado bounds the wait for a free slot by the smaller of the two timeouts.
        limits = [t for t in (req.connect_timeout, req.request_timeout) if t is not None]
        limit = min(limits) if limits else None
        try:
            async with asyncio.timeout(limit):
                await state.slots.acquire()
        except TimeoutError as exc:
            raise HTTPTimeoutError(
                f"Timeout in request queue: all max_clients={self.max_clients} slots "
                f"stayed busy for {limit:g}s"
            ) from exc

    async def _exchange(
        self,
        session: aiohttp.ClientSession,
        req: ResolvedRequest,
        times: dict[str, float],
        start: float,
    ) -> HTTPResponse:
        loop = asyncio.get_running_loop()
        try:
            async with session.request(req.method, req.url, **self._options(req)) as resp:
                times["starttransfer"] = loop.time() - start
                if req.header_callback is not None:
                    _replay_headers(resp, req)
                buffer = io.BytesIO()
                if req.streaming_callback is not None:
                    async for chunk in resp.content.iter_any():
                        req.streaming_callback(chunk)
                else:
                    buffer.write(await resp.read())
                buffer.seek(0)
                return _response(req, resp, buffer)
        except aiohttp.TooManyRedirects as exc:
            # Tornado returns the last redirect rather than inventing an error: with
            # raise_error it surfaces as HTTPClientError(3xx). aiohttp has already
            # discarded that response's body, so it is empty here.
            last = exc.history[-1]
            if req.header_callback is not None:
                _replay_headers(last, req)
            return _response(req, last, io.BytesIO())
        except aiohttp.ConnectionTimeoutError as exc:
            raise HTTPTimeoutError(
                f"Timeout while connecting to {req.url} "
                f"within connect_timeout={req.connect_timeout:g}s"
            ) from exc
        except aiohttp.ClientHttpProxyError as exc:
            raise HTTPClientError(
                599,
                f"proxy {req.proxy_url} refused to tunnel to {req.url}: {exc.status} {exc.message}",
            ) from exc
        except aiohttp.ClientConnectorError as exc:
            raise _connect_error(exc, req) from exc
        except (
            aiohttp.ServerDisconnectedError,
            aiohttp.ClientPayloadError,
            aiohttp.ClientOSError,
        ) as exc:
            raise HTTPStreamClosedError(
                f"Stream closed: the connection to {req.url} ended before a complete "
                f"response arrived ({exc})"
            ) from exc
        except aiohttp.InvalidURL as exc:
            raise ValueError(f"invalid URL while fetching {req.url}: {exc}") from exc
        except aiohttp.ClientError as exc:
            raise HTTPClientError(
                599, f"{type(exc).__name__} while fetching {req.url}: {exc}"
            ) from exc

    def _options(self, req: ResolvedRequest) -> dict[str, Any]:
        """aiohttp ``request()`` keyword arguments equivalent to ``req``."""
        headers = req.headers.copy()
        if req.auth is not None:
            headers["Authorization"] = aiohttp.encode_basic_auth(*req.auth)
        # aiohttp adds Accept-Encoding and a payload Content-Type on its own; Tornado
        # sends neither unless asked to, and servers see the difference.
        skip = ["Content-Type"]
        if not req.decompress_response:
            skip.append("Accept-Encoding")
        options: dict[str, Any] = {
            "skip_auto_headers": skip,
            "data": req.body,
            # aiohttp raises on reaching max_redirects responses; Tornado follows
            # max_redirects and returns the next one, hence the + 1.
            "allow_redirects": req.follow_redirects and req.max_redirects > 0,
            "max_redirects": req.max_redirects + 1,
            "auto_decompress": req.decompress_response,
            "timeout": aiohttp.ClientTimeout(
                total=None, connect=req.connect_timeout, sock_connect=req.connect_timeout
            ),
            "ssl": self._ssl_for(req),
            "expect100": req.expect_100_continue,
        }
        if req.proxy_url is not None:
            options["proxy"] = req.proxy_url
            if req.proxy_auth is not None:
                credentials = aiohttp.encode_basic_auth(*req.proxy_auth)
                if req.url.startswith("https:"):
                    # Sent only on the CONNECT that opens the tunnel, never to the origin.
                    options["proxy_headers"] = {"Proxy-Authorization": credentials}
                else:
                    # A plain-HTTP request goes to the proxy itself, headers and all.
                    headers["Proxy-Authorization"] = credentials
        options["headers"] = list(headers.get_all())
        return options

    def _ssl_for(self, req: ResolvedRequest) -> ssl.SSLContext | bool:
        if req.ssl_options is not None:
            return req.ssl_options
        if req.client_cert is None and req.ca_certs is None:
            return req.validate_cert  # aiohttp's default context, or no verification
        key = (req.validate_cert, req.ca_certs, req.client_cert, req.client_key)
        context = self._ssl_contexts.get(key)
        if context is None:
            context = ssl.create_default_context(cafile=req.ca_certs)
            if not req.validate_cert:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            if req.client_cert is not None:
                context.load_cert_chain(req.client_cert, req.client_key)
            self._ssl_contexts[key] = context
        return context

    # -- lifecycle --------------------------------------------------------------

    def _state_for(self, loop: asyncio.AbstractEventLoop) -> _LoopState:
        state = self._states.get(loop)
        if state is None or state.session.closed:
            state = self._states[loop] = _LoopState(self.max_clients)
        return state

    def close(self) -> None:
        """Release every connection and stop accepting fetches.

        On the loop that is running, the session finishes closing on that loop's
        next iteration; inside a coroutine prefer ``await client.aclose()``, which
        returns once everything is closed. Closing the shared instance means the
        next ``AsyncHTTPClient()`` on that loop creates a fresh one.
        """
        if self._closed:
            return
        self._closed = True
        self._forget_shared()
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        states = list(self._states.items())
        self._states.clear()
        for loop, state in states:
            session = state.session
            if session.closed:
                continue
            if running is not None and loop is running:
                task = loop.create_task(session.close())
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)
            elif loop.is_closed():
                # Its transports died with the loop; nothing left to release.
                session.detach()
            elif loop.is_running():
                asyncio.run_coroutine_threadsafe(session.close(), loop)
            else:
                loop.run_until_complete(session.close())

    async def aclose(self) -> None:
        """Close the client and wait until this loop's connections are released."""
        loop = asyncio.get_running_loop()
        state = self._states.pop(loop, None)
        self.close()
        if state is not None:
            await state.session.close()
        if self._closing:
            await asyncio.gather(*self._closing)

    def _forget_shared(self) -> None:
        loop = self._shared_on() if self._shared_on is not None else None
        if loop is not None and type(self)._instances.get(loop) is self:
            del type(self)._instances[loop]

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


AsyncHTTPClient._instances = weakref.WeakKeyDictionary()


def _response(
    req: ResolvedRequest, resp: aiohttp.ClientResponse, buffer: io.BytesIO
) -> HTTPResponse:
    headers = HTTPHeaders()
    for name, value in resp.headers.items():
        headers.add(name, value)
    encoding = headers.get("Content-Encoding", "").lower()
    if req.decompress_response and encoding in _DECODED_ENCODINGS:
        headers["X-Consumed-Content-Encoding"] = headers.pop("Content-Encoding")
    return HTTPResponse(
        req.request,
        resp.status,
        headers=headers,
        buffer=buffer,
        effective_url=str(resp.url),
        reason=resp.reason,
    )


def _replay_headers(resp: aiohttp.ClientResponse, req: ResolvedRequest) -> None:
    """Feed the header block to ``header_callback`` line by line, as Tornado does."""
    callback = req.header_callback
    if callback is None:
        return
    version = resp.version
    major, minor = (version.major, version.minor) if version is not None else (1, 1)
    callback(f"HTTP/{major}.{minor} {resp.status} {resp.reason or ''}\r\n")
    for name, value in resp.raw_headers:
        callback(f"{name.decode('latin-1')}: {value.decode('latin-1')}\r\n")
    callback("\r\n")


def _connect_error(exc: aiohttp.ClientConnectorError, req: ResolvedRequest) -> OSError:
    """The underlying ``OSError`` (Tornado raises it too) with a message naming the target.

    Keeping the type means ``except ConnectionRefusedError`` and
    ``except ssl.SSLCertVerificationError`` work as they do with Tornado.
    """
    original = exc.os_error
    detail = original.strerror or str(original) or type(original).__name__
    message = f"cannot connect to {exc.host}:{exc.port} for {req.url}: {detail}"
    try:
        error = type(original)(original.errno, message)
    except Exception:
        return original
    for attr in ("verify_code", "verify_message", "library", "reason"):
        if hasattr(original, attr):
            setattr(error, attr, getattr(original, attr))
    return error
