"""A minimal browser for sign-in flows: squall's client, cookies carried by hand.

Redirects are followed one hop at a time (``follow_redirects=False``) so each
hop's ``Set-Cookie`` is applied, and cookies are only sent back to the origin
that set them, as a browser does for these host-only cookies.
"""

from __future__ import annotations

from http.cookies import SimpleCookie
from urllib.parse import urljoin, urlsplit

from squall.httpclient import AsyncHTTPClient, HTTPResponse


class Browser:
    def __init__(self) -> None:
        self.client = AsyncHTTPClient(force_instance=True)
        self.jars: dict[str, dict[str, str]] = {}  # origin -> cookie name -> value
        self.set_cookie_headers: list[str] = []
        self.history: list[str] = []

    def jar(self, url: str) -> dict[str, str]:
        parts = urlsplit(url)
        return self.jars.setdefault(f"{parts.scheme}://{parts.netloc}", {})

    async def get(self, url: str) -> HTTPResponse:
        """One request, no redirect following; cookies sent and stored."""
        self.history.append(url)
        jar = self.jar(url)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())} if jar else {}
        response = await self.client.fetch(url, headers=headers, follow_redirects=False,
                                           raise_error=False)
        for header in response.headers.get_list("Set-Cookie"):
            self.set_cookie_headers.append(header)
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0" or not morsel.value:
                    jar.pop(name, None)
                else:
                    jar[name] = morsel.value
        return response

    async def visit(self, url: str, max_hops: int = 10) -> HTTPResponse:
        """Follow redirects across origins until a non-redirect answer."""
        for _ in range(max_hops):
            response = await self.get(url)
            if response.code not in (301, 302, 303, 307, 308):
                return response
            url = urljoin(url, response.headers["Location"])
        raise AssertionError(f"more than {max_hops} redirects: {self.history}")

    async def close(self) -> None:
        await self.client.aclose()


async def walk_to_callback(browser: Browser, start_url: str) -> str:
    """Start a sign-in at ``start_url``, pass the provider's consent; the callback URL."""
    start = await browser.get(start_url)
    assert start.code == 302, start.body
    consent = await browser.get(start.headers["Location"])
    assert consent.code == 302, consent.body
    callback: str = consent.headers["Location"]
    return callback
