"""The header type the client hands to and accepts from users.

The single place ``squall.httpclient`` depends on a headers class: it is squall's
own ``squall.http.headers.HTTPHeaders``, so client and server share one type.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeAlias

from squall.http.headers import HTTPHeaders

HeadersInput: TypeAlias = "Mapping[str, str] | Iterable[tuple[str, str]] | None"


def to_headers(value: HeadersInput) -> HTTPHeaders:
    """A new ``HTTPHeaders`` from a mapping, another ``HTTPHeaders`` (every value kept) or pairs."""
    if value is None:
        return HTTPHeaders()
    if isinstance(value, HTTPHeaders):
        return value.copy()
    headers = HTTPHeaders()
    pairs = value.items() if isinstance(value, Mapping) else value
    for pair in pairs:
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise TypeError(f"header entries must be (name, value) pairs, got {pair!r}")
        name, header_value = pair
        if not isinstance(header_value, str):
            raise TypeError(f"header {name!r} value must be str, not {type(header_value).__name__}")
        if "\r" in header_value or "\n" in header_value:
            # RFC 9110 section 5.5: a CR or LF in a field value would split the header.
            raise ValueError(f"header {name!r} value contains a line break: {header_value!r}")
        headers.add(name, header_value)
    return headers


def merge(base: HTTPHeaders, overrides: HTTPHeaders) -> HTTPHeaders:
    """``base`` with every header named in ``overrides`` replaced by all of its values."""
    merged = base.copy()
    for name in overrides:
        if name in merged:
            del merged[name]
        for value in overrides.get_list(name):
            merged.add(name, value)
    return merged


__all__ = ["HTTPHeaders", "HeadersInput", "merge", "to_headers"]
