"""One export: source streams → derive (normalize) → anonymize (policy) → submission file.

``collect`` runs every phase up to the anonymized submission; ``write`` is the last phase.
A run does both (``run_export``); preview, explain and the report call ``collect`` and stop
before writing, so what they show is what a run sends. Each phase has its own module and
errors; this module only wires them in order and keeps the figures a run summary shows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sccm_cep import model as m
from sccm_cep.collector.cadence import Cadence, parse_period, period_of
from sccm_cep.connector import CollectionRequest, Connector, Stream, Unavailable, own_names_of, unavailable_of
from sccm_cep.errors import ConfigError
from sccm_cep.export.derive import derive, inputs_for
from sccm_cep.export.read_ahead import ReadAhead
from sccm_cep.export.write import WrittenSubmission, write_submission
from sccm_cep.normalize import NormalizationStats
from sccm_cep.privacy.anonymize import (
    AnonymizedPart,
    AnonymizedSubmission,
    Anonymizer,
    FieldDecision,
    SiteSecret,
    SuppressionNote,
)
from sccm_cep.privacy.policy import PolicySet

__all__ = [
    "RECONFIRM_NOTE",
    "Collected",
    "ExportResult",
    "build_request",
    "collect",
    "current_period",
    "period_end",
    "run_export",
    "write",
]

log = logging.getLogger("sccm_cep.export.pipeline")

#: The note of a run whose confirmed feedback comment the scrubber now changes (not sent).
RECONFIRM_NOTE = (
    "the feedback comment was not sent: scrubbed again it is no longer the text that was"
    " confirmed; confirm it again with 'sccm-cep feedback SITE --score N --comment TEXT'"
)


@dataclass(frozen=True, slots=True)
class PartFigures:
    section: str
    record: str
    source_rows: int
    sent_rows: int


@dataclass(frozen=True, slots=True)
class ExportResult:
    written: WrittenSubmission
    parts: tuple[PartFigures, ...]
    suppressed: tuple[SuppressionNote, ...]
    notes: tuple[str, ...]
    publisher_normalized_share: float | None
    seconds: float
    level: m.Level
    period: str
    #: Fields the site could not give, as the submission's ``unavailable`` notes say.
    unavailable: tuple[Unavailable, ...] = ()


@dataclass(frozen=True, slots=True)
class Collected:
    """A submission after the policies, not yet written: what a run writes and a preview shows.

    ``decisions`` is the anonymizer's own record of what each counting rule kept (local only).
    Device parts are read again from their sources when iterated: keep them open until done.
    """

    submission: AnonymizedSubmission
    source_rows: tuple[tuple[str, str, int], ...]
    notes: tuple[str, ...]
    decisions: Mapping[tuple[str, str], FieldDecision]
    publisher_normalized_share: float | None
    started: float

    @property
    def suppressed(self) -> tuple[SuppressionNote, ...]:
        return self.submission.suppressed


def current_period(today: date) -> str:
    """The quarterly period ``today`` is in, e.g. 2026-Q4."""
    return period_of(Cadence.QUARTERLY, today).key


def period_end(period: str) -> date:
    """Last day of the period a key names (the reference date for ages and quarters)."""
    try:
        return parse_period(period).end
    except ValueError as exc:
        raise ConfigError(
            f"period '{period}' is not of the form YYYY-Qn or YYYY-MM-DD/P14D", hint="e.g. --period 2026-Q4"
        ) from exc


def build_request(policies: PolicySet, level: m.Level) -> CollectionRequest:
    """For each record type collected at ``level``: the fields to read (sent + their inputs)."""
    fields: dict[str, frozenset[str]] = {}
    for rt in m.RECORD_TYPES:
        if not level.includes(rt.LEVEL):
            continue
        sent = frozenset(policies[rt.NAME].sent_fields(level))
        fields[rt.NAME] = inputs_for(rt.NAME, sent)
    return CollectionRequest(level=level, fields=fields)


def run_export(
    sources: Connector | Sequence[Connector],
    policies: PolicySet,
    *,
    level: m.Level,
    period: str,
    secret_for: Callable[[str], SiteSecret],
    out_dir: Path,
    now: datetime | None = None,
    site_code: str,
    feedback: tuple[int, str | None] | None = None,
    revision: int = 0,
    supersedes: str | None = None,
    contributor: str | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> ExportResult:
    """Collect, normalize, anonymize and write one submission; nothing is written on failure."""
    collected = collect(
        sources,
        policies,
        level=level,
        period=period,
        secret=secret_for(site_code),
        site_code=site_code,
        feedback=feedback,
        revision=revision,
        supersedes=supersedes,
        contributor=contributor,
        progress=progress,
    )
    return write(collected, out_dir, now=now)


def collect(
    sources: Connector | Sequence[Connector],
    policies: PolicySet,
    *,
    level: m.Level,
    period: str,
    secret: SiteSecret,
    site_code: str,
    feedback: tuple[int, str | None] | None = None,
    revision: int = 0,
    supersedes: str | None = None,
    only: Collection[str] | None = None,
    contributor: str | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> Collected:
    """Every phase but the last: the anonymized submission ``sources`` give for ``site_code``.

    Each section comes whole from the first source the policies' source preference names that
    offers any of its records (the submission says which one did). A source the preference does
    not rank for a section (AD coverage) fills only records none of the ranked ones offers.
    ``only`` (record names) leaves every other record empty and unread, sources chosen alike.
    ``feedback``'s comment must be the text an admin confirmed; ``contributor`` is the
    installation's contributor pseudonym (``collector.contributor.contributor_pseudonym``).
    ``progress`` is told (record type name, rows read so far) as each record type is read:
    names and counts only, never a value.
    """
    started = time.perf_counter()
    request = build_request(policies, level)
    opened = [sources] if isinstance(sources, Connector) else list(sources)
    offered = {c.name: {s.record_type.NAME: s for s in c.streams(request)} for c in opened}
    sections, filled_by, reads = _plan_reads(offered, policies, level, only)
    publisher = NormalizationStats()
    # Sources that let their streams be read from another thread (the SQL connector).
    concurrent = {c.name for c in opened if getattr(c, "concurrent_reads", False)}
    ahead = [(rt, s) for _, rt, name, s in reads if name in concurrent]
    lanes = ([s for rt, s in ahead if rt is not m.Software], [s for rt, s in ahead if rt is m.Software])
    own_names = own_names_of(opened)  # before the lanes: the source has at most two statements at once
    with ReadAhead(lanes) as read_ahead:  # the source's scans start now, the rest is set up meanwhile
        anonymizer = Anonymizer(
            policies,
            secret,
            level,
            reference=period_end(period),
            period=period,
            own_names=own_names,
        )
        names: dict[str, str] = {}
        for section, rt, name, stream in reads:
            log.info("collecting %s from %s", rt.NAME, stream.source)
            source = read_ahead.reader(stream) if name in concurrent else stream.read
            reader = _counted(_reader(source, publisher), rt.NAME, progress)
            sections[section][rt.NAME] = anonymizer.part(rt, reader)
            _add_source(names, section, name)
    notes = tuple(n for c in opened for n in c.skipped(request))
    doc = anonymizer.finish(
        site=anonymizer.site_pseudonym(site_code),
        period=period,
        sections=sections,
        sources=names,
        feedback=feedback,
        revision=revision,
        supersedes=supersedes,
        contributor=contributor,
        unavailable=_unavailable(opened, request, filled_by),
    )
    if any(n.reason == "reconfirm" for n in doc.suppressed):
        notes += (RECONFIRM_NOTE,)
    rows = tuple((s, r, part.source_rows) for s, parts in sections.items() for r, part in parts.items())
    log.info(
        "site %s %s: extracted, derived and anonymized %d records in %.1f s (%d notes)",
        site_code,
        period,
        len(rows),
        time.perf_counter() - started,
        len(notes),
    )
    return Collected(doc, rows, notes, anonymizer.decisions, publisher.share_normalized, started)


def write(collected: Collected, out_dir: Path, *, now: datetime | None = None) -> ExportResult:
    """The last phase: validate and write the anonymized submission to ``out_dir``."""
    written = write_submission(collected.submission, out_dir, now=now)
    log.info("wrote document %s: %d bytes", written.document_id, written.size)
    figures = tuple(
        PartFigures(section, record, source_rows, written.rows.get(record, 0))
        for section, record, source_rows in collected.source_rows
    )
    return ExportResult(
        written=written,
        parts=figures,
        suppressed=collected.suppressed,
        notes=collected.notes,
        publisher_normalized_share=collected.publisher_normalized_share,
        seconds=time.perf_counter() - collected.started,
        level=collected.submission.level,
        period=collected.submission.period,
        unavailable=collected.submission.unavailable,
    )


def _choose(
    section: str,
    types_: Sequence[type[m.Record]],
    offered: Mapping[str, Mapping[str, Stream]],
    preference: Sequence[str],
) -> str | None:
    """The connector that fills ``section``: the first preferred one offering any of its records."""
    order = [*preference, *(n for n in offered if n not in preference)]
    for name in order:
        if any(rt.NAME in offered.get(name, {}) for rt in types_):
            return name
    return None


def _filler(
    record: str, chosen: str | None, offered: Mapping[str, Mapping[str, Stream]], ranked: Sequence[str]
) -> str | None:
    """The source of one record: the section's source, else an unranked source offering it."""
    if chosen is not None and record in offered.get(chosen, {}):
        return chosen
    return next((n for n in offered if n not in ranked and n != chosen and record in offered[n]), None)


def _unavailable(
    opened: Sequence[Connector], request: CollectionRequest, filled_by: Mapping[str, str | None]
) -> list[Unavailable]:
    """What the sources could not give: for a record one source filled, that source's word on it;
    for a record no source filled, every source's."""
    out: list[Unavailable] = []
    for connector in opened:
        for u in unavailable_of(connector, request):
            if filled_by.get(u.record) in (None, connector.name):
                out.append(u)
    return out


def _add_source(sources: dict[str, str], section: str, name: str) -> None:
    """Record that ``name`` filled part of ``section`` (several sources join with '+')."""
    names = set(filter(None, sources.get(section, "").split("+"))) | {name}
    sources[section] = "+".join(sorted(names))


#: One part to read: its section, record type, the name of the source that fills it, its stream.
_Read = tuple[str, type[m.Record], str, Stream]


def _plan_reads(
    offered: Mapping[str, Mapping[str, Stream]],
    policies: PolicySet,
    level: m.Level,
    only: Collection[str] | None,
) -> tuple[dict[str, dict[str, AnonymizedPart]], dict[str, str | None], list[_Read]]:
    """Every part of the submission at ``level`` (empty until read), the source filling each
    record, and the parts to read in the order they are read (``_read_order``)."""
    sections: dict[str, dict[str, AnonymizedPart]] = {}
    filled_by: dict[str, str | None] = {}
    reads: list[_Read] = []
    for section, types_ in m.SECTIONS.items():
        if not level.includes(types_[0].LEVEL):
            continue
        sections[section] = {}
        ranked = policies.source_preference.get(section, ())
        chosen = _choose(section, types_, offered, ranked)
        for rt in types_:
            name = _filler(rt.NAME, chosen, offered, ranked)
            filled_by[rt.NAME] = name
            stream = offered[name][rt.NAME] if name else None
            sections[section][rt.NAME] = AnonymizedPart(rt.NAME, rt.KIND, ())
            if stream is not None and (only is None or rt.NAME in only):
                reads.append((section, rt, str(name), stream))
    reads.sort(key=_read_order)
    return sections, filled_by, reads


def _read_order(read: _Read) -> int:
    """Parts are anonymized in this order (the submission is the same in any): the device rows
    first, the part with Python work on every row; then software, the site's largest scan
    with few rows; then the rest in document order. A source that allows it is read ahead
    (``ReadAhead``) in two lanes, software alone in the second: its scan runs while the device
    rows are worked on, and the source never has more than two statements at once."""
    rt = read[1]
    return 0 if rt.KIND is m.RecordKind.DEVICE else 1 if rt is m.Software else 2


def _reader(
    source: Callable[[], Iterator[m.Record]], publisher: NormalizationStats
) -> Callable[[], Iterator[m.Record]]:
    """The source's records with derived fields filled; software publishers are counted."""

    def read() -> Iterator[m.Record]:
        for raw in source():
            if isinstance(raw, m.Software):
                publisher.add(raw.publisher, raw.installations or 0)
            yield derive(raw)

    return read


#: Rows between two calls of a ``progress`` callback.
PROGRESS_EVERY = 1000


def _counted(
    read: Callable[[], Iterator[m.Record]], record: str, progress: Callable[[str, int], None] | None
) -> Callable[[], Iterator[m.Record]]:
    """``read``, telling ``progress`` the record type and its rows so far (unchanged without one)."""
    if progress is None:
        return read

    def counted() -> Iterator[m.Record]:
        progress(record, 0)
        rows = 0
        for rows, each in enumerate(read(), 1):
            if not rows % PROGRESS_EVERY:
                progress(record, rows)
            yield each
        progress(record, rows)

    return counted
