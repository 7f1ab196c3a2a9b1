"""Preview and explain for a reviewer: exactly what a registered site would send, stored nowhere.

``preview`` runs the real export into a temporary folder and returns the document; nothing is
kept in the store or the outbox. ``explain`` shows a few local raw values of one field and what
its policy turns them into; raw values are for the local screen only and never written anywhere.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from sccm_cep import model as m
from sccm_cep.collector.participation import current_enrollment
from sccm_cep.collector.sites import find_site, open_site_connector, site_secret
from sccm_cep.collector.store import Outbox, Store
from sccm_cep.connector import CollectionRequest
from sccm_cep.errors import ConfigError
from sccm_cep.export.derive import derive, inputs_for
from sccm_cep.export.pipeline import current_period, period_end, run_export
from sccm_cep.privacy.anonymize import OTHER, Anonymizer, SuppressionNote
from sccm_cep.privacy.policy import Action, FieldPolicy, PolicySet

__all__ = [
    "LOCAL_ONLY",
    "Example",
    "Explanation",
    "Preview",
    "explain",
    "outbox_history",
    "preview",
    "site_level",
]

LOCAL_ONLY = "local only — never sent"
MAX_EXAMPLES = 5


@dataclass(frozen=True, slots=True)
class Preview:
    """The document a run would send now, and what the policies hid while making it."""

    site: str
    period: str
    level: m.Level
    document: dict[str, Any]
    suppressed: tuple[SuppressionNote, ...]
    notes: tuple[str, ...]

    def sections(self) -> dict[str, dict[str, list[dict[str, Any]]]]:
        """Section → record → sent rows, in document order."""
        return {s: self.document[s] for s in m.SECTIONS if s in self.document}


@dataclass(frozen=True, slots=True)
class Example:
    """One raw value (local only), what normalization made of it, and what is sent."""

    raw: Any
    normalized: Any
    sent: Any
    devices: int | None = None


@dataclass(frozen=True, slots=True)
class Explanation:
    record: str
    field: str
    treatment: str
    purpose: str
    message: str
    examples: tuple[Example, ...]


def site_level(store: Store, code: str, level: str | None) -> m.Level:
    """The level asked for, else the joined level, else basic."""
    if level:
        return m.Level(level)
    with store.session() as session:
        enrollment = current_enrollment(session, find_site(session, code))
    return m.Level(enrollment.level) if enrollment else m.Level.BASIC


def preview(
    store: Store, code: str, policies: PolicySet, *, level: m.Level, period: str | None = None
) -> Preview:
    """Run the collection for a registered site into a temporary folder and read the result back."""
    with store.session() as session:
        site = find_site(session, code)
    period = period or current_period(datetime.now(UTC).date())
    connector = open_site_connector(site)
    try:
        with tempfile.TemporaryDirectory(prefix="sccm-cep-preview-") as tmp:
            result = run_export(
                connector,
                policies,
                level=level,
                period=period,
                secret_for=lambda _code: site_secret(site),
                out_dir=Path(tmp),
                site_code=site.code,
            )
            document = json.loads(result.written.path.read_text(encoding="utf-8"))
    finally:
        connector.close()
    return Preview(site.code, period, level, document, result.suppressed, result.notes)


def explain(
    store: Store, code: str, policies: PolicySet, target: str, *, level: m.Level, period: str | None = None
) -> Explanation:
    """Up to five distinct local values of ``record.field`` with what the policy sends for each."""
    record, _, name = target.partition(".")
    try:
        rt = m.record_type(record)
    except KeyError:
        raise ConfigError(
            f"'{record}' is not a record", hint="see 'sccm-cep fields' for record.field names"
        ) from None
    policy = policies[rt.NAME]
    if name not in policy.fields:
        raise ConfigError(f"'{target}' is not a field", hint="see 'sccm-cep fields' for record.field names")
    fp = policy.field(name)
    treatment = " ".join([fp.action.value, *(f"{k}={v}" for k, v in sorted(fp.params.items()))])
    if fp.action is Action.DROP:
        return Explanation(
            rt.NAME, name, treatment, fp.purpose, "dropped: never read from the site, never sent", ()
        )
    if not fp.applies_at(level) or not level.includes(rt.LEVEL):
        return Explanation(rt.NAME, name, treatment, fp.purpose, f"not sent at level {level.value}", ())
    with store.session() as session:
        site = find_site(session, code)
    reference = period_end(period or current_period(datetime.now(UTC).date()))
    wanted = frozenset(inputs_for(rt.NAME, frozenset({name})) | ({rt.WEIGHT} if rt.WEIGHT else set()))
    request = CollectionRequest(level=level, fields={rt.NAME: wanted})
    anonymizer = Anonymizer(policies, site_secret(site), level, reference=reference)
    connector = open_site_connector(site)
    try:
        streams = [s for s in connector.streams(request) if s.record_type is rt]
        pairs = [(raw, derive(raw)) for s in streams for raw in s.read()]
    finally:
        connector.close()
    examples = _examples(rt, fp, pairs, anonymizer)
    message = LOCAL_ONLY if examples else "no values at this site"
    return Explanation(rt.NAME, name, treatment, fp.purpose, message, examples)


def _examples(
    rt: type[m.Record], fp: FieldPolicy, pairs: list[tuple[m.Record, m.Record]], anonymizer: Anonymizer
) -> tuple[Example, ...]:
    weights: Counter[Any] = Counter()
    raw_of: dict[Any, tuple[Any, Any]] = {}
    for raw, done in pairs:
        value = getattr(done, fp.name)
        if value is None:
            continue
        w = int(getattr(done, rt.WEIGHT) or 0) if rt.WEIGHT else 1
        # The anonymizer's rule: disjoint rows add up, overlapping ones count their largest row.
        weights[value] = weights[value] + w if rt.DISJOINT else max(weights[value], w)
        raw_of.setdefault(value, (getattr(raw, fp.name), done))
    if not weights:
        return ()
    kept = _kept(fp, weights)
    ranked = sorted(weights, key=lambda v: (-weights[v], str(v)))
    # The most common values and the rarest ones, so a reviewer sees suppression at work.
    chosen = ranked if len(ranked) <= MAX_EXAMPLES else [*ranked[:3], *ranked[-2:]]
    out = []
    for value in chosen:
        raw, done = raw_of[value]
        if kept is not None:
            sent: Any = value if value in kept else OTHER
        else:
            rows = list(anonymizer.part(rt, _one(done)).iter_rows())
            sent = rows[0].get(fp.name) if rows else None
        out.append(Example(raw, value, sent, weights[value] if rt.KIND is not m.RecordKind.OBJECT else None))
    return tuple(out)


def _one(record: m.Record) -> Callable[[], Iterator[m.Record]]:
    """A source of exactly one record, as ``Anonymizer.part`` reads it."""

    def read() -> Iterator[m.Record]:
        yield record

    return read


def _kept(fp: FieldPolicy, weights: Counter[Any]) -> set[Any] | None:
    if fp.action is Action.SUPPRESS_BELOW:
        return {v for v, n in weights.items() if n >= int(fp.params["k"])}
    if fp.action is Action.TOP_N:
        ranked = sorted(weights.items(), key=lambda vn: (-vn[1], str(vn[0])))
        return {v for v, _ in ranked[: int(fp.params["n"])]}
    return None


@dataclass(frozen=True, slots=True)
class OutboxRow:
    period: str
    kind: str
    revision: int
    document_id: str
    state: str
    created_at: str
    sha256: str
    size: int


def outbox_history(store: Store, code: str) -> list[OutboxRow]:
    """What the store holds for a site, per period (the proof of what was sent)."""
    with store.session() as session:
        site = find_site(session, code)
        rows: Iterable[Outbox] = session.execute(
            select(Outbox)
            .where(Outbox.site_id == site.id)
            .order_by(Outbox.period, Outbox.revision, Outbox.id)
        ).scalars()
        return [
            OutboxRow(
                o.period,
                o.kind,
                o.revision,
                o.document_id,
                o.state,
                o.created_at.isoformat(timespec="seconds") + "Z",
                o.sha256,
                o.size,
            )
            for o in rows
        ]
