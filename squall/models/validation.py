"""Validation errors that a handler can hand straight back as a 400 JSON body."""

from __future__ import annotations


class ValidationError(ValueError):
    """Input did not fit a model; ``errors`` maps each field name to the reason.

    ``str(error)`` lists them all, e.g. ``invalid Place: lat: expected a number;
    name: required``. Errors that concern no single field use the key ``"_"``.
    """

    def __init__(self, model: str, errors: dict[str, str]) -> None:
        self.model = model
        self.errors = dict(sorted(errors.items()))
        listed = "; ".join(f"{name}: {reason}" for name, reason in self.errors.items())
        super().__init__(f"invalid {model}: {listed}")

    def to_json(self) -> dict[str, object]:
        """The body of a 400 response: ``{"error": message, "fields": {...}}``."""
        return {"error": str(self), "fields": dict(self.errors)}
