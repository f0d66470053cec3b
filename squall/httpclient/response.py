"""``HTTPResponse``: what a fetch produces (Tornado's interface)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from squall.httpclient.errors import HTTPClientError, reason_phrase
from squall.httpclient.headers import HTTPHeaders

if TYPE_CHECKING:
    from squall.httpclient.request import HTTPRequest


class HTTPResponse:
    """The outcome of one fetch.

    ``body`` is the buffered payload (``b""`` when a ``streaming_callback`` consumed
    it). ``error`` is set for a non-2xx ``code``, so ``raise_error=False`` callers can
    still ``rethrow()``. Times: ``start_time`` is wall-clock (``time.time()``) when
    the fetch began, ``request_time`` its duration in seconds, and ``time_info`` holds
    phase offsets from the start (``queue``, ``starttransfer``, ``total``).
    """

    def __init__(
        self,
        request: HTTPRequest,
        code: int,
        headers: HTTPHeaders | None = None,
        buffer: io.BytesIO | None = None,
        effective_url: str | None = None,
        error: BaseException | None = None,
        request_time: float | None = None,
        time_info: dict[str, float] | None = None,
        reason: str | None = None,
        start_time: float | None = None,
    ) -> None:
        self.request = request
        self.code = code
        self.reason = reason or reason_phrase(code)
        self.headers = headers if headers is not None else HTTPHeaders()
        self.buffer = buffer
        self._body: bytes | None = None
        self.effective_url = request.url if effective_url is None else effective_url
        # Distinguishes "the server said 4xx/5xx" (suppressible with raise_error=False)
        # from transport failures, which always raise.
        self._error_is_response_code = False
        if error is None and not 200 <= code < 300:
            self._error_is_response_code = True
            error = HTTPClientError(code, message=self.reason, response=self)
        self.error = error
        self.request_time = request_time
        self.start_time = start_time
        self.time_info = time_info if time_info is not None else {}

    @property
    def body(self) -> bytes:
        if self.buffer is None:
            return b""
        if self._body is None:
            self._body = self.buffer.getvalue()
        return self._body

    def rethrow(self) -> None:
        """Raise ``error`` if there is one; a no-op for successful responses."""
        if self.error is not None:
            raise self.error

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.code} {self.reason} "
            f"for {self.request.method} {self.effective_url}>"
        )
