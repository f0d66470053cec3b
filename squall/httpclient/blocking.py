"""``HTTPClient``: the blocking client for scripts and the REPL."""

from __future__ import annotations

import asyncio
import warnings
from typing import Any, Self

from squall.httpclient.client import AsyncHTTPClient
from squall.httpclient.request import HTTPRequest
from squall.httpclient.response import HTTPResponse


class HTTPClient:
    """Fetch URLs synchronously: ``HTTPClient().fetch(url).body``.

    It runs a private event loop, so it cannot be used while an event loop is
    running in the same thread (use ``AsyncHTTPClient`` there). Keyword arguments
    go to the private ``AsyncHTTPClient`` (``max_clients``, ``defaults``). Close it,
    or use it as a context manager.
    """

    def __init__(
        self, async_client_class: type[AsyncHTTPClient] | None = None, **kwargs: Any
    ) -> None:
        self._closed = True  # until fully built, so __del__ has nothing to undo
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise RuntimeError(
                "HTTPClient cannot be used while an event loop is running in this "
                "thread; use AsyncHTTPClient instead"
            )
        self._runner = asyncio.Runner()
        cls = async_client_class or AsyncHTTPClient
        self._async_client = cls(force_instance=True, **kwargs)
        self._closed = False

    def fetch(self, request: str | HTTPRequest, **kwargs: Any) -> HTTPResponse:
        """Fetch and return the response; errors as ``AsyncHTTPClient.fetch``."""
        if self._closed:
            raise RuntimeError("fetch() called on a closed HTTPClient")

        async def fetch() -> HTTPResponse:
            return await self._async_client.fetch(request, **kwargs)

        return self._runner.run(fetch())

    def close(self) -> None:
        """Close the connections and the private event loop; idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            self._runner.run(self._async_client.aclose())
        finally:
            self._runner.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):
            warnings.warn(f"unclosed {self!r}", ResourceWarning, source=self, stacklevel=1)
