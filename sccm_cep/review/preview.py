"""Preview and explain for a reviewer: exactly what a registered site would send, stored nowhere.

Both run the export a run runs (``export.pipeline.collect``) over the sources a run opens
(``collector.runner.open_sources``) and stop before writing: ``preview`` renders the anonymized
submission in memory the way the writer does; ``explain`` shows a few local raw values of one
field and what the anonymizer made of them. Raw values are for the local screen only.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from sccm_cep import model as m
from sccm_cep.collector.contributor import contributor_pseudonym
from sccm_cep.collector.keys import site_secret
from sccm_cep.collector.participation import current_enrollment
from sccm_cep.collector.runner import open_sources
from sccm_cep.collector.sites import find_site
from sccm_cep.collector.store import Outbox, Site, Store
from sccm_cep.connector import CheckReport, CollectionRequest, Connector, Stream
from sccm_cep.errors import ConfigError
from sccm_cep.export.derive import derive
from sccm_cep.export.pipeline import Collected, collect, current_period, period_end
from sccm_cep.export.write import render_submission
from sccm_cep.privacy.anonymize import Anonymizer, SuppressionNote
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
    """The submission a run of the registered site would send now, rendered in memory only."""
    with store.session() as session:
        site = find_site(session, code)
    period = period or current_period(datetime.now(UTC).date())
    contributor = contributor_pseudonym(store)  # as a run sends it (none before the first join)
    opened = open_sources(site)
    try:
        collected = _collect(site, opened, policies, level, period, contributor=contributor)
        # The writer's own rendering (validation, canonical bytes), into memory, not a file.
        buffer = io.BytesIO()
        render_submission(collected.submission, buffer)
    finally:
        for each in opened:
            each.close()
    document = json.loads(buffer.getvalue())
    return Preview(site.code, period, level, document, collected.suppressed, collected.notes)


def _collect(
    site: Site,
    sources: Sequence[Connector],
    policies: PolicySet,
    level: m.Level,
    period: str,
    only: frozenset[str] | None = None,
    contributor: str | None = None,
) -> Collected:
    return collect(
        sources,
        policies,
        level=level,
        period=period,
        secret=site_secret(site),
        site_code=site.code,
        only=only,
        contributor=contributor,
    )


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
    period = period or current_period(datetime.now(UTC).date())
    seen: list[m.Record] = []
    opened = open_sources(site)
    try:
        tapped = [_Tap(source, rt, seen) for source in opened]
        collected = _collect(site, tapped, policies, level, period, only=frozenset({rt.NAME}))
        part = collected.submission.sections[rt.SECTION][rt.NAME]
        if not seen and part.stream is not None:
            for _ in part.iter_rows():  # device rows nothing counted: read them once, here
                pass
    finally:
        for each in opened:
            each.close()
    pairs = [(raw, derive(raw)) for raw in seen]
    anonymizer = Anonymizer(policies, site_secret(site), level, reference=period_end(period))
    examples = _examples(rt, fp, pairs, collected, anonymizer)
    message = LOCAL_ONLY if examples else "no values at this site"
    return Explanation(rt.NAME, name, treatment, fp.purpose, message, examples)


def _examples(
    rt: type[m.Record],
    fp: FieldPolicy,
    pairs: list[tuple[m.Record, m.Record]],
    collected: Collected,
    anonymizer: Anonymizer,
) -> tuple[Example, ...]:
    """The most common values and the rarest ones, so a reviewer sees suppression at work."""
    raw_of: dict[Any, tuple[Any, m.Record]] = {}
    for raw, done in pairs:
        value = getattr(done, fp.name)
        if value is not None:
            raw_of.setdefault(value, (getattr(raw, fp.name), done))
    if not raw_of:
        return ()
    # A counted field: the export's own decision, devices per value as it counted them.
    decision = collected.decisions.get((rt.NAME, fp.name))
    devices = (
        decision.devices if decision is not None and decision.devices else _rows_per_value(rt, fp, pairs)
    )
    ranked = sorted(raw_of, key=lambda v: (-devices.get(v, 0), str(v)))
    chosen = ranked if len(ranked) <= MAX_EXAMPLES else [*ranked[:3], *ranked[-2:]]
    out = []
    for value in chosen:
        raw, done = raw_of[value]
        if decision is not None:
            sent: Any = decision.sent(value)
        else:
            rows = list(anonymizer.part(rt, _one(done)).iter_rows())
            sent = rows[0].get(fp.name) if rows else None
        shown = devices.get(value) if rt.KIND is not m.RecordKind.OBJECT else None
        out.append(Example(raw, value, sent, shown))
    return tuple(out)


def _rows_per_value(
    rt: type[m.Record], fp: FieldPolicy, pairs: list[tuple[m.Record, m.Record]]
) -> Counter[Any]:
    """For a field no count decides on: how many devices (the record's weight) show each value,
    only to rank and label the examples."""
    weights: Counter[Any] = Counter()
    for _raw, done in pairs:
        value, w = getattr(done, fp.name), int(getattr(done, rt.WEIGHT) or 0) if rt.WEIGHT else 1
        # Rows that may overlap on devices show their largest row, as the policies count them.
        weights[value] = weights[value] + w if rt.DISJOINT else max(weights[value], w)
    return weights


def _one(record: m.Record) -> Callable[[], Iterator[m.Record]]:
    """A source of exactly one record, as ``Anonymizer.part`` reads it."""

    def read() -> Iterator[m.Record]:
        yield record

    return read


class _Tap:
    """A source as it is, except that raw records of one type are also kept (local only)."""

    def __init__(self, inner: Connector, rt: type[m.Record], seen: list[m.Record]) -> None:
        self.name = inner.name
        self._inner, self._rt, self._seen = inner, rt, seen

    def check(self) -> CheckReport:
        return self._inner.check()

    def streams(self, request: CollectionRequest) -> Sequence[Stream]:
        return [
            _TapStream(s, self._seen) if s.record_type is self._rt else s
            for s in self._inner.streams(request)
        ]

    def skipped(self, request: CollectionRequest) -> Sequence[str]:
        return self._inner.skipped(request)

    def close(self) -> None:
        self._inner.close()


@dataclass(frozen=True)
class _TapStream:
    inner: Stream
    seen: list[m.Record]

    @property
    def record_type(self) -> type[m.Record]:
        return self.inner.record_type

    @property
    def source(self) -> str:
        return self.inner.source

    def read(self) -> Iterator[m.Record]:
        for record in self.inner.read():
            self.seen.append(record)
            yield record


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
