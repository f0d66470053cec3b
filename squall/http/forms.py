"""Request bodies and query strings into arguments and uploaded files."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from squall.http.headers import HTTPHeaders

log = logging.getLogger("squall.general")


@dataclass(slots=True)
class HTTPFile:
    """One uploaded file of a ``multipart/form-data`` body."""

    filename: str
    body: bytes
    content_type: str = "application/unknown"
    headers: HTTPHeaders = field(default_factory=HTTPHeaders)

    def __getitem__(self, key: str) -> object:
        # Tornado's HTTPFile is also a dict: files["f"][0]["body"] keeps working.
        if key in ("filename", "body", "content_type"):
            return getattr(self, key)
        raise KeyError(key)


class BodyError(ValueError):
    """A request body that cannot be parsed as its Content-Type says."""


def parse_qs_bytes(
    qs: str | bytes, keep_blank_values: bool = True
) -> dict[str, list[bytes]]:
    """Parse a query string into name -> list of raw byte values.

    Values stay bytes (as in Tornado) because their encoding is the
    application's business; names are decoded as UTF-8 (latin-1 fallback).
    """
    if isinstance(qs, bytes):
        qs = qs.decode("latin-1")
    result: dict[str, list[bytes]] = {}
    for name, value in parse_qsl(qs, keep_blank_values=keep_blank_values,
                                 encoding="latin-1", errors="strict"):
        raw_name = name.encode("latin-1")
        try:
            key = raw_name.decode("utf-8")
        except UnicodeDecodeError:
            key = name
        result.setdefault(key, []).append(value.encode("latin-1"))
    return result


def _header_params(value: str) -> tuple[str, dict[str, str]]:
    """``form-data; name="a"; filename="b.txt"`` -> ("form-data", {...})."""
    parts = _split_params(value)
    main = parts[0].strip().lower() if parts else ""
    params: dict[str, str] = {}
    for part in parts[1:]:
        name, sep, val = part.partition("=")
        if not sep:
            continue
        val = val.strip()
        if len(val) >= 2 and val[0] == val[-1] == '"':
            val = val[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        params[name.strip().lower()] = val
    return main, params


def _split_params(value: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    escaped = False
    for ch in value:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\" and quoted:
            current.append(ch)
            escaped = True
        elif ch == '"':
            quoted = not quoted
            current.append(ch)
        elif ch == ";" and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def parse_body_arguments(
    content_type: str,
    body: bytes,
    arguments: dict[str, list[bytes]],
    files: dict[str, list[HTTPFile]],
    headers: HTTPHeaders | None = None,
) -> None:
    """Add the body's form fields to ``arguments`` and its uploads to ``files``.

    Raises :class:`BodyError` for a body that does not match its declared
    form type; other content types are left alone.
    """
    if headers is not None and "Content-Encoding" in headers:
        raise BodyError(f"unsupported Content-Encoding {headers['Content-Encoding']!r}")
    main, params = _header_params(content_type)
    if main == "application/x-www-form-urlencoded":
        try:
            parsed = parse_qs_bytes(body)
        except (UnicodeDecodeError, ValueError) as err:
            raise BodyError(f"malformed urlencoded body: {err}") from None
        for name, values in parsed.items():
            arguments.setdefault(name, []).extend(values)
    elif main == "multipart/form-data":
        boundary = params.get("boundary")
        if not boundary:
            raise BodyError("multipart/form-data without a boundary")
        parse_multipart_form_data(boundary.encode("latin-1"), body, arguments, files)


def parse_multipart_form_data(
    boundary: bytes,
    data: bytes,
    arguments: dict[str, list[bytes]],
    files: dict[str, list[HTTPFile]],
) -> None:
    """Parse a ``multipart/form-data`` body (RFC 7578)."""
    delimiter = b"--" + boundary
    end = data.rfind(delimiter + b"--")
    if end == -1:
        raise BodyError("multipart body has no closing boundary")
    for part in data[:end].split(delimiter)[1:]:
        if not part.startswith(b"\r\n"):
            raise BodyError("multipart boundary not followed by CRLF")
        head_end = part.find(b"\r\n\r\n")
        if head_end == -1:
            raise BodyError("multipart part without a header block")
        try:
            part_headers = HTTPHeaders.parse(part[2:head_end].decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as err:
            raise BodyError(f"malformed multipart part headers: {err}") from None
        if not part.endswith(b"\r\n"):
            raise BodyError("multipart part not terminated by CRLF")
        value = part[head_end + 4:-2]
        disposition = part_headers.get("Content-Disposition", "")
        kind, params = _header_params(disposition)
        if kind != "form-data" or "name" not in params:
            raise BodyError(f"multipart part with invalid Content-Disposition {disposition!r}")
        name = params["name"]
        if "filename" in params:
            files.setdefault(name, []).append(HTTPFile(
                filename=params["filename"],
                body=value,
                content_type=part_headers.get("Content-Type", "application/unknown"),
                headers=part_headers,
            ))
        else:
            arguments.setdefault(name, []).append(value)
