"""Submission rows checked by type, compiled once from the published schema's row definitions.

The schema file stays the contract: each row definition (``$defs/<record>``) is read once and
turned into per-field checks that give the JSON Schema's own verdict (draft 2020-12: ``bool``
is no number, ``1.0`` is an integer, ``maxLength`` counts code points, bounds apply to numbers
only) without a validator walking every row. A definition that uses a keyword this module does
not implement is refused when compiled, so the caller (the writer, ``validation.check_document``)
falls back to the full validator instead of passing rows it cannot judge.
tests/unit/test_rowcheck.py compares the two on hostile rows.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["RowCheck", "Unsupported", "compile_row"]

#: Keywords of a row definition and of its fields that the compiled check implements; anything
#: else (a pattern, an enum, a $ref) makes ``compile_row`` refuse the definition.
_ROW_KEYWORDS = frozenset({"type", "additionalProperties", "properties", "required", "description"})
_FIELD_KEYWORDS = frozenset({"type", "maxLength", "minimum", "maximum", "description"})
_TYPES = frozenset({"string", "null", "boolean", "integer", "number"})


class Unsupported(ValueError):
    """A row definition uses a keyword the compiled check does not implement."""


@dataclass(frozen=True, slots=True)
class _Field:
    types: frozenset[str]
    max_length: int | None
    minimum: float | None
    maximum: float | None

    def ok(self, value: Any) -> bool:
        # The common cases first, by exact type; then the schema's own isinstance rules.
        kind = type(value)
        if kind is str:
            return "string" in self.types and (self.max_length is None or len(value) <= self.max_length)
        if value is None:
            return "null" in self.types
        if kind is int:
            return ("integer" in self.types or "number" in self.types) and self._within(value)
        return self._slow(value)

    def _within(self, number: Any) -> bool:
        # The validator's own comparisons (``<``, ``>``), so NaN passes both, as it does there.
        if self.minimum is not None and number < self.minimum:
            return False
        return not (self.maximum is not None and number > self.maximum)

    def _slow(self, value: Any) -> bool:
        if not any(_is(value, t) for t in self.types):
            return False
        if isinstance(value, str) and self.max_length is not None and len(value) > self.max_length:
            return False
        return not _is(value, "number") or self._within(value)


def _is(value: Any, kind: str) -> bool:
    """The draft 2020-12 type checker of jsonschema, for the types a row field may name."""
    if kind == "string":
        return isinstance(value, str)
    if kind == "null":
        return value is None
    if kind == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    return isinstance(value, numbers.Number)  # "number"


@dataclass(frozen=True, slots=True)
class RowCheck:
    """One record type's row definition as per-field checks."""

    record: str
    fields: Mapping[str, _Field]
    required: tuple[str, ...]

    def ok(self, row: Any) -> bool:
        """True exactly when the schema's row definition accepts ``row``."""
        if not isinstance(row, dict):
            return False
        fields = self.fields
        for name, value in row.items():
            check = fields.get(name)
            if check is None or not check.ok(value):
                return False
        return all(name in row for name in self.required)


def compile_row(record: str, definition: Mapping[str, Any]) -> RowCheck:
    """The check of one ``$defs`` row definition; ``Unsupported`` if it needs more than types,
    lengths and bounds (then the caller validates with the full schema)."""
    unknown = set(definition) - _ROW_KEYWORDS
    if unknown or definition.get("type") != "object" or definition.get("additionalProperties") is not False:
        raise Unsupported(f"row definition '{record}': {sorted(unknown) or 'not a closed object'}")
    fields: dict[str, _Field] = {}
    for name, spec in dict(definition.get("properties", {})).items():
        types = spec.get("type")
        kinds = frozenset([types] if isinstance(types, str) else types or ())
        if set(spec) - _FIELD_KEYWORDS or not kinds or kinds - _TYPES:
            raise Unsupported(f"row definition '{record}': field '{name}' needs the full validator")
        fields[name] = _Field(kinds, spec.get("maxLength"), spec.get("minimum"), spec.get("maximum"))
    return RowCheck(record, fields, tuple(definition.get("required", ())))
