"""What a valid document is, checked the one way both sides use: its kind and schema version,
its published JSON Schema, and the document id its own fields give. A reason names the place
and the rule, never a value (a client shows it to the admin, a server may log it).

A submission's rows are checked by the checks ``rowcheck`` compiles from the schema's row
definitions and only its envelope (every rows array emptied) by the validator, where the schema
provably gives the same verdict that way; anything it refuses, and any other shape, goes to the
full validator, whose error is the one reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import Any

import jsonschema

from sccm_cep.contract.deletion import deletion_document_id, load_deletion_schema
from sccm_cep.contract.rowcheck import RowCheck, Unsupported, compile_row
from sccm_cep.contract.submission import document_id, load_schema
from sccm_cep.contract.upload import CURRENT_VERSIONS, DocumentKind, UploadTarget

__all__ = [
    "Violation",
    "check_document",
    "check_upload",
    "schema_violation",
    "validator_for",
]


@dataclass(frozen=True, slots=True)
class Violation:
    """Why a document is not valid, in words that quote none of its values."""

    reason: str

    def __str__(self) -> str:
        return self.reason


@lru_cache(maxsize=2)
def validator_for(kind: DocumentKind) -> jsonschema.protocols.Validator:
    """The validator of the published schema for ``kind`` (formats checked)."""
    schema = load_schema() if kind is DocumentKind.SUBMISSION else load_deletion_schema()
    cls = jsonschema.validators.validator_for(schema)
    validator: jsonschema.protocols.Validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return validator


def schema_violation(validator: jsonschema.protocols.Validator, instance: Any) -> Violation | None:
    """The most relevant schema error of ``instance``, by place and rule, or None."""
    error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "(document)"
    return Violation(f"does not validate against the schema at {where}: {error.validator} rule")


def check_document(doc: Mapping[str, Any]) -> Violation | None:
    """Whether ``doc`` is a valid document of its kind: the version this release reads, the
    kind's schema, and a ``document_id`` equal to the one its fields give."""
    try:
        kind = DocumentKind(str(doc.get("kind")))
    except ValueError:
        return Violation("kind must be one of: " + ", ".join(DocumentKind))
    version = CURRENT_VERSIONS[kind]
    if doc.get("schema_version") != version:
        return Violation(f"schema_version must be {version}")
    if kind is DocumentKind.SUBMISSION:
        violation = _submission_violation(validator_for(kind), doc)
    else:
        violation = schema_violation(validator_for(kind), doc)
    if violation is not None:
        return violation
    if kind is DocumentKind.SUBMISSION:
        expected = document_id(doc["site"], doc["period"], version, doc["revision"])
        what = "site, period and revision"
    else:
        expected = deletion_document_id(doc["site"], doc["requested_on"])
        what = "site and requested_on"
    if doc["document_id"] != expected:
        return Violation(f"the document_id is not the one its {what} give")
    return None


def check_upload(target: UploadTarget, doc: Mapping[str, Any]) -> Violation | None:
    """Whether ``doc`` may be stored as the upload ``target`` names: the path's id, kind and
    version are the body's, and the body is a valid document."""
    if doc.get("document_id") != target.document_id:
        return Violation("the document_id in the path differs from the body's")
    if doc.get("kind") != target.kind or doc.get("schema_version") != target.schema_version:
        return Violation("the kind or schema_version in the path differs from the body's")
    return check_document(doc)


# -- the fast path for submissions -----------------------------------------------------------

#: The draft whose type rules ``rowcheck`` implements.
_DRAFT = "https://json-schema.org/draft/2020-12/schema"
#: Keywords of a section (an object of rows arrays) that look at its keys only, never its values.
_SECTION_KEYWORDS = frozenset(
    {"type", "properties", "required", "additionalProperties", "description", "title"}
)
#: Keywords that, applied to the document, look at which keys it has but at none of their values.
_KEYS_ONLY = frozenset(
    {
        "type",
        "required",
        "dependentRequired",
        "minProperties",
        "maxProperties",
        "propertyNames",
        "title",
        "description",
        "$comment",
        "$id",
        "$schema",
        "$defs",
    }
)

#: Section -> rows array -> the compiled check of the row definition its ``items`` names.
_Plan = Mapping[str, Mapping[str, RowCheck]]


class _Fast(Enum):
    """What the fast path made of a submission; a refusal's value is the reason given if the
    full validator finds nothing (the two disagree: the document is refused all the same)."""

    VALID = "valid"
    UNJUDGED = "a shape the fast path does not take"
    ROW_REFUSED = "a row fails the compiled row check"
    ENVELOPE_REFUSED = "the envelope fails the schema"


def _row_record(spec: Any, defs: Mapping[str, Any]) -> str | None:
    """The record a rows array holds, if its schema is exactly an array of one ``$defs`` entry."""
    if not isinstance(spec, dict) or set(spec) != {"type", "items"} or spec["type"] != "array":
        return None
    items = spec["items"]
    if not isinstance(items, dict) or set(items) != {"$ref"} or not isinstance(items["$ref"], str):
        return None
    record = items["$ref"].removeprefix("#/$defs/")
    exact = items["$ref"] != record and "/" not in record and "~" not in record
    return record if exact and record in defs else None


def _section(spec: Any, defs: Mapping[str, Any]) -> dict[str, RowCheck] | None:
    """The compiled checks of a section's rows arrays, or None if ``spec`` is no such section."""
    if not isinstance(spec, dict) or set(spec) - _SECTION_KEYWORDS or spec.get("type") != "object":
        return None
    if not isinstance(spec.get("additionalProperties", False), bool):
        return None
    properties = spec.get("properties")
    if not isinstance(properties, dict) or not properties:
        return None
    records = {name: _row_record(sub, defs) for name, sub in properties.items()}
    if any(record is None for record in records.values()):
        return None
    return {name: compile_row(str(record), defs[str(record)]) for name, record in records.items()}


def _reaches(schema: Any, names: frozenset[str]) -> bool:
    """Whether ``schema``, applied to the document, may look at the value of one of ``names``
    (a keyword not known to look at keys only counts as looking)."""
    if isinstance(schema, bool):
        return False
    if not isinstance(schema, dict):
        return True
    for key, value in schema.items():
        if key in _KEYS_ONLY:
            continue
        if key == "properties":
            reaches = not isinstance(value, dict) or not names.isdisjoint(value)
        elif key in ("additionalProperties", "unevaluatedProperties"):
            reaches = not isinstance(value, bool)
        elif key in ("allOf", "anyOf", "oneOf"):
            reaches = not isinstance(value, list) or any(_reaches(sub, names) for sub in value)
        elif key in ("not", "if", "then", "else"):
            reaches = _reaches(value, names)
        elif key == "dependentSchemas":
            reaches = not isinstance(value, dict) or any(_reaches(sub, names) for sub in value.values())
        else:
            reaches = True
        if reaches:
            return True
    return False


def _rows_plan(schema: Mapping[str, Any]) -> _Plan | None:
    """Where ``schema`` puts rows, compiled; None unless checking the envelope with the schema
    and each row with its compiled check is provably the schema's verdict on the document (every
    row definition compiles; no keyword but a section's own ``properties`` looks at a section)."""
    defs = schema.get("$defs")
    properties = schema.get("properties")
    if schema.get("$schema") != _DRAFT or not isinstance(defs, dict) or not isinstance(properties, dict):
        return None
    try:
        plan = {name: checks for name, spec in properties.items() if (checks := _section(spec, defs))}
    except Unsupported:
        return None
    rest = {key: value for key, value in schema.items() if key != "properties"}
    if not plan or _reaches(rest, frozenset(plan)):
        return None
    return plan


@lru_cache(maxsize=1)
def _submission_plan() -> _Plan | None:
    schema = validator_for(DocumentKind.SUBMISSION).schema
    return _rows_plan(schema) if isinstance(schema, Mapping) else None


def _fast(validator: jsonschema.protocols.Validator, doc: Any, plan: _Plan) -> _Fast:
    """The verdict of the envelope by the validator and of each row by its compiled check."""
    if type(doc) is not dict:
        return _Fast.UNJUDGED
    skeleton = dict(doc)
    for section, checks in plan.items():
        if section not in doc:
            continue  # the envelope's ``required`` judges that
        parts = doc[section]
        if type(parts) is not dict:
            return _Fast.UNJUDGED
        for record, rows in parts.items():
            check = checks.get(record)
            if check is None or type(rows) is not list:
                return _Fast.UNJUDGED
            if not all(map(check.ok, rows)):
                return _Fast.ROW_REFUSED
        skeleton[section] = {record: [] for record in parts}
    return _Fast.VALID if validator.is_valid(skeleton) else _Fast.ENVELOPE_REFUSED


def _submission_violation(validator: jsonschema.protocols.Validator, doc: Any) -> Violation | None:
    """``schema_violation`` of a submission, by the fast path where it can judge: what it
    refuses is judged again by the full validator, whose error is the one reported."""
    plan = _submission_plan()
    verdict = _Fast.UNJUDGED if plan is None else _fast(validator, doc, plan)
    if verdict is _Fast.VALID:
        return None
    violation = schema_violation(validator, doc)
    if violation is None and verdict is not _Fast.UNJUDGED:
        return Violation(f"does not validate against the schema: {verdict.value}")
    return violation
