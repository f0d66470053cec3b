from __future__ import annotations

import os
from pathlib import Path

import jinja2
import pytest
from markupsafe import Markup

from squall.template import TemplateLoader, TemplateNotFound


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    directory = tmp_path / "templates"
    directory.mkdir()
    return directory


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def rewrite_later(path: Path, text: str) -> None:
    """Change the file and move its mtime forward, as an editor saving it later would."""
    mtime = path.stat().st_mtime
    path.write_text(text, encoding="utf-8")
    os.utime(path, (mtime + 10, mtime + 10))


# --- escaping ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["page.html", "notes.txt", "app.js", "noextension"])
def test_autoescape_is_on_for_every_extension_by_default(templates: Path, name: str) -> None:
    write(templates, name, "{{ value }}")
    loader = TemplateLoader(templates)
    assert loader.render(name, value="<b>&'\"") == "&lt;b&gt;&amp;&#39;&#34;"


def test_autoescape_can_be_disabled(templates: Path) -> None:
    write(templates, "mail.txt", "Hello {{ name }}")
    loader = TemplateLoader(templates, autoescape=False)
    assert loader.render("mail.txt", name="<Bob>") == "Hello <Bob>"


def test_markup_values_are_not_escaped_twice(templates: Path) -> None:
    write(templates, "page.html", "{{ value }}")
    loader = TemplateLoader(templates)
    assert loader.render("page.html", value=Markup("<i>ok</i>")) == "<i>ok</i>"


def test_bytes_values_render_as_text(templates: Path) -> None:
    write(templates, "page.html", "{{ value }}")
    loader = TemplateLoader(templates)
    assert loader.render("page.html", value=b"caf\xc3\xa9 <x>") == "caf\u00e9 &lt;x&gt;"


# --- squall helpers --------------------------------------------------------------------


def test_linkify_filter_links_urls_and_is_not_escaped_again(templates: Path) -> None:
    write(templates, "c.html", "{{ comment|linkify }}|{{ linkify(comment, shorten=True) }}")
    loader = TemplateLoader(templates)
    html = loader.render("c.html", comment="<see> http://a.com")
    link = '&lt;see&gt; <a href="http://a.com">http://a.com</a>'
    assert html == f"{link}|{link}"


def test_linkify_filter_accepts_extra_params(templates: Path) -> None:
    write(templates, "c.html", "{{ c|linkify(extra_params='rel=\"nofollow\"') }}")
    loader = TemplateLoader(templates)
    assert loader.render("c.html", c="http://a.com") == (
        '<a href="http://a.com" rel="nofollow">http://a.com</a>'
    )


def test_xhtml_escape_helper_is_not_escaped_twice(templates: Path) -> None:
    write(templates, "e.html", "{{ xhtml_escape(v) }} {{ v|xhtml_escape }}")
    loader = TemplateLoader(templates)
    assert loader.render("e.html", v="a&b") == "a&amp;b a&amp;b"


def test_url_escape_and_squeeze_helpers(templates: Path) -> None:
    write(templates, "u.html", '<a href="/search?q={{ q|url_escape }}">{{ squeeze(t) }}</a>')
    loader = TemplateLoader(templates)
    assert loader.render("u.html", q="a b&c", t="  x \n y ") == (
        '<a href="/search?q=a+b%26c">x y</a>'
    )


def test_json_encode_is_safe_in_script_and_attribute(templates: Path) -> None:
    write(
        templates,
        "j.html",
        '<script>var d = {{ d|json_encode|safe }};</script><div data-d="{{ json_encode(d) }}">',
    )
    loader = TemplateLoader(templates)
    html = loader.render("j.html", d={"x": "</script>"})
    assert html == (
        '<script>var d = {"x": "<\\/script>"};</script>'
        '<div data-d="{&#34;x&#34;: &#34;&lt;\\/script&gt;&#34;}">'
    )


def test_extra_globals_and_filters_are_available(templates: Path) -> None:
    write(templates, "x.html", "{{ site }} {{ 'abc'|shout }}")
    loader = TemplateLoader(
        templates, extra_globals={"site": "Squall"}, extra_filters={"shout": str.upper}
    )
    assert loader.render("x.html") == "Squall ABC"


def test_strict_undefined_makes_misspelt_names_errors(templates: Path) -> None:
    write(templates, "x.html", "[{{ missing }}]")
    assert TemplateLoader(templates).render("x.html") == "[]"
    with pytest.raises(jinja2.UndefinedError, match="missing"):
        TemplateLoader(templates, strict_undefined=True).render("x.html")


def test_render_bytes_returns_utf8(templates: Path) -> None:
    write(templates, "x.html", "caf\u00e9 {{ n }}")
    assert TemplateLoader(templates).render_bytes("x.html", n=1) == b"caf\xc3\xa9 1"


def test_templates_can_extend_and_include_each_other(templates: Path) -> None:
    write(templates, "base.html", "<h1>{% block title %}{% endblock %}</h1>{% include 'f.html' %}")
    write(templates, "f.html", "<footer>{{ who }}</footer>")
    write(templates, "sub/page.html", "{% extends 'base.html' %}{% block title %}Hi{% endblock %}")
    loader = TemplateLoader(templates)
    assert loader.render("sub/page.html", who="<me>") == "<h1>Hi</h1><footer>&lt;me&gt;</footer>"


def test_search_path_may_list_several_directories(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    write(first, "x.html", "from a")
    write(second, "x.html", "from b")
    write(second, "y.html", "only b")
    loader = TemplateLoader([first, second])
    assert loader.render("x.html") == "from a"
    assert loader.render("y.html") == "only b"


# --- not found -------------------------------------------------------------------------------


def test_missing_template_error_names_the_template_and_search_path(templates: Path) -> None:
    loader = TemplateLoader(templates)
    with pytest.raises(TemplateNotFound) as info:
        loader.render("nope.html")
    assert str(info.value) == f"template 'nope.html' not found in {templates}"
    assert isinstance(info.value, jinja2.TemplateNotFound)


def test_missing_include_is_reported_by_name(templates: Path) -> None:
    write(templates, "page.html", "{% include 'gone.html' %}")
    with pytest.raises(TemplateNotFound, match=r"'gone.html' not found"):
        TemplateLoader(templates).render("page.html")


def test_missing_directory_is_pointed_out(tmp_path: Path) -> None:
    loader = TemplateLoader(tmp_path / "nowhere")
    with pytest.raises(TemplateNotFound, match=r"nowhere \(no such directory\)"):
        loader.render("x.html")


def test_templates_outside_the_directory_cannot_be_loaded(templates: Path) -> None:
    write(templates.parent, "secret.txt", "secret")
    with pytest.raises(TemplateNotFound):
        TemplateLoader(templates).render("../secret.txt")


def test_empty_search_path_is_rejected() -> None:
    with pytest.raises(ValueError, match="at least one directory"):
        TemplateLoader([])


# --- caching and reloading -----------------------------------------------------------------


def test_changed_template_is_reloaded_when_auto_reload(templates: Path) -> None:
    path = write(templates, "page.html", "v1")
    loader = TemplateLoader(templates, auto_reload=True)
    assert loader.render("page.html") == "v1"
    rewrite_later(path, "v2")
    assert loader.render("page.html") == "v2"


def test_changed_template_is_served_from_cache_without_auto_reload(templates: Path) -> None:
    path = write(templates, "page.html", "v1")
    loader = TemplateLoader(templates)
    assert loader.render("page.html") == "v1"
    rewrite_later(path, "v2")
    assert loader.render("page.html") == "v1"
    assert loader.load("page.html") is loader.load("page.html")


def test_reset_forgets_cached_templates(templates: Path) -> None:
    path = write(templates, "page.html", "v1")
    loader = TemplateLoader(templates)
    assert loader.render("page.html") == "v1"
    rewrite_later(path, "v2")
    loader.reset()
    assert loader.render("page.html") == "v2"
