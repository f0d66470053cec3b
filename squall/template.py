"""Jinja2 templates for squall, independent of the web layer.

:class:`TemplateLoader` owns one :class:`jinja2.Environment` reading from a template
directory. The web layer keeps one loader per template path and adds the per-request
names (``handler``, ``request``, ``current_user``, ``static_url``, ...) to the namespace
of each :meth:`TemplateLoader.render` call; everything here works without a server.

Autoescaping is on for every template, whatever its extension: a ``.txt`` or ``.js``
template that interpolates user data is as likely to end up in a browser as a ``.html``
one, and forgetting to escape is the expensive mistake. Pass ``autoescape=False`` for a
loader that only renders plain text (e-mails), or use ``{% autoescape false %}`` blocks.

The squall escape helpers are available both as globals and as filters::

    {{ xhtml_escape(value) }}   {{ value|url_escape }}   {{ comment|linkify }}
    <script>var data = {{ data|json_encode|safe }};</script>

``linkify`` and ``xhtml_escape`` return :class:`markupsafe.Markup` (they escape their input
themselves, so autoescaping must not escape them again). ``json_encode`` returns a plain
string, which autoescaping makes safe inside an HTML attribute; inside ``<script>`` mark
it ``|safe`` (its output cannot contain ``</``, so it cannot close the script element).
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jinja2
from markupsafe import Markup

from squall import escape

__all__ = ["TemplateLoader", "TemplateNotFound"]

PathLike = str | os.PathLike[str]


class TemplateNotFound(jinja2.TemplateNotFound):
    """No template of that name exists in the loader's search path.

    A subclass of :class:`jinja2.TemplateNotFound`, so code that catches Jinja's exception
    still works; the message names the template and every directory searched.
    """

    def __init__(self, name: str, search_path: Sequence[str]) -> None:
        places = ", ".join(
            path if os.path.isdir(path) else f"{path} (no such directory)" for path in search_path
        )
        super().__init__(name, message=f"template {name!r} not found in {places}")
        self.search_path = list(search_path)


def _finalize(value: Any) -> Any:
    # Handlers often hold bytes (request bodies, arguments); show them as text, not b'...'.
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def _text(value: Any) -> str | bytes:
    return value if isinstance(value, str | bytes) else str(value)


def _xhtml_escape(value: Any) -> Markup:
    return Markup(escape.xhtml_escape(_text(value)))


def _url_escape(value: Any, plus: bool = True) -> str:
    return escape.url_escape(_text(value), plus=plus)


def _squeeze(value: Any) -> str:
    return escape.squeeze(str(value))


def _linkify(value: Any, **kwargs: Any) -> Markup:
    return Markup(escape.linkify(_text(value), **kwargs))


def _missing_name(exc: jinja2.TemplateNotFound, default: str) -> str:
    return exc.name if isinstance(exc.name, str) else default


# Names every template can use, as in Tornado's template namespace.
HELPERS: Mapping[str, Callable[..., Any]] = {
    "xhtml_escape": _xhtml_escape,
    "url_escape": _url_escape,
    "json_encode": escape.json_encode,
    "squeeze": _squeeze,
    "linkify": _linkify,
}


class TemplateLoader:
    """Load, cache and render the Jinja2 templates found under ``template_path``.

    Compiled templates are cached by Jinja2 (up to ``cache_size``; ``-1`` for no limit).
    With ``auto_reload=True`` (debug mode) each render checks the file's modification
    time and recompiles a template that changed; without it a template is read from disk
    once, so editing files in production has no effect until :meth:`reset` or a restart.

    ``template_path`` may be one directory or a sequence searched in order. Extra
    globals and filters are added to (and may override) the squall helpers;
    ``strict_undefined=True`` makes a misspelt name an error instead of an empty string.
    ``environment_options`` are passed to :class:`jinja2.Environment` (``trim_blocks``,
    ``extensions``, ...).
    """

    def __init__(
        self,
        template_path: PathLike | Sequence[PathLike],
        *,
        autoescape: bool = True,
        auto_reload: bool = False,
        extra_globals: Mapping[str, Any] | None = None,
        extra_filters: Mapping[str, Callable[..., Any]] | None = None,
        strict_undefined: bool = False,
        cache_size: int = 400,
        encoding: str = "utf-8",
        environment_options: Mapping[str, Any] | None = None,
    ) -> None:
        paths = (
            [template_path] if isinstance(template_path, str | os.PathLike) else list(template_path)
        )
        if not paths:
            raise ValueError("template_path must name at least one directory")
        self.search_path: list[str] = [os.path.abspath(os.fspath(p)) for p in paths]
        self.auto_reload = auto_reload
        self.environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader(self.search_path, encoding=encoding),
            autoescape=autoescape,
            auto_reload=auto_reload,
            cache_size=cache_size,
            finalize=_finalize,
            undefined=jinja2.StrictUndefined if strict_undefined else jinja2.Undefined,
            **dict(environment_options or {}),
        )
        self.environment.globals.update(HELPERS)
        self.environment.globals["datetime"] = datetime
        self.environment.filters.update(HELPERS)
        if extra_globals:
            self.environment.globals.update(extra_globals)
        if extra_filters:
            self.environment.filters.update(extra_filters)

    def load(self, name: str) -> jinja2.Template:
        """Return the compiled template ``name`` (a path relative to the search path).

        Raises :class:`TemplateNotFound` if it does not exist or tries to leave the
        template directory (``../secret``).
        """
        try:
            return self.environment.get_template(name)
        except jinja2.TemplateNotFound as exc:
            raise TemplateNotFound(_missing_name(exc, name), self.search_path) from None

    def render(self, name: str, /, **namespace: Any) -> str:
        """Render template ``name`` with ``namespace`` and return the text."""
        template = self.load(name)
        try:
            return template.render(**namespace)
        except TemplateNotFound:
            raise
        except jinja2.TemplateNotFound as exc:
            # Raised by {% include %} / {% extends %} of a missing template.
            raise TemplateNotFound(_missing_name(exc, name), self.search_path) from None

    def render_bytes(self, name: str, /, **namespace: Any) -> bytes:
        """Render template ``name`` and return UTF-8 bytes, ready to write to a response."""
        return self.render(name, **namespace).encode("utf-8")

    def reset(self) -> None:
        """Forget every compiled template, so the next render reads files again."""
        cache = self.environment.cache
        if cache is not None:
            cache.clear()
