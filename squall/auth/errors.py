"""``AuthError``: a sign-in that cannot complete, answered with a 4xx instead of a crash."""

from __future__ import annotations

from squall.web.errors import HTTPError


class AuthError(HTTPError):
    """A third-party sign-in failed; the message names the provider and the problem.

    It is an :class:`~squall.web.HTTPError`, so a handler that lets it propagate
    answers ``status_code`` (400 by default, 403 for a refused or forged callback,
    502 when the provider cannot be reached) rather than a 500. Catch it to show
    your own page.
    """

    def __init__(self, provider: str, message: str, status_code: int = 400) -> None:
        super().__init__(status_code, "%s", f"{provider}: {message}")
        self.provider = provider
        self.message = message

    def __str__(self) -> str:
        return f"{self.provider}: {self.message}"
