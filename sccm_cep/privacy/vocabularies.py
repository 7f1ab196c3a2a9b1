"""Fields bound to a closed vocabulary, and the mapping the export applies to them.

A model field marked ``vocabulary=NAME`` (``sccm_cep.model.describe``) holds a low-cardinality
value a source reports as text. ``MAPPED`` says which of them the export maps onto their
vocabulary (``sccm_cep.normalize.vocabulary``) before anonymizing, in place: a value the
vocabulary does not know leaves as ``other``, never as itself. The policy linter refuses to
send (any action but drop or pseudonymize) a vocabulary-bound field that is not in ``MAPPED``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from sccm_cep import normalize as n
from sccm_cep.model import RECORD_TYPES, Record

__all__ = ["MAPPED", "MAPPERS", "bound_fields", "map_vocabularies", "vocabulary_of"]

#: Vocabulary name → the function mapping a raw value onto it (None stays None).
MAPPERS: dict[str, Callable[[Any], str | None]] = {
    "os_architecture": n.os_architecture,
    "site_role": n.site_role,
    "site_type": n.site_type,
    "site_status": n.site_status,
    "sccm_version": n.sccm_version,
    "chassis_code": n.chassis_code,
}

#: (record, field) → vocabulary: the fields the export maps in place (``map_vocabularies``).
MAPPED: dict[tuple[str, str], str] = {
    ("site", "site_type"): "site_type",
    ("site", "status"): "site_status",
    ("site", "version"): "sccm_version",
    ("site_role", "role_name"): "site_role",
    ("client_version", "client_version"): "sccm_version",
    ("hardware_chassis", "chassis_type"): "chassis_code",
    ("operating_system", "architecture"): "os_architecture",
    ("device", "architecture"): "os_architecture",
    ("device", "client_version"): "sccm_version",
    ("device", "chassis_type"): "chassis_code",
}

_BY_RECORD: dict[str, dict[str, str]] = {}
for (_record, _field), _vocab in MAPPED.items():
    _BY_RECORD.setdefault(_record, {})[_field] = _vocab


def vocabulary_of(rt: type[Record], field: str) -> str | None:
    """The vocabulary the model binds ``rt.field`` to, or None."""
    for f in dataclasses.fields(rt):
        if f.name == field:
            value = f.metadata.get("vocabulary")
            return str(value) if value else None
    return None


def bound_fields() -> dict[tuple[str, str], str]:
    """Every (record, field) the model binds to a vocabulary, with the vocabulary's name."""
    return {
        (rt.NAME, f.name): str(f.metadata["vocabulary"])
        for rt in RECORD_TYPES
        for f in dataclasses.fields(rt)
        if f.metadata.get("vocabulary")
    }


def map_vocabularies(record: Record) -> Mapping[str, Any]:
    """The record's vocabulary-bound fields mapped onto their vocabularies (only those set)."""
    fields = _BY_RECORD.get(record.NAME)
    if not fields:
        return {}
    out: dict[str, Any] = {}
    for name, vocab in fields.items():
        value = getattr(record, name)
        if value is not None:
            # Every mapper is a function of the value alone, and a site repeats few values on
            # many rows: each (vocabulary, value) is mapped once, up to _MEMO_SIZE of them.
            if not isinstance(value, str | int):
                out[name] = MAPPERS[vocab](value)
                continue
            key = (vocab, type(value), value)
            mapped = _memo.get(key, _MISSING)
            if mapped is _MISSING:
                mapped = MAPPERS[vocab](value)
                if len(_memo) < _MEMO_SIZE:
                    _memo[key] = mapped
            out[name] = mapped
    return out


_MEMO_SIZE = 1 << 14
_memo: dict[tuple[str, type, Any], Any] = {}
_MISSING = object()
