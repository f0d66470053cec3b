"""Escaping and unescaping for HTML, URLs and JSON, plus string/bytes coercion.

The names and behaviour follow ``tornado.escape`` so code written for Tornado keeps
working. Everything here is pure and synchronous; the web layer and the templates
import it, and it imports nothing from them.
"""

from __future__ import annotations

import html
import html.entities
import json
import re
import sys
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any, overload

__all__ = [
    "json_decode",
    "json_encode",
    "linkify",
    "native_str",
    "parse_qs_bytes",
    "recursive_unicode",
    "squeeze",
    "to_basestring",
    "to_unicode",
    "url_escape",
    "url_unescape",
    "utf8",
    "xhtml_escape",
    "xhtml_unescape",
]


# ---------------------------------------------------------------------------
# str / bytes coercion
# ---------------------------------------------------------------------------


@overload
def utf8(value: bytes) -> bytes: ...
@overload
def utf8(value: str) -> bytes: ...
@overload
def utf8(value: None) -> None: ...
def utf8(value: str | bytes | None) -> bytes | None:
    """Return ``value`` as UTF-8 bytes; bytes and ``None`` pass through unchanged.

    Any other type is a programming error, so it raises ``TypeError`` rather than
    guessing a representation with ``str()``.
    """
    if value is None or isinstance(value, bytes):
        return value
    if not isinstance(value, str):
        raise TypeError(f"expected bytes, str or None; got {type(value).__name__}")
    return value.encode("utf-8")


@overload
def to_unicode(value: str) -> str: ...
@overload
def to_unicode(value: bytes) -> str: ...
@overload
def to_unicode(value: None) -> None: ...
def to_unicode(value: str | bytes | None) -> str | None:
    """Return ``value`` as ``str``, decoding bytes as UTF-8; ``None`` passes through."""
    if value is None or isinstance(value, str):
        return value
    if not isinstance(value, bytes):
        raise TypeError(f"expected bytes, str or None; got {type(value).__name__}")
    return value.decode("utf-8")


# Tornado's historical aliases: on Python 3 the native string type is ``str``.
_unicode = to_unicode
native_str = to_unicode
to_basestring = to_unicode


def recursive_unicode(obj: Any) -> Any:
    """Decode every bytes object inside nested dicts, lists and tuples to ``str``.

    Useful for turning ``request.arguments`` (lists of bytes) into something JSON can
    serialise. Other values are returned as they are.
    """
    if isinstance(obj, dict):
        return {recursive_unicode(k): recursive_unicode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [recursive_unicode(item) for item in obj]
    if isinstance(obj, tuple):
        return tuple(recursive_unicode(item) for item in obj)
    if isinstance(obj, bytes):
        return obj.decode("utf-8")
    return obj


# ---------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------


def xhtml_escape(value: str | bytes) -> str:
    """Escape ``& < > " '`` so the result is safe in element content and quoted attributes.

    The single quote becomes ``&#x27;`` (as in Tornado and :func:`html.escape`).
    """
    return html.escape(to_unicode(value), quote=True)


_ENTITY = re.compile(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")


def _replace_entity(match: re.Match[str]) -> str:
    body = match.group(1)
    if body[0] != "#":
        return html.entities.html5.get(body + ";", match.group(0))
    codepoint = int(body[2:], 16) if body[1] in "xX" else int(body[1:])
    if codepoint > sys.maxunicode:
        return match.group(0)
    return chr(codepoint)


def xhtml_unescape(value: str | bytes) -> str:
    """Replace named (``&amp;``) and numeric (``&#39;``, ``&#x27;``) entities by characters.

    Only complete entities, ending in ``;``, are replaced; anything else that starts with
    ``&`` is left as written, so unescaping text that was never escaped is harmless.
    """
    return _ENTITY.sub(_replace_entity, to_unicode(value))


# ---------------------------------------------------------------------------
# URLs
# ---------------------------------------------------------------------------


def url_escape(value: str | bytes, plus: bool = True) -> str:
    """Percent-encode ``value`` (UTF-8) for use in a URL.

    With ``plus=True`` (the default, for query strings) spaces become ``+`` and ``/`` is
    encoded; with ``plus=False`` (for path segments) spaces become ``%20`` and ``/`` is kept.
    """
    if plus:
        return urllib.parse.quote_plus(utf8(value))
    return urllib.parse.quote(utf8(value))


@overload
def url_unescape(value: str | bytes, encoding: None, plus: bool = True) -> bytes: ...
@overload
def url_unescape(value: str | bytes, encoding: str = "utf-8", plus: bool = True) -> str: ...
def url_unescape(
    value: str | bytes, encoding: str | None = "utf-8", plus: bool = True
) -> str | bytes:
    """Decode a percent-encoded ``value``.

    ``encoding=None`` returns raw bytes, for values that are not text. ``plus=True``
    turns ``+`` into a space (query strings); pass ``plus=False`` for path segments,
    where ``+`` is a literal plus.
    """
    text = to_unicode(value)
    if encoding is None:
        if plus:
            text = text.replace("+", " ")
        return urllib.parse.unquote_to_bytes(text)
    if plus:
        return urllib.parse.unquote_plus(text, encoding=encoding)
    return urllib.parse.unquote(text, encoding=encoding)


def parse_qs_bytes(
    qs: str | bytes, keep_blank_values: bool = False, strict_parsing: bool = False
) -> dict[str, list[bytes]]:
    """Parse a query string into ``{name: [raw bytes values]}``.

    Values stay bytes because their charset is unknown until the application decides
    (form data need not be UTF-8). Names are decoded as latin-1, which maps every byte
    to one character, as in Tornado.
    """
    text = qs.decode("latin1") if isinstance(qs, bytes) else qs
    parsed = urllib.parse.parse_qs(
        text, keep_blank_values, strict_parsing, encoding="latin1", errors="strict"
    )
    return {name: [value.encode("latin1") for value in values] for name, values in parsed.items()}


# ---------------------------------------------------------------------------
# JSON
# ---------------------------------------------------------------------------


def json_encode(value: Any) -> str:
    """Serialise ``value`` to JSON that is safe to embed in an HTML ``<script>`` block.

    ``</`` is written as ``<\\/`` (an equivalent JSON escape) so a string containing
    ``</script>`` cannot close the enclosing script element.
    """
    if _c_make_encoder is None:
        return json.dumps(value).replace("</", "<\\/")
    # PERF: json.dumps with default arguments, without its three Python frames
    # (dumps -> encode -> iterencode): the same C encoder, a fresh markers
    # dict per call as iterencode makes.
    encode = _c_make_encoder(
        {}, _DEFAULT_ENCODER.default, json.encoder.encode_basestring_ascii, None, ": ", ", ",
        False, False, True,
    )
    return "".join(encode(value, 0)).replace("</", "<\\/")


_c_make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
_DEFAULT_ENCODER = json.JSONEncoder()


def json_decode(value: str | bytes) -> Any:
    """Parse a JSON document given as ``str`` or UTF-8 ``bytes``."""
    return json.loads(value)


# ---------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------

_WHITESPACE_RUN = re.compile(r"[\x00-\x20]+")


def squeeze(value: str) -> str:
    """Collapse every run of whitespace (and control characters) to one space, and strip."""
    return _WHITESPACE_RUN.sub(" ", value).strip()


# A URL candidate starts with ``scheme://`` (one to three slashes) or ``www.`` at a word
# boundary (the host may not start with another slash, so ``http://`` alone is not a
# link) and runs until whitespace or a character that cannot appear unescaped in a
# URL written in prose. Trailing punctuation is trimmed afterwards (see _trim_url).
_URL_CANDIDATE = re.compile(
    r"\b(?:(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*):(?P<slashes>/{1,3})|www\.)"
    r"[^\s<>\"`{}|\\^/][^\s<>\"`{}|\\^]*"
)
_TRAILING_PUNCTUATION = ".,:;!?'*"
_CLOSERS = {")": "(", "]": "["}
# Schemes that execute code in the browser are never linked, whatever the caller permits.
_FORBIDDEN_SCHEMES = frozenset({"javascript", "vbscript", "data"})
_SHORTEN_AT = 30


def _trim_url(url: str) -> str:
    """Drop sentence punctuation and unbalanced closing brackets from the end of ``url``.

    ``(see http://x.org/a)`` links ``http://x.org/a``, while
    ``http://en.wikipedia.org/wiki/Foo_(bar)`` keeps its balanced parenthesis.
    """
    while url:
        last = url[-1]
        unbalanced = last in _CLOSERS and url.count(_CLOSERS[last]) < url.count(last)
        if last not in _TRAILING_PUNCTUATION and not unbalanced:
            break
        url = url[:-1]
    return url


def _shorten(url: str, scheme_prefix_len: int) -> str:
    """Return a display form of a long ``url``: host, a hint of the path, then ``...``."""
    if len(url) <= _SHORTEN_AT:
        return url
    rest = url[scheme_prefix_len:]
    host, _, path = rest.partition("/")
    short = url[:scheme_prefix_len] + host
    if path:
        # First eight characters of the first path segment, without query or extension.
        hint = path.split("/")[0][:8].split("?")[0].split(".")[0]
        short += "/" + hint
    if len(short) > _SHORTEN_AT * 1.5:
        short = short[:_SHORTEN_AT]
    short += "..."
    return url if len(short) >= len(url) else short


def linkify(
    text: str | bytes,
    shorten: bool = False,
    extra_params: str | Callable[[str], str] = "",
    require_protocol: bool = False,
    permitted_protocols: Iterable[str] = ("http", "https"),
) -> str:
    """Return ``text`` HTML-escaped, with the URLs in it turned into ``<a>`` links.

    The result is safe to insert into HTML as is: all text, including the link targets,
    is escaped. ``extra_params`` adds attributes to each link, either a fixed string
    (``'rel="nofollow" class="external"'``) or a function of the URL, so that only
    external links get ``rel="nofollow"``. ``www.example.com`` is linked as
    ``http://www.example.com`` unless ``require_protocol`` is true. Only schemes in
    ``permitted_protocols`` (case-insensitive) are linked, and ``javascript:``,
    ``vbscript:`` and ``data:`` never are. ``shorten`` abbreviates the visible text of
    long URLs and puts the full URL in the ``title`` attribute.
    """
    source = to_unicode(text)
    permitted = {p.lower() for p in permitted_protocols} - _FORBIDDEN_SCHEMES
    parts: list[str] = []
    position = 0
    for match in _URL_CANDIDATE.finditer(source):
        url = _trim_url(match.group(0))
        scheme = match.group("scheme")
        if scheme is None:
            if require_protocol:
                continue
            href = "http://" + url
            prefix_len = 0
        else:
            if scheme.lower() not in permitted:
                continue
            href = url
            prefix_len = len(scheme) + 1 + len(match.group("slashes"))
        if not url or len(url) == prefix_len:
            continue
        parts.append(xhtml_escape(source[position : match.start()]))
        params = extra_params(href) if callable(extra_params) else extra_params
        params = params.strip()
        attributes = f' href="{xhtml_escape(href)}"'
        if params:
            attributes += " " + params
        display = url
        if shorten:
            display = _shorten(url, prefix_len)
            if display != url:
                attributes += f' title="{xhtml_escape(href)}"'
        parts.append(f"<a{attributes}>{xhtml_escape(display)}</a>")
        position = match.start() + len(url)
    parts.append(xhtml_escape(source[position:]))
    return "".join(parts)
