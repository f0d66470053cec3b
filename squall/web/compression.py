"""Gzip for responses (``compress_response``) and request bodies (``decompress_request``).

Responses: an output transform compresses whole-body responses whose type is
text-like and whose body is at least ``compress_min_length`` bytes (default 1024;
smaller bodies rarely shrink enough to pay for the CPU), when the client's
``Accept-Encoding`` allows gzip. Responses sent with ``flush()`` (streamed,
chunked) bypass transforms and stay uncompressed, as do 206 partial responses
(their ``Content-Range`` counts uncompressed bytes).

Requests: with ``decompress_request=True`` (an Application setting, or the
HTTPServer option of the same name) a ``Content-Encoding: gzip`` body is
decompressed before form parsing. Output is capped at ``max_body_size``, so a
small "zip bomb" is refused with 413 after producing at most that many bytes;
a corrupt or truncated body is 400. Handlers using ``@stream_request_body``
receive the body as sent; other encodings are passed through untouched.
"""

from __future__ import annotations

import gzip
import zlib
from typing import TYPE_CHECKING, Any

from squall.http.headers import HTTPHeaders

if TYPE_CHECKING:
    from squall.http.request import HTTPServerRequest

__all__ = ["GzipTransform", "decompress_request_body", "gunzip_bounded"]

DEFAULT_MIN_LENGTH = 1024
_DEFAULT_MAX_BODY = 100 * 1024 * 1024
_TEXT_TYPES = frozenset(("application/json", "application/xml", "image/svg+xml",
                         "application/xhtml+xml", "application/rss+xml", "application/atom+xml"))


def is_compressible(content_type: str) -> bool:
    """Text-like media types (``text/*``, JSON, JavaScript, XML, SVG)."""
    mime = content_type.split(";", 1)[0].strip().lower()
    return (
        mime.startswith("text/") or mime in _TEXT_TYPES or "javascript" in mime
        or mime.endswith(("+json", "+xml"))
    )


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an ``Accept-Encoding`` value allows gzip (RFC 9110 §12.5.3)."""
    explicit: float | None = None
    wildcard: float | None = None
    for item in accept_encoding.split(","):
        coding, _, params = item.partition(";")
        coding = coding.strip().lower()
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        if coding in ("gzip", "x-gzip"):
            explicit = q if explicit is None else max(explicit, q)
        elif coding == "*":
            wildcard = q
    if explicit is not None:
        return explicit > 0
    return wildcard is not None and wildcard > 0


def _add_vary(headers: HTTPHeaders) -> None:
    existing = [v.strip() for value in headers.get_list("Vary") for v in value.split(",")]
    if "*" in existing or any(v.lower() == "accept-encoding" for v in existing):
        return
    if "Vary" in headers:
        headers["Vary"] = ", ".join([*[v for v in existing if v], "Accept-Encoding"])
    else:
        headers["Vary"] = "Accept-Encoding"


class GzipTransform:
    """Output transform installed by ``compress_response=True`` (alias ``gzip=True``)."""

    def __init__(self, min_length: int = DEFAULT_MIN_LENGTH, level: int = 6) -> None:
        if min_length < 0:
            raise ValueError(f"compress_min_length must be >= 0, got {min_length}")
        self.min_length = min_length
        self.level = level

    def __call__(
        self, request: HTTPServerRequest, status: int, headers: HTTPHeaders, body: bytes
    ) -> bytes:
        # 1xx, 204 and 304 have no content; 206 ranges count uncompressed bytes.
        if status < 200 or status in (204, 206, 304):
            return body
        if "Content-Encoding" in headers or not is_compressible(headers.get("Content-Type", "")):
            return body
        # The representation now depends on Accept-Encoding, whether or not we compress.
        _add_vary(headers)
        if request.method == "HEAD" or len(body) < self.min_length:
            return body
        if not accepts_gzip(request.headers.get("Accept-Encoding", "")):
            return body
        compressed = gzip.compress(body, compresslevel=self.level, mtime=0)
        headers["Content-Encoding"] = "gzip"
        headers["Content-Length"] = str(len(compressed))
        etag = headers.get("Etag")
        if etag and not etag.startswith("W/"):
            # RFC 9110 §8.8.3: a strong ETag names exact bytes; the gzip bytes differ.
            headers["Etag"] = "W/" + etag
        return compressed


def transforms_from_settings(settings: dict[str, Any]) -> list[GzipTransform]:
    """The transforms ``compress_response`` / ``gzip`` ask for."""
    if settings.get("compress_response") or settings.get("gzip"):
        return [GzipTransform(int(settings.get("compress_min_length", DEFAULT_MIN_LENGTH)))]
    return []


class BodyTooLarge(ValueError):
    """The decompressed body would exceed the size limit."""


def gunzip_bounded(data: bytes, limit: int) -> bytes:
    """Decompress (possibly multi-member) gzip ``data``, producing at most ``limit`` bytes.

    Raises :class:`BodyTooLarge` past the limit and ``ValueError`` for corrupt data.
    """
    out: list[bytes] = []
    produced = 0
    while True:
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            chunk = decompressor.decompress(data, limit - produced + 1)
        except zlib.error as err:
            raise ValueError(f"corrupt gzip body: {err}") from None
        produced += len(chunk)
        if produced > limit or decompressor.unconsumed_tail:
            raise BodyTooLarge(f"decompressed body exceeds {limit} bytes")
        if not decompressor.eof:
            raise ValueError("truncated gzip body")
        out.append(chunk)
        data = decompressor.unused_data
        if not data:
            return b"".join(out)


def decompress_request_body(settings: dict[str, Any], request: HTTPServerRequest) -> int | None:
    """Gunzip ``request.body`` in place when enabled; the error status, or None if fine."""
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in ("gzip", "x-gzip"):
        return None
    context = getattr(request.connection, "context", None)
    if not (settings.get("decompress_request") or getattr(context, "decompress_request", False)):
        return None
    limit = int(getattr(context, "max_body_size", None) or _DEFAULT_MAX_BODY)
    try:
        request.body = gunzip_bounded(request.body, limit)
    except BodyTooLarge:
        return 413
    except ValueError:
        return 400
    # Like Tornado: later code sees a plain body, and can still tell what was sent.
    del request.headers["Content-Encoding"]
    request.headers["X-Consumed-Content-Encoding"] = encoding
    request.headers["Content-Length"] = str(len(request.body))
    return None
