"""Exceptions a handler raises to end a request with a given status."""

from __future__ import annotations

from typing import Any

from squall.http.status import REASONS


class HTTPError(Exception):
    """End the request with ``status_code``; ``log_message`` goes to the log only.

    ``log_message`` is %-formatted with ``args`` (so it may contain user input
    safely); ``reason`` overrides the standard phrase in the status line.
    """

    def __init__(
        self,
        status_code: int = 500,
        log_message: str | None = None,
        *args: Any,
        reason: str | None = None,
    ) -> None:
        if not isinstance(status_code, int) or not 100 <= status_code <= 599:
            raise ValueError(f"HTTPError status_code must be an int in 100..599, got {status_code!r}")
        self.status_code = status_code
        self.log_message = log_message
        self.args = args
        self.reason = reason
        if log_message and not args:
            self.log_message = log_message.replace("%", "%%")

    def __str__(self) -> str:
        message = f"HTTP {self.status_code}: {self.reason or REASONS.get(self.status_code, 'Unknown')}"
        if self.log_message:
            return message + " (" + (self.log_message % self.args) + ")"
        return message


class MissingArgumentError(HTTPError):
    """A required argument was absent: answered 400, naming the argument."""

    def __init__(self, arg_name: str) -> None:
        super().__init__(400, "Missing argument %s", arg_name)
        self.arg_name = arg_name


class Finish(Exception):
    """Raise to finish the request now; args are passed to ``finish()``."""
