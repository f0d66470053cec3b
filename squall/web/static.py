"""``StaticFileHandler``: serve files from a directory, safely and cacheably.

Security rules, all enforced before the filesystem is touched:

- the URL path (already percent-decoded by routing, so ``%2e%2e`` is ``..`` and
  ``%2f`` is ``/`` here) may not contain ``..`` or ``.`` segments, empty segments,
  backslashes, NUL bytes or a leading ``/`` -- any of these is a 403;
- the resolved path (symlinks followed) must stay inside the resolved root, else 403;
- the only redirect issued (a directory requested without its trailing slash, when
  ``default_filename`` is set) carries a ``./name/`` *relative* Location, which a
  client can only resolve against the same host: ``//evil.example`` style paths can
  never turn into a redirect to another host.

Files are streamed in 64 KiB chunks with ``await self.flush()`` between them, so a
slow client holds one chunk of memory, not the file. ``loop.sendfile`` is not used:
it would bypass the response framing (Content-Length accounting) of the connection
and is unavailable on uvloop and TLS transports, so it cannot be used cleanly here.

``Range: bytes=a-b`` (one range) is answered 206 with ``Content-Range``; a range
starting past the end is 416. A request for several ranges is answered with the
whole file (200), which RFC 9110 §14.2 allows.
"""

from __future__ import annotations

import datetime
import email.utils
import hashlib
import mimetypes
import os
import re
import stat
import threading
from typing import Any, ClassVar
from urllib.parse import quote, unquote

from squall.web.errors import HTTPError
from squall.web.handler import RequestHandler

__all__ = ["StaticFileHandler", "static_rules"]

_CHUNK_SIZE = 64 * 1024
_TEXT_TYPES = frozenset((
    "application/javascript", "application/json", "application/xml", "image/svg+xml",
    "application/xhtml+xml", "application/manifest+json",
))


def static_rules(settings: dict[str, Any]) -> list[tuple[str, type, dict[str, Any]]]:
    """The URL rules the ``static_path`` setting adds (prefix, favicon, robots)."""
    path = settings.get("static_path")
    if not path:
        return []
    prefix = settings.get("static_url_prefix", "/static/")
    handler_class = settings.get("static_handler_class", StaticFileHandler)
    args = {"path": path, **settings.get("static_handler_args", {})}
    return [
        (re.escape(prefix) + r"(.*)", handler_class, args),
        (r"/(favicon\.ico)", handler_class, args),
        (r"/(robots\.txt)", handler_class, args),
    ]


class StaticFileHandler(RequestHandler):
    """Serves the files under ``path``; ``default_filename`` names a directory's index.

    URLs made by :meth:`make_static_url` carry ``?v=<content hash>`` and are
    served with a one-year ``Cache-Control``; with ``debug`` nothing is cached.
    """

    CACHE_MAX_AGE = 86400 * 365
    _static_hashes: ClassVar[dict[str, str | None]] = {}
    _lock = threading.Lock()

    def initialize(  # type: ignore[override]
        self, path: str, default_filename: str | None = None
    ) -> None:
        self.root = path
        self.default_filename = default_filename
        self.path: str | None = None
        self.absolute_path: str | None = None
        self.modified: datetime.datetime | None = None
        self._stat: os.stat_result | None = None

    async def head(self, path: str) -> None:
        await self.get(path, include_body=False)

    async def get(self, path: str, include_body: bool = True) -> None:
        self.path = self.parse_url_path(path)
        absolute_path = self.get_absolute_path(self.root, self.path)
        self.absolute_path = self.validate_absolute_path(self.root, absolute_path)
        if self.absolute_path is None:
            return
        st = self._stat_file()
        self.modified = datetime.datetime.fromtimestamp(int(st.st_mtime), datetime.UTC)
        self.set_headers()
        if self.should_return_304():
            self.set_status(304)
            return
        size = st.st_size
        start, end = 0, size
        range_header = self.request.headers.get("Range")
        if range_header and self._if_range_matches():
            parsed = _parse_range(range_header, size)
            if isinstance(parsed, str):
                self.set_status(416)
                self.set_header("Content-Type", "text/plain")
                self.set_header("Content-Range", f"bytes */{size}")
                return
            if parsed is not None:
                start, end = parsed
                self.set_status(206)
                self.set_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        self.set_header("Content-Length", end - start)
        if not include_body:
            return
        await self._send(self.absolute_path, start, end)

    async def _send(self, absolute_path: str, start: int, end: int) -> None:
        remaining = end - start
        with open(absolute_path, "rb") as file:
            file.seek(start)
            if remaining <= _CHUNK_SIZE:
                # PERF: small files go out as one whole-body write (and through transforms).
                self.write(file.read(remaining))
                return
            while remaining > 0:
                chunk = file.read(min(_CHUNK_SIZE, remaining))
                if not chunk:
                    raise HTTPError(500, "file %s shrank while being sent", absolute_path)
                remaining -= len(chunk)
                self.write(chunk)
                await self.flush()

    def _stat_file(self) -> os.stat_result:
        if self._stat is None:
            if self.absolute_path is None:
                raise RuntimeError("_stat_file() before validate_absolute_path()")
            self._stat = os.stat(self.absolute_path)
        return self._stat

    def _if_range_matches(self) -> bool:
        # RFC 9110 §13.1.5: a stale If-Range means "send the whole representation".
        if_range = self.request.headers.get("If-Range")
        return if_range is None or if_range == self._headers.get("Etag")

    # -- headers ------------------------------------------------------------

    def compute_etag(self) -> str | None:
        if self.absolute_path is None:
            return None
        version = self._get_cached_version(self.absolute_path, self.settings)
        return None if version is None else f'"{version}"'

    def set_headers(self) -> None:
        """Set ETag, Last-Modified, Content-Type, Accept-Ranges and caching headers."""
        self.set_header("Accept-Ranges", "bytes")
        self.set_etag_header()
        if self.modified is not None:
            self.set_header("Last-Modified", self.modified)
        self.set_header("Content-Type", self.get_content_type())
        cache_time = self.get_cache_time(self.path or "", self.modified, self.get_content_type())
        if self.settings.get("debug"):
            self.set_header("Cache-Control", "no-cache")
        elif cache_time > 0:
            self.set_header("Cache-Control", f"max-age={cache_time}")
            self.set_header("Expires", datetime.datetime.now(datetime.UTC)
                            + datetime.timedelta(seconds=cache_time))

    def should_return_304(self) -> bool:
        """Whether the client's copy is current (If-None-Match, else If-Modified-Since)."""
        # RFC 9110 §13.2.2: If-None-Match takes precedence over If-Modified-Since.
        if self.request.headers.get("If-None-Match"):
            return self.check_etag_header()
        since = self.request.headers.get("If-Modified-Since")
        if since and self.modified is not None:
            try:
                date = email.utils.parsedate_to_datetime(since)
            except (TypeError, ValueError):
                return False
            if date.tzinfo is None:
                date = date.replace(tzinfo=datetime.UTC)
            return date >= self.modified
        return False

    def get_content_type(self) -> str:
        """The file's MIME type, with ``charset=utf-8`` for text."""
        if self.absolute_path is None:
            return "application/octet-stream"
        mime_type, encoding = mimetypes.guess_type(self.absolute_path)
        if encoding == "gzip":
            return "application/gzip"
        if encoding is not None:
            return "application/octet-stream"
        if mime_type is None:
            return "application/octet-stream"
        if mime_type.startswith("text/") or mime_type in _TEXT_TYPES:
            return f"{mime_type}; charset=utf-8"
        return mime_type

    def get_cache_time(
        self, path: str, modified: datetime.datetime | None, mime_type: str
    ) -> int:
        """Seconds clients may cache: a year for versioned (``?v=``) URLs, else 0."""
        return self.CACHE_MAX_AGE if "v" in self.request.query_arguments else 0

    # -- paths --------------------------------------------------------------

    def parse_url_path(self, url_path: str) -> str:
        """Turn the (decoded) URL path into a relative filesystem path; 403 if unsafe."""
        if "\x00" in url_path or "\\" in url_path or url_path.startswith("/"):
            raise HTTPError(403, "unsafe static path %r", url_path)
        segments = url_path.split("/")
        # An empty last segment is a directory's trailing slash; elsewhere it is "//".
        inner = segments[:-1] if segments[-1] == "" else segments
        if any(s in ("", ".", "..") for s in inner):
            raise HTTPError(403, "unsafe static path %r", url_path)
        if os.sep != "/":
            url_path = url_path.replace("/", os.sep)
        return url_path

    @classmethod
    def get_absolute_path(cls, root: str, path: str) -> str:
        """The filesystem path for ``path`` under ``root`` (not yet validated)."""
        return os.path.abspath(os.path.join(root, path))

    def validate_absolute_path(self, root: str, absolute_path: str) -> str | None:
        """Check ``absolute_path`` is a file inside ``root``; return it or None if handled.

        Raises 403 outside the root (symlinks resolved), 404 when missing; for a
        directory it serves ``default_filename`` or redirects to add the slash.
        """
        real_root = os.path.realpath(root)
        real_path = os.path.realpath(absolute_path)
        if os.path.commonpath([real_root, real_path]) != real_root:
            raise HTTPError(403, "%s is not in root static directory", self.path)
        if os.path.isdir(real_path) and self.default_filename is not None:
            if not self.request.path.endswith("/"):
                # A relative "./name/" reference resolves on the same host only.
                last = self.request.path.rstrip("/").rsplit("/", 1)[-1]
                self.set_status(301)
                self.set_header("Location", "./" + quote(unquote(last)) + "/")
                return None
            real_path = os.path.join(real_path, self.default_filename)
            absolute_path = os.path.join(absolute_path, self.default_filename)
        if not os.path.exists(real_path):
            raise HTTPError(404)
        if not os.path.isfile(real_path) or not stat.S_ISREG(os.stat(real_path).st_mode):
            raise HTTPError(403, "%s is not a file", self.path)
        return real_path

    # -- versioned URLs -----------------------------------------------------

    @classmethod
    def make_static_url(
        cls, settings: dict[str, Any], path: str, include_version: bool = True
    ) -> str:
        """``static_url_prefix`` + ``path``, with ``?v=<hash>`` when the file exists."""
        url = str(settings.get("static_url_prefix", "/static/")) + quote(path)
        if not include_version:
            return url
        version = cls.get_version(settings, path)
        return url if version is None else f"{url}?v={version}"

    @classmethod
    def get_version(cls, settings: dict[str, Any], path: str) -> str | None:
        """Content hash of static file ``path``, or None if it cannot be read."""
        static_path = settings.get("static_path")
        if static_path is None:
            raise RuntimeError("static_url() needs the 'static_path' setting")
        return cls._get_cached_version(cls.get_absolute_path(static_path, path), settings)

    @classmethod
    def _get_cached_version(cls, absolute_path: str, settings: dict[str, Any]) -> str | None:
        if not settings.get("static_hash_cache", True):
            return cls.get_content_version(absolute_path)
        with cls._lock:
            if absolute_path not in cls._static_hashes:
                cls._static_hashes[absolute_path] = cls.get_content_version(absolute_path)
            return cls._static_hashes[absolute_path]

    @classmethod
    def get_content_version(cls, absolute_path: str) -> str | None:
        """A hash of the file's content (None when it is missing or unreadable)."""
        hasher = hashlib.sha256()
        try:
            with open(absolute_path, "rb") as file:
                for block in iter(lambda: file.read(_CHUNK_SIZE), b""):
                    hasher.update(block)
        except OSError:
            return None
        return hasher.hexdigest()[:32]

    @classmethod
    def reset(cls) -> None:
        """Forget cached content hashes (after deploying new files in place)."""
        with cls._lock:
            cls._static_hashes.clear()


def _parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """``(start, end_exclusive)``, ``"unsatisfiable"``, or None to send everything."""
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None  # other units and multiple ranges: the whole file (RFC 9110 §14.2)
    first, dash, last = spec.strip().partition("-")
    if not dash:
        return None
    try:
        if first == "":
            suffix = int(last)
            if suffix <= 0:
                return "unsatisfiable" if suffix == 0 else None
            return (max(size - suffix, 0), size) if size else "unsatisfiable"
        start = int(first)
        end = int(last) + 1 if last else max(size, start + 1)
    except ValueError:
        return None  # a syntactically invalid Range is ignored
    if start < 0 or end <= start:
        return None  # "5-2" is not a valid range: ignored
    if start >= size:
        return "unsatisfiable"  # RFC 9110 §14.1.1: first-pos beyond the representation
    return start, min(end, size)
