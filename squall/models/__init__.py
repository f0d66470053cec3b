"""Simple models over :mod:`squall.db`: one class per table, declared with annotations.

See :mod:`squall.models.model` for the declaration rules and the query API.
"""

from __future__ import annotations

from squall.models.fields import Field
from squall.models.model import Model, table_name
from squall.models.validation import ValidationError

__all__ = ["Field", "Model", "ValidationError", "table_name"]
