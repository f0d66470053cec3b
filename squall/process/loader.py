"""Find the application a worker serves from a command-line spec.

Accepted specs:

- ``MODULE:NAME``: attribute ``NAME`` of the importable module ``MODULE``;
  ``MODULE:make_app()`` calls the factory with no arguments.
- ``MODULE``: the module's ``app`` or ``application`` variable, else ``make_app()``.
- ``path/to/app.py``: the same lookup in that file, loaded under a private name.

Each worker imports the app itself after it starts, so a rolling restart picks up
new code; the supervisor process never imports it.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from types import ModuleType

_DEFAULT_NAMES = ("app", "application")
_DEFAULT_FACTORY = "make_app"


class AppLoadError(ValueError):
    """The spec names no loadable application; the message says which part failed."""


def _is_file_spec(spec: str) -> bool:
    return spec.endswith(".py") or (os.sep in spec and ":" not in spec)


def _import_file(path: str) -> ModuleType:
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise AppLoadError(f"app file {path!r} does not exist")
    name = "_squall_app_" + os.path.splitext(os.path.basename(path))[0].replace("-", "_")
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise AppLoadError(f"cannot load {path!r} as a Python module")
    module = importlib.util.module_from_spec(module_spec)
    # Let the file import its siblings, as `python path/to/app.py` would.
    directory = os.path.dirname(path)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise AppLoadError(
            f"cannot import app file {path!r}: {type(exc).__name__}: {exc}"
        ) from exc
    return module


def _import_module(name: str) -> ModuleType:
    # Like `python -m`, resolve modules against the working directory first.
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(name)
    except Exception as exc:
        raise AppLoadError(f"cannot import module {name!r}: {type(exc).__name__}: {exc}") from exc


def _pick(module: ModuleType, where: str, attr: str | None) -> object:
    if attr is not None:
        call = attr.endswith("()")
        name = attr[:-2] if call else attr
        if not name.isidentifier():
            raise AppLoadError(f"{attr!r} is not an attribute name (in {where})")
        if not hasattr(module, name):
            raise AppLoadError(f"{where} has no attribute {name!r}")
        obj = getattr(module, name)
        return _call_factory(obj, f"{where}:{attr}") if call else obj
    for name in _DEFAULT_NAMES:
        if hasattr(module, name):
            return getattr(module, name)
    if hasattr(module, _DEFAULT_FACTORY):
        return _call_factory(getattr(module, _DEFAULT_FACTORY), f"{where}:{_DEFAULT_FACTORY}()")
    raise AppLoadError(f"{where} defines none of app, application or make_app()")


def _call_factory(factory: object, where: str) -> object:
    if not callable(factory):
        raise AppLoadError(f"{where} is not callable")
    try:
        return factory()
    except Exception as exc:
        raise AppLoadError(f"{where} raised {type(exc).__name__}: {exc}") from exc


def load_app(spec: str) -> object:
    """Import and return the application ``spec`` names; raise :class:`AppLoadError`."""
    if not spec:
        raise AppLoadError("empty app spec; expected MODULE:APP or path/to/app.py")
    if _is_file_spec(spec):
        return _pick(_import_file(spec), spec, None)
    module_name, _, attr = spec.partition(":")
    if not module_name:
        raise AppLoadError(f"app spec {spec!r} has no module before ':'")
    return _pick(_import_module(module_name), module_name, attr or None)
