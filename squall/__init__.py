"""squall: a non-blocking web framework and server in the Tornado tradition."""

from __future__ import annotations

from squall._compiled import choose as _choose_compiled

# Before any other squall module is imported: which of the optional compiled
# (Cython) modules load, e.g. "squall.http.protocol"; empty when none was built
# or SQUALL_PURE_PYTHON is set.
COMPILED: frozenset[str] = _choose_compiled()

version = "0.1.0"
version_info = (0, 1, 0, 0)

__all__ = ["COMPILED", "version", "version_info"]
