"""Builds squall's optional compiled modules; all other metadata is in pyproject.toml.

The per-request objects' modules (the connection protocol, the request cycle,
the request and the application's dispatcher) are compiled with Cython when
Cython and a C compiler are available, with the attribute declarations of the
.pxd files beside them: bench/PROFILE.md measured ~20% fewer CPU instructions
per request. The same .py files are the fallback, so a
failed build costs speed, never function. ``SQUALL_PURE_PYTHON=1`` skips the
build (and, at run time, makes squall ignore a compiled module: see
squall/_compiled.py).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext

# Each has a .pxd beside it declaring its per-request class as an extension
# type; squall/_compiled.py lists the same modules.
COMPILED_MODULES = [
    "squall/http/protocol.py",
    "squall/http/cycle.py",
    "squall/http/request.py",
    "squall/web/application.py",
]


class OptionalBuildExt(build_ext):
    """Treats a compiler failure as "no speed-up" instead of a failed install."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as error:  # no compiler at all, say
            _skipped(error)

    def build_extension(self, ext: Any) -> None:
        try:
            super().build_extension(ext)
        except Exception as error:
            _skipped(error)


def _skipped(error: Exception) -> None:
    print(f"squall: compiled modules not built ({error}); the pure-Python ones are used",
          file=sys.stderr)


def _extensions() -> list[Any]:
    if os.environ.get("SQUALL_PURE_PYTHON"):
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        _skipped(ImportError("Cython is not installed"))
        return []
    return list(cythonize(
        COMPILED_MODULES,
        compiler_directives={"language_level": 3, "annotation_typing": False},
        quiet=True,
    ))


setup(ext_modules=_extensions(), cmdclass={"build_ext": OptionalBuildExt})
