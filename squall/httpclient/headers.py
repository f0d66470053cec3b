"""The header type the client hands to and accepts from users.

This module is the single place the client depends on a headers class. When
``squall.http.headers.HTTPHeaders`` lands, this file becomes a re-export of it and
nothing else in ``squall.httpclient`` changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import TypeAlias

HeadersInput: TypeAlias = "Mapping[str, str] | Iterable[tuple[str, str]] | None"


def _normalize(name: str) -> str:
    """``content-TYPE`` -> ``Content-Type``: the canonical form Tornado exposes."""
    return "-".join(part.capitalize() for part in name.split("-"))


class HTTPHeaders(MutableMapping[str, str]):
    """Case-insensitive, multi-valued HTTP headers with Tornado's interface.

    ``headers[name]`` joins repeated values with ``","`` (RFC 9110 section 5.3 makes
    that equivalent for list-valued fields); ``get_list`` returns them separately,
    which is what ``Set-Cookie`` needs. ``headers[name] = v`` replaces every value,
    ``add`` appends one. Iteration yields each distinct name once, normalized.
    """

    __slots__ = ("_values",)

    def __init__(self, headers: HeadersInput = None, /, **kwargs: str) -> None:
        self._values: dict[str, list[str]] = {}
        if headers is not None:
            self.update(headers)
        if kwargs:
            self.update(kwargs)

    def update(self, other: object = (), /, **kwargs: str) -> None:
        """Replace values per name; multi-valued sources keep every value."""
        if isinstance(other, HTTPHeaders):
            pairs: Iterable[tuple[str, str]] = other.get_all()
        elif isinstance(other, Mapping):
            pairs = other.items()
        elif isinstance(other, Iterable):
            pairs = other
        else:
            raise TypeError(
                f"headers must be a mapping or pairs of (name, value), not {type(other).__name__}"
            )
        seen: set[str] = set()
        for pair in [*pairs, *kwargs.items()]:
            if not (isinstance(pair, tuple) and len(pair) == 2):
                raise TypeError(f"header entries must be (name, value) pairs, got {pair!r}")
            name, value = pair
            key = _normalize(name)
            if key not in seen:
                self._values.pop(key, None)
                seen.add(key)
            self.add(name, value)

    def add(self, name: str, value: str) -> None:
        """Append ``value`` to ``name`` without dropping earlier values."""
        if not isinstance(value, str):
            raise TypeError(f"header {name!r} value must be str, not {type(value).__name__}")
        if "\r" in value or "\n" in value:
            # RFC 9110 section 5.5: a CR or LF in a field value would split the header.
            raise ValueError(f"header {name!r} value contains a line break: {value!r}")
        self._values.setdefault(_normalize(name), []).append(value)

    def get_list(self, name: str) -> list[str]:
        """Every value of ``name`` in arrival order; empty when absent."""
        return list(self._values.get(_normalize(name), ()))

    def get_all(self) -> Iterator[tuple[str, str]]:
        """Every ``(name, value)`` pair, repeated names included."""
        for name, values in self._values.items():
            for value in values:
                yield name, value

    def parse_line(self, line: str) -> None:
        """Add one ``Name: value`` line (as a header callback receives it)."""
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise ValueError(f"not a header line: {line!r}")
        self.add(name.strip(), value.strip())

    @classmethod
    def parse(cls, text: str) -> HTTPHeaders:
        """Headers from a CRLF- or LF-separated block of ``Name: value`` lines."""
        headers = cls()
        for line in text.splitlines():
            if line:
                headers.parse_line(line)
        return headers

    def copy(self) -> HTTPHeaders:
        return HTTPHeaders(self)

    def __getitem__(self, name: str) -> str:
        return ",".join(self._values[_normalize(name)])

    def __setitem__(self, name: str, value: str) -> None:
        self._values.pop(_normalize(name), None)
        self.add(name, value)

    def __delitem__(self, name: str) -> None:
        del self._values[_normalize(name)]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and _normalize(name) in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __str__(self) -> str:
        return "".join(f"{name}: {value}\n" for name, value in self.get_all())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self.get_all())!r})"
