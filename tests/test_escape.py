from __future__ import annotations

import json

import pytest

from squall import escape
from squall.escape import (
    json_decode,
    json_encode,
    linkify,
    native_str,
    parse_qs_bytes,
    recursive_unicode,
    squeeze,
    to_basestring,
    to_unicode,
    url_escape,
    url_unescape,
    utf8,
    xhtml_escape,
    xhtml_unescape,
)

# --- str / bytes coercion ---------------------------------------------------


def test_utf8_encodes_str_and_passes_bytes_and_none_through() -> None:
    assert utf8("caf\u00e9") == b"caf\xc3\xa9"
    assert utf8(b"raw\xff") == b"raw\xff"
    assert utf8(None) is None


def test_coercion_return_types_follow_the_argument_type() -> None:
    # Checked by mypy --strict: no Optional leaks out for str/bytes arguments.
    encoded: bytes = utf8("x")
    decoded: str = to_unicode(b"x")
    raw: bytes = url_unescape("%FF", encoding=None)
    text: str = url_unescape("x")
    assert (encoded, decoded, raw, text) == (b"x", "x", b"\xff", "x")


def test_utf8_rejects_other_types_naming_the_type() -> None:
    with pytest.raises(TypeError, match="got int"):
        utf8(42)  # type: ignore[call-overload]


def test_to_unicode_decodes_bytes_and_passes_str_and_none_through() -> None:
    assert to_unicode(b"caf\xc3\xa9") == "caf\u00e9"
    assert to_unicode("x") == "x"
    assert to_unicode(None) is None
    with pytest.raises(TypeError, match="got list"):
        to_unicode([])  # type: ignore[call-overload]


def test_tornado_aliases_are_to_unicode() -> None:
    assert native_str is to_unicode
    assert to_basestring is to_unicode
    assert escape._unicode is to_unicode


def test_recursive_unicode_decodes_nested_containers() -> None:
    data = {b"a": [b"1", b"2"], "b": (b"x", 3), "c": None}
    assert recursive_unicode(data) == {"a": ["1", "2"], "b": ("x", 3), "c": None}


# --- HTML --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("<script>", "&lt;script&gt;"),
        ("a & b", "a &amp; b"),
        ('say "hi"', "say &quot;hi&quot;"),
        ("it's", "it&#x27;s"),
        (b"<b>", "&lt;b&gt;"),
        ("plain", "plain"),
    ],
)
def test_xhtml_escape_escapes_the_five_special_characters(raw: str | bytes, escaped: str) -> None:
    assert xhtml_escape(raw) == escaped


@pytest.mark.parametrize(
    ("escaped", "raw"),
    [
        ("&lt;a&gt; &amp; &quot;b&quot;", '<a> & "b"'),
        ("&#39;&#x27;&#X27;", "'''"),
        ("&eacute;&copy;", "\u00e9\u00a9"),
        ("&#233;", "\u00e9"),
        ("&notanentity; &amp &#99999999;", "&notanentity; &amp &#99999999;"),
    ],
)
def test_xhtml_unescape_handles_named_and_numeric_entities(escaped: str, raw: str) -> None:
    assert xhtml_unescape(escaped) == raw


def test_xhtml_unescape_reverses_xhtml_escape() -> None:
    text = "<p class='x'>Tom & \"Jerry\"</p>"
    assert xhtml_unescape(xhtml_escape(text)) == text


# --- URLs --------------------------------------------------------------------


def test_url_escape_uses_plus_for_spaces_by_default() -> None:
    assert url_escape("a b/c&d") == "a+b%2Fc%26d"


def test_url_escape_without_plus_keeps_slashes_and_uses_percent_20() -> None:
    assert url_escape("a b/c", plus=False) == "a%20b/c"


def test_url_escape_encodes_unicode_as_utf8() -> None:
    assert url_escape("\u00e9") == "%C3%A9"
    assert url_escape(b"\xc3\xa9") == "%C3%A9"


def test_url_unescape_decodes_plus_as_space_by_default() -> None:
    assert url_unescape("a+b%2Fc") == "a b/c"
    assert url_unescape("a+b", plus=False) == "a+b"


def test_url_unescape_with_no_encoding_returns_bytes() -> None:
    assert url_unescape("%FF+x", encoding=None) == b"\xff x"
    assert url_unescape(b"%FF+x", encoding=None, plus=False) == b"\xff+x"


def test_url_unescape_reverses_url_escape() -> None:
    for text in ["a b", "x/y?z=1&w=2", "\u00e9\u4e2d"]:
        assert url_unescape(url_escape(text)) == text
        assert url_unescape(url_escape(text, plus=False), plus=False) == text


def test_parse_qs_bytes_keeps_values_as_raw_bytes() -> None:
    assert parse_qs_bytes(b"a=1&a=%C3%A9&b=%FF&empty=") == {
        "a": [b"1", b"\xc3\xa9"],
        "b": [b"\xff"],
    }
    assert parse_qs_bytes("empty=", keep_blank_values=True) == {"empty": [b""]}


# --- JSON --------------------------------------------------------------------


def test_json_encode_cannot_close_a_script_element() -> None:
    encoded = json_encode({"html": "</script><script>alert(1)</script>"})
    assert "</" not in encoded
    assert json.loads(encoded) == {"html": "</script><script>alert(1)</script>"}


class _Unserialisable:
    pass


@pytest.mark.parametrize("value", [
    {"id": 123, "message": "Hello"}, "x</y", 1.5, float("nan"), float("-inf"), None, True,
    [1, {"a": None, 2: True, 1.5: "f"}], {"\u00e9": "\u00fc\u2028\U0001f600"}, (1, 2), 10**30,
])
def test_json_encode_writes_what_json_dumps_writes(value: object) -> None:
    assert json_encode(value) == json.dumps(value).replace("</", "<\\/")


@pytest.mark.parametrize("value", [{(1, 2): 3}, {"a": _Unserialisable()}, {"a": {1, 2}}])
def test_json_encode_raises_what_json_dumps_raises(value: object) -> None:
    with pytest.raises(TypeError) as expected:
        json.dumps(value)
    with pytest.raises(TypeError) as got:
        json_encode(value)
    assert str(got.value) == str(expected.value)


def test_json_encode_still_detects_circular_references_and_recovers() -> None:
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference"):
        json_encode({"a": loop})
    with pytest.raises(TypeError):
        json_encode({"a": [_Unserialisable()]})
    assert json_encode({"a": [1]}) == '{"a": [1]}'


def test_json_decode_accepts_str_and_bytes() -> None:
    assert json_decode('{"a": [1, 2]}') == {"a": [1, 2]}
    assert json_decode(b'{"a": "\xc3\xa9"}') == {"a": "\u00e9"}


# --- squeeze -----------------------------------------------------------------


def test_squeeze_collapses_whitespace_runs_and_strips() -> None:
    assert squeeze("  a \t\n b\r\n\n c  ") == "a b c"


# --- linkify -----------------------------------------------------------------


def test_linkify_links_http_urls_and_escapes_surrounding_text() -> None:
    assert (
        linkify("<b> see http://example.com/a?x=1&y=2 now")
        == '&lt;b&gt; see <a href="http://example.com/a?x=1&amp;y=2">'
        "http://example.com/a?x=1&amp;y=2</a> now"
    )


def test_linkify_links_bare_www_with_http_unless_protocol_required() -> None:
    assert linkify("www.example.com") == '<a href="http://www.example.com">www.example.com</a>'
    assert linkify("www.example.com", require_protocol=True) == "www.example.com"


def test_linkify_leaves_trailing_punctuation_and_unbalanced_parens_out() -> None:
    assert linkify("Go to http://example.com.") == (
        'Go to <a href="http://example.com">http://example.com</a>.'
    )
    assert linkify("(see http://example.com/a)") == (
        '(see <a href="http://example.com/a">http://example.com/a</a>)'
    )
    assert linkify("http://en.wikipedia.org/wiki/Foo_(bar)") == (
        '<a href="http://en.wikipedia.org/wiki/Foo_(bar)">'
        "http://en.wikipedia.org/wiki/Foo_(bar)</a>"
    )


def test_linkify_adds_extra_params_from_a_string() -> None:
    assert linkify("http://a.com", extra_params=' rel="nofollow" ') == (
        '<a href="http://a.com" rel="nofollow">http://a.com</a>'
    )


def test_linkify_adds_extra_params_from_a_function_of_the_url() -> None:
    def params(url: str) -> str:
        return "" if url.startswith("http://mine.org") else 'rel="nofollow"'

    assert linkify("http://mine.org/x http://other.org/y", extra_params=params) == (
        '<a href="http://mine.org/x">http://mine.org/x</a> '
        '<a href="http://other.org/y" rel="nofollow">http://other.org/y</a>'
    )


def test_linkify_only_links_permitted_protocols() -> None:
    assert linkify("ftp://files.org/f") == "ftp://files.org/f"
    assert linkify("ftp://files.org/f", permitted_protocols=["ftp"]) == (
        '<a href="ftp://files.org/f">ftp://files.org/f</a>'
    )
    assert linkify("HTTPS://A.COM") == '<a href="HTTPS://A.COM">HTTPS://A.COM</a>'


@pytest.mark.parametrize(
    "text",
    [
        "javascript://%0Aalert(1)",
        "JavaScript://comment%0Aalert(document.cookie)",
        "javascript:alert(1)",
        "data://text/html,<script>alert(1)</script>",
    ],
)
def test_linkify_never_produces_script_links_even_when_permitted(text: str) -> None:
    html = linkify(text, permitted_protocols=["http", "javascript", "data", "JAVASCRIPT"])
    assert "<a" not in html
    assert "<script" not in html


def test_linkify_cannot_be_used_to_inject_attributes() -> None:
    html = linkify('http://a.com/"onmouseover="alert(1)')
    assert html == '<a href="http://a.com/">http://a.com/</a>&quot;onmouseover=&quot;alert(1)'


def test_linkify_shortens_long_urls_and_keeps_full_url_in_title() -> None:
    url = "http://www.example.com/documentation/chapter-one/section-two.html?x=1"
    html = linkify(url, shorten=True)
    assert html == (
        f'<a href="{xhtml_escape(url)}" title="{xhtml_escape(url)}">'
        "http://www.example.com/document...</a>"
    )


def test_linkify_does_not_shorten_short_urls() -> None:
    assert linkify("http://a.com/x", shorten=True) == '<a href="http://a.com/x">http://a.com/x</a>'


@pytest.mark.parametrize("text", ["http://", "http://.", "see https:// here", "www."])
def test_linkify_ignores_urls_without_a_host(text: str) -> None:
    assert linkify(text) == xhtml_escape(text)


def test_linkify_accepts_bytes_and_plain_text() -> None:
    assert linkify(b"no links & <here>") == "no links &amp; &lt;here&gt;"
