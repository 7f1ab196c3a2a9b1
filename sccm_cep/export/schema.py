"""The published submission schema, derived from the canonical model.

The schema file under ``sccm_cep/contract/schemas/`` is the contract; this builds it from the
model's record types, and a test keeps the two equal. Regenerate the file after a model change
with ``python -m sccm_cep.export.schema``.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any

from sccm_cep.connector import UnavailableReason
from sccm_cep.contract.submission import ENVELOPE, MAX_INT, MAX_TEXT, SCHEMA_FILE, SCHEMA_ID, SCHEMA_VERSION
from sccm_cep.model import SECTIONS, Level, Record

__all__ = ["build_schema", "schema_path"]


def build_schema() -> dict[str, Any]:
    """The published JSON Schema, derived from the canonical model (committed as a file)."""
    defs: dict[str, Any] = {}
    sections: dict[str, Any] = {}
    for section, types_ in SECTIONS.items():
        props = {}
        for rt in types_:
            defs[rt.NAME] = _row_schema(rt)
            props[rt.NAME] = {"type": "array", "items": {"$ref": f"#/$defs/{rt.NAME}"}}
        sections[section] = {
            "type": "object",
            "additionalProperties": False,
            "required": sorted(props),
            "properties": props,
        }
    basic_sections = sorted(s for s, t in SECTIONS.items() if t[0].LEVEL is Level.BASIC)
    # Every pattern is anchored and every string has a length, so a value with a trailing
    # newline ("$" allows one) or non-ASCII digits ("\d" allows them) is never valid, and no
    # valid value is too long or too large for the receiver's columns (PostgreSQL integer).
    digest = {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$", "maxLength": 71}
    pseudonym = {"type": "string", "pattern": "^[0-9a-f]{32}$", "minLength": 32, "maxLength": 32}
    uuid = {"type": "string", "pattern": "^[0-9a-f-]{36}$", "minLength": 36, "maxLength": 36}
    properties: dict[str, Any] = {
        "schema": {"const": SCHEMA_ID},
        "schema_version": {"const": SCHEMA_VERSION},
        "kind": {"const": "submission"},
        "document_id": {**uuid, "format": "uuid"},
        "site": pseudonym,
        "period": {
            "type": "string",
            "pattern": "^([0-9]{4}-Q[1-4]|[0-9]{4}-[0-9]{2}-[0-9]{2}/P14D)$",
            "maxLength": 16,
        },
        "revision": {"type": "integer", "minimum": 0, "maximum": MAX_INT},
        "supersedes": uuid,
        "contributor": {
            **pseudonym,
            "description": "Optional: the keyed pseudonym of the collector installation (the same"
            " for all its sites and key versions); the receiver counts k over it.",
        },
        "unavailable": _unavailable_schema(),
        "feedback": {
            "type": "object",
            "additionalProperties": False,
            "required": ["score"],
            "description": "The admin's optional 0-10 'would you recommend' answer for the period.",
            "properties": {
                "score": {"type": "integer", "minimum": 0, "maximum": 10},
                "comment": {"type": ["string", "null"], "maxLength": 256},
            },
        },
        "level": {"enum": [lv.value for lv in Level]},
        "generated_at": {"type": "string", "format": "date-time"},
        "tool_version": {"type": "string", "maxLength": 64},
        "policy_digest": digest,
        "content_digest": digest,
        "sources": {
            "type": "object",
            "additionalProperties": False,
            "properties": {s: {"type": "string", "maxLength": 128} for s in SECTIONS},
        },
        **sections,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{SCHEMA_ID}:{SCHEMA_VERSION}",
        "title": "sccm-cep CEP submission",
        "type": "object",
        "additionalProperties": False,
        "required": [*ENVELOPE, *basic_sections],
        "properties": properties,
        "if": {"properties": {"level": {"const": Level.ENHANCED.value}}},
        "then": {"required": sorted(s for s in SECTIONS if s not in basic_sections)},
        "else": {"not": {"anyOf": [{"required": [s]} for s in SECTIONS if s not in basic_sections]}},
        "$defs": defs,
    }


def _unavailable_schema() -> dict[str, Any]:
    """The notes on fields the site could not give: schema names and a closed reason, no value."""
    name = "^[A-Za-z_][A-Za-z0-9_]*([.][A-Za-z_][A-Za-z0-9_]*)?$"
    return {
        "type": "array",
        "description": "Fields this site could not give (absent from the sections), each with the"
        " reason and the views, columns, classes or properties its source lacks.",
        "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["record", "field", "reason", "missing"],
            "properties": {
                "record": {"enum": sorted(rt.NAME for types_ in SECTIONS.values() for rt in types_)},
                "field": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$", "maxLength": 64},
                "reason": {"enum": [r.value for r in UnavailableReason]},
                "missing": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 32,
                    "items": {"type": "string", "pattern": name, "maxLength": 128},
                },
            },
        },
    }


def _row_schema(rt: type[Record]) -> dict[str, Any]:
    hints = typing.get_type_hints(rt)
    props: dict[str, Any] = {}
    for f in dataclasses.fields(rt):
        if f.name == rt.WEIGHT:
            props[f.name] = {
                "type": "integer",
                "minimum": 0,
                "maximum": MAX_INT,
                "description": f.metadata["description"],
            }
            continue
        # Any field may leave as a pseudonym, band or 'other': strings are always allowed.
        kinds = {"string", "null", *_json_types(hints[f.name])}
        props[f.name] = {
            "type": sorted(kinds),
            "maxLength": MAX_TEXT,
            "description": f.metadata["description"],
        }
        if kinds & {"integer", "number"}:
            props[f.name] |= {"minimum": -MAX_INT, "maximum": MAX_INT}
    schema: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "description": rt.DESCRIPTION,
        "properties": props,
    }
    if rt.WEIGHT:
        schema["required"] = [rt.WEIGHT]
    return schema


def _json_types(hint: Any) -> set[str]:
    args = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    out: set[str] = set()
    for a in args:
        if a is bool:
            out.add("boolean")
        elif a is int:
            out.add("integer")
        elif a is float:
            out |= {"number", "integer"}
    return out


def schema_path() -> Path:
    """Where the committed schema file lives in a source checkout."""
    return Path(__file__).resolve().parent.parent / "contract" / "schemas" / SCHEMA_FILE


if __name__ == "__main__":
    target = schema_path()
    target.write_text(json.dumps(build_schema(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(target)
