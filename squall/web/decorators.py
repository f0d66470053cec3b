"""Decorators for handler methods and classes."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

from squall.web.errors import HTTPError
from squall.web.handler import RequestHandler

_H = TypeVar("_H", bound=type[RequestHandler])
_Method = Callable[..., Awaitable[None] | None]


def authenticated(method: _Method) -> _Method:
    """Require ``current_user``: GET/HEAD redirect to ``login_url``, others get 403."""

    @functools.wraps(method)
    def wrapper(self: RequestHandler, *args: Any, **kwargs: Any) -> Awaitable[None] | None:
        if not self.current_user:
            if self.request.method in ("GET", "HEAD"):
                url = self.get_login_url()
                if "?" not in url:
                    next_url = self.request.full_url() if urlsplit(url).scheme else self.request.uri
                    url += "?" + urlencode({"next": next_url})
                self.redirect(url)
                return None
            raise HTTPError(403)
        return method(self, *args, **kwargs)

    return wrapper


def removeslash(method: _Method) -> _Method:
    """Redirect ``/path/`` to ``/path`` (GET/HEAD) or answer 404."""

    @functools.wraps(method)
    def wrapper(self: RequestHandler, *args: Any, **kwargs: Any) -> Awaitable[None] | None:
        path = self.request.path
        if path.endswith("/"):
            if self.request.method in ("GET", "HEAD"):
                uri = path.rstrip("/")
                if uri:
                    if self.request.query:
                        uri += "?" + self.request.query
                    self.redirect(uri, permanent=True)
                    return None
            else:
                raise HTTPError(404)
        return method(self, *args, **kwargs)

    return wrapper


def addslash(method: _Method) -> _Method:
    """Redirect ``/path`` to ``/path/`` (GET/HEAD) or answer 404."""

    @functools.wraps(method)
    def wrapper(self: RequestHandler, *args: Any, **kwargs: Any) -> Awaitable[None] | None:
        if not self.request.path.endswith("/"):
            if self.request.method in ("GET", "HEAD"):
                uri = self.request.path + "/"
                if self.request.query:
                    uri += "?" + self.request.query
                self.redirect(uri, permanent=True)
                return None
            raise HTTPError(404)
        return method(self, *args, **kwargs)

    return wrapper


def stream_request_body(cls: _H) -> _H:
    """Deliver the body to ``data_received(chunk)`` as it arrives instead of buffering.

    ``prepare`` runs when the headers are in (and may be async: body data
    waits for it), ``data_received`` may be async (reading pauses meanwhile),
    and the verb method runs once the body is complete.
    """
    if not (isinstance(cls, type) and issubclass(cls, RequestHandler)):
        raise TypeError(f"stream_request_body must decorate a RequestHandler subclass, got {cls!r}")
    if "data_received" not in vars(cls) and not any(
        "data_received" in vars(base) for base in cls.__mro__[1:] if base is not RequestHandler
    ):
        raise TypeError(f"{cls.__name__} uses @stream_request_body but defines no data_received()")
    cls._stream_request_body = True
    return cls
