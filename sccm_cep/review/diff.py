"""What changed between two of a site's submissions: fields added or removed per record type,
rows that appeared or went, and counts or values that moved, section by section.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from sccm_cep.collector.sites import find_site
from sccm_cep.collector.store import Outbox, Store
from sccm_cep.errors import ConfigError
from sccm_cep.model import RECORD_TYPES, SECTIONS

__all__ = ["Change", "diff_documents", "load_pair"]

_WEIGHTS = {rt.NAME: rt.WEIGHT for rt in RECORD_TYPES}
#: Object records are matched across periods by their keyed pseudonymous id.
_IDS = {
    "site": "site_code",
    "deployment": "deployment_id",
    "package": "package_id",
    "ci": "ci_id",
    "configuration_item": "ci_id",
    "device": "device_id",
}


@dataclass(frozen=True, slots=True)
class Change:
    section: str
    record: str
    kind: str  # field-added | field-removed | row-added | row-removed | changed
    key: str
    detail: str

    def as_json(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in self.__slots__}


def load_pair(
    store: Store, code: str, *, from_period: str | None, to_period: str | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The two submissions to compare (current revision of each period); default: the last two."""
    with store.session() as session:
        site = find_site(session, code)
        rows = session.execute(
            select(Outbox.period, Outbox.revision, Outbox.body)
            .where(Outbox.site_id == site.id, Outbox.kind == "submission", Outbox.body.is_not(None))
            .order_by(Outbox.created_at, Outbox.revision)
        ).all()
    latest: dict[str, bytes] = {}
    for period, _revision, body in rows:
        if body is not None:
            latest[period] = body
    periods = list(latest)
    if len(periods) < 2 and not (from_period and to_period):
        raise ConfigError(
            f"site {code.upper()} has fewer than two stored submissions", hint="see 'sccm-cep outbox list'"
        )
    new = to_period or periods[-1]
    old = from_period or next((p for p in reversed(periods) if p != new), None)
    for wanted in (old, new):
        if wanted not in latest:
            raise ConfigError(f"no stored submission for period {wanted}", hint="see 'sccm-cep outbox list'")
    assert old is not None
    return _load(latest[old]), _load(latest[new])


def _load(body: bytes) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(gzip.decompress(body))
    return doc


def diff_documents(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    changes: list[Change] = []
    for section, types_ in SECTIONS.items():
        for rt in types_:
            before = list((old.get(section) or {}).get(rt.NAME, []))
            after = list((new.get(section) or {}).get(rt.NAME, []))
            changes += _diff_rows(section, rt.NAME, before, after)
    return changes


def _fields(rows: Iterable[Mapping[str, Any]]) -> set[str]:
    return {k for row in rows for k in row}


def _diff_rows(
    section: str, record: str, before: list[Mapping[str, Any]], after: list[Mapping[str, Any]]
) -> list[Change]:
    out = [
        Change(section, record, "field-added", name, "")
        for name in sorted(_fields(after) - _fields(before))
        if before
    ]
    out += [
        Change(section, record, "field-removed", name, "")
        for name in sorted(_fields(before) - _fields(after))
        if after
    ]
    weight = _WEIGHTS.get(record)
    ident = _IDS.get(record)
    old, new = _index(before, weight, ident), _index(after, weight, ident)
    for key in sorted(new.keys() - old.keys()):
        out.append(Change(section, record, "row-added", key, _weight_text(new[key], weight)))
    for key in sorted(old.keys() - new.keys()):
        out.append(Change(section, record, "row-removed", key, _weight_text(old[key], weight)))
    for key in sorted(old.keys() & new.keys()):
        a, b = old[key], new[key]
        moved = [
            f"{f}: {a.get(f)!r} -> {b.get(f)!r}" for f in sorted(set(a) | set(b)) if a.get(f) != b.get(f)
        ]
        if moved:
            out.append(Change(section, record, "changed", key, "; ".join(moved)))
    return out


def _index(
    rows: list[Mapping[str, Any]], weight: str | None, ident: str | None
) -> dict[str, Mapping[str, Any]]:
    index: dict[str, Mapping[str, Any]] = {}
    for row in rows:
        if ident and ident in row:
            key = f"{ident}={row[ident]}"
        else:
            key = json.dumps(
                {k: v for k, v in row.items() if k != weight}, sort_keys=True, ensure_ascii=False
            )
        index[key] = row
    return index


def _weight_text(row: Mapping[str, Any], weight: str | None) -> str:
    return f"{weight}={row.get(weight)}" if weight else ""
