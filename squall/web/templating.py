"""Templates for request handlers: ``self.render(name, **kw)`` and friends.

The application keeps one :class:`~squall.template.TemplateLoader` per template
directory (``template_path`` setting, or :meth:`TemplateMixin.get_template_path`),
so templates compile once per process. With ``debug=True`` (or
``compiled_template_cache=False``) loaders check file times and recompile edited
templates. A ``template_loader`` setting replaces all of this with any object
that has ``render_bytes(name, **namespace) -> bytes``.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, Protocol

from markupsafe import Markup

from squall.template import HELPERS, TemplateLoader

if TYPE_CHECKING:
    from squall.http.request import HTTPServerRequest
    from squall.web.application import Application


class TemplateRenderer(Protocol):
    """What the ``template_loader`` setting must provide."""

    def render_bytes(self, name: str, /, **namespace: Any) -> bytes: ...


def template_loader_for(application: Application, template_path: str) -> TemplateRenderer:
    """The application's loader for ``template_path``, created on first use."""
    custom = application.settings.get("template_loader")
    if custom is not None:
        loader: TemplateRenderer = custom
        return loader
    cache: dict[str, TemplateRenderer] = application.template_loaders
    loader_for_path = cache.get(template_path)
    if loader_for_path is None:
        settings = application.settings
        loader_for_path = TemplateLoader(
            template_path,
            autoescape=settings.get("autoescape", True) not in (None, False),
            auto_reload=not settings.get("compiled_template_cache", True),
        )
        cache[template_path] = loader_for_path
    return loader_for_path


class TemplateMixin:
    """Rendering methods mixed into :class:`~squall.web.RequestHandler`."""

    if TYPE_CHECKING:
        application: Application
        request: HTTPServerRequest

        @property
        def settings(self) -> dict[str, Any]: ...
        @property
        def current_user(self) -> Any: ...
        def xsrf_form_html(self) -> str: ...
        def reverse_url(self, name: str, *args: Any) -> str: ...
        def finish(self, chunk: str | bytes | dict[str, Any] | None = None) -> Awaitable[None]: ...

    def get_template_path(self) -> str | None:
        """Directory templates load from; override for per-handler templates."""
        path = self.settings.get("template_path")
        return None if path is None else str(path)

    def get_template_namespace(self) -> dict[str, Any]:
        """Names every template rendered by this handler can use.

        Override (calling ``super()``) to add your own; keyword arguments of
        :meth:`render` take precedence over these.
        """
        namespace: dict[str, Any] = dict(HELPERS)
        namespace.update(
            handler=self,
            request=self.request,
            current_user=self.current_user,
            static_url=self.static_url,
            # The form field is HTML we built; autoescaping must not escape it again.
            xsrf_form_html=lambda: Markup(self.xsrf_form_html()),
            reverse_url=self.reverse_url,
            escape=HELPERS["xhtml_escape"],
            settings=self.settings,
        )
        return namespace

    def render_string(self, template_name: str, **kwargs: Any) -> bytes:
        """Render ``template_name`` with the handler namespace plus ``kwargs``."""
        loader: TemplateRenderer
        if self.settings.get("template_loader") is not None:
            loader = self.settings["template_loader"]
        else:
            path = self.get_template_path()
            if path is None:
                raise RuntimeError(
                    f"cannot render {template_name!r}: set the 'template_path' setting "
                    "(or 'template_loader', or override get_template_path())"
                )
            loader = template_loader_for(self.application, path)
        namespace = self.get_template_namespace()
        namespace.update(kwargs)
        return loader.render_bytes(template_name, **namespace)

    def render(self, template_name: str, **kwargs: Any) -> Awaitable[None]:
        """Render ``template_name`` and finish the response with it."""
        return self.finish(self.render_string(template_name, **kwargs))

    def static_url(self, path: str, include_host: bool | None = None, **kwargs: Any) -> str:
        """URL of static file ``path`` with a content-hash ``?v=`` for long caching.

        Needs the ``static_path`` setting (or a ``static_url_prefix`` and a
        ``static_handler_class`` that do not). ``include_host`` (default: the
        handler's ``include_host`` attribute, else False) makes the URL absolute.
        """
        from squall.web.static import StaticFileHandler

        handler_class = self.settings.get("static_handler_class", StaticFileHandler)
        relative: str = handler_class.make_static_url(self.settings, path, **kwargs)
        if include_host is None:
            include_host = bool(getattr(self, "include_host", False))
        if include_host:
            return f"{self.request.protocol}://{self.request.host}{relative}"
        return relative
