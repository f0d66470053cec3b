"""Ready-made handlers: fixed errors and redirects."""

from __future__ import annotations

from typing import Any

from squall.web.errors import HTTPError
from squall.web.handler import RequestHandler


class ErrorHandler(RequestHandler):
    """Answers every request with ``status_code`` (404 for unmatched paths)."""

    def initialize(self, status_code: int = 404) -> None:  # type: ignore[override]
        self.set_status(status_code)

    def prepare(self) -> None:
        raise HTTPError(self._status_code)

    def check_xsrf_cookie(self) -> None:
        # An unmatched POST is a 404, not an XSRF failure.
        pass


class RedirectHandler(RequestHandler):
    """Redirect every request to ``url``, which may use the captured groups.

    ``(r"/pictures/(.*)", RedirectHandler, {"url": "/photos/{0}"})``; the
    query string is kept.
    """

    def initialize(self, url: str, permanent: bool = True) -> None:  # type: ignore[override]
        self._url = url
        self._permanent = permanent

    def get(self, *args: Any, **kwargs: Any) -> None:
        to_url = self._url.format(*args, **kwargs)
        if self.request.query_arguments:
            separator = "&" if "?" in to_url else "?"
            to_url += separator + self.request.query
        self.redirect(to_url, permanent=self._permanent)
