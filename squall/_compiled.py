"""Which modules run compiled, and the switch that runs them as Python.

setup.py may compile a few hot-path modules with Cython. Python's import
system prefers a compiled file to its source, so this module steps in where
the source must win: when ``SQUALL_PURE_PYTHON`` is set (to test or debug the
fallback), and when a source is newer than its compiled file (an edited
checkout not rebuilt yet), which would otherwise run stale code.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

# Keep in step with setup.py's COMPILED_MODULES.
MODULES = ("squall.http.protocol", "squall.http.cycle", "squall.http.request",
           "squall.web.application")
_ROOT = Path(__file__).resolve().parent.parent  # the directory holding squall/


class _SourceFirst(importlib.abc.MetaPathFinder):
    """Finds the listed modules' ``.py`` files, never their compiled ones."""

    def __init__(self, modules: frozenset[str]) -> None:
        self.modules = modules

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname not in self.modules:
            return None
        return importlib.util.spec_from_file_location(fullname, _source(fullname))


def _source(module: str) -> Path:
    return _ROOT.joinpath(*module.split(".")).with_suffix(".py")


def compiled_file(module: str) -> Path | None:
    """The compiled form of ``module`` (dotted name) beside its source, if built."""
    source = _source(module)
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        candidate = source.with_suffix(suffix)
        if candidate.exists():
            return candidate
    return None


def choose() -> frozenset[str]:
    """Route stale or unwanted compiled modules to their sources.

    Returns the names of the modules that will load compiled.
    """
    pure = bool(os.environ.get("SQUALL_PURE_PYTHON"))
    compiled: set[str] = set()
    source_first: set[str] = set()
    for module in MODULES:
        binary = compiled_file(module)
        if binary is None:
            continue
        source = _source(module)
        if pure or (source.exists() and source.stat().st_mtime > binary.stat().st_mtime):
            source_first.add(module)
        else:
            compiled.add(module)
    if source_first and not any(isinstance(f, _SourceFirst) for f in sys.meta_path):
        sys.meta_path.insert(0, _SourceFirst(frozenset(source_first)))
    return frozenset(compiled)
