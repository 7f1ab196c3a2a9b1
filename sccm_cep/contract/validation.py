"""What a valid document is, checked the one way both sides use: its kind and schema version,
its published JSON Schema, and the document id its own fields give. A reason names the place
and the rule, never a value (a client shows it to the admin, a server may log it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jsonschema

from sccm_cep.contract.deletion import deletion_document_id, load_deletion_schema
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
