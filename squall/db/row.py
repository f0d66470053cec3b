"""The row type every query returns, whichever driver produced it."""

from __future__ import annotations

from typing import Any


class Row(dict[str, Any]):
    """A result row: ``row["name"]``, ``row.name`` and ``dict(row)`` all work.

    A plain ``dict`` underneath, so rows serialize to JSON and compare as
    dicts; attribute access is a convenience for column names that are
    valid identifiers and do not shadow dict methods (``row["items"]``).
    """

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(
                f"row has no column {name!r}; columns: {', '.join(self) or '(none)'}"
            ) from None

    def __repr__(self) -> str:
        return f"Row({dict.__repr__(self)})"
