"""Case-insensitive, multi-valued HTTP headers (Tornado's ``HTTPHeaders``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any, overload

# PERF: header names repeat across requests; remembering each normalised form
# saves a str.title()-style pass per header. Bounded so hostile clients cannot
# grow it without limit.
_NORMALIZED: dict[str, str] = {}
_NORMALIZED_MAX = 2048


def normalize_header_name(name: str) -> str:
    """``content-type`` -> ``Content-Type``: the canonical spelling used for keys."""
    try:
        return _NORMALIZED[name]
    except KeyError:
        normalized = "-".join(part.capitalize() for part in name.split("-"))
        if len(_NORMALIZED) < _NORMALIZED_MAX:
            _NORMALIZED[name] = normalized
        return normalized


class HTTPHeaders(MutableMapping[str, str]):
    """A dict of headers whose keys ignore case and may hold several values.

    ``headers["Set-Cookie"]`` joins repeated values with commas (as RFC 9110
    allows for list-valued fields); :meth:`get_list` returns them separately.
    Iteration yields each name once, in its canonical ``Title-Case`` form.
    """

    __slots__ = ("_as_list",)

    @overload
    def __init__(self, __arg: Mapping[str, list[str]]) -> None: ...
    @overload
    def __init__(self, __arg: Mapping[str, str]) -> None: ...
    @overload
    def __init__(self, *args: tuple[str, str]) -> None: ...
    @overload
    def __init__(self, **kwargs: str) -> None: ...

    def __init__(self, *args: Any, **kwargs: str) -> None:
        # PERF: one dict of lists; the comma-joined form is built on read.
        self._as_list: dict[str, list[str]] = {}
        if not args and not kwargs:
            return
        if len(args) == 1 and isinstance(args[0], HTTPHeaders):
            self._as_list = {name: list(values) for name, values in args[0]._as_list.items()}
        else:
            self.update(*args, **kwargs)

    @classmethod
    def from_normalized(cls, values: dict[str, list[str]]) -> HTTPHeaders:
        """Wrap ``values`` (keys already in canonical form, values lists) without copying."""
        headers = cls.__new__(cls)
        headers._as_list = values
        return headers

    def add(self, name: str, value: str) -> None:
        """Add a value without replacing earlier values of the same header."""
        key = normalize_header_name(name)
        values = self._as_list.get(key)
        if values is None:
            self._as_list[key] = [value]
        else:
            values.append(value)

    def get_list(self, name: str) -> list[str]:
        """Every value of the header, in arrival order (empty when absent)."""
        return list(self._as_list.get(normalize_header_name(name), ()))

    def get_all(self) -> Iterator[tuple[str, str]]:
        """Every (name, value) pair, repeated headers once per value."""
        for name, values in self._as_list.items():
            for value in values:
                yield name, value

    @classmethod
    def parse(cls, headers: str) -> HTTPHeaders:
        """Parse a CRLF-separated header block (no start line)."""
        result = cls()
        for line in headers.split("\n"):
            line = line.rstrip("\r")
            if not line:
                continue
            name, sep, value = line.partition(":")
            if not sep:
                raise ValueError(f"malformed header line {line!r}: no colon")
            result.add(name.strip(), value.strip())
        return result

    def __setitem__(self, name: str, value: str) -> None:
        self._as_list[normalize_header_name(name)] = [value]

    def __getitem__(self, name: str) -> str:
        values = self._as_list[normalize_header_name(name)]
        return values[0] if len(values) == 1 else ",".join(values)

    def __delitem__(self, name: str) -> None:
        del self._as_list[normalize_header_name(name)]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and normalize_header_name(name) in self._as_list

    def get(self, name: str, default: Any = None) -> Any:
        values = self._as_list.get(normalize_header_name(name))
        if values is None:
            return default
        return values[0] if len(values) == 1 else ",".join(values)

    def __len__(self) -> int:
        return len(self._as_list)

    def __iter__(self) -> Iterator[str]:
        return iter(self._as_list)

    def copy(self) -> HTTPHeaders:
        return HTTPHeaders(self)

    __copy__ = copy

    def __str__(self) -> str:
        return "".join(f"{name}: {value}\r\n" for name, value in self.get_all())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict(self.items())!r})"
