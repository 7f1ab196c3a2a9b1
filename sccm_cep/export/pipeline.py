"""One export: connector streams → derive (normalize) → anonymize (policy) → submission file.

Each phase has its own module and errors; this module only wires them in order and keeps
the figures a run summary shows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sccm_cep import model as m
from sccm_cep.collector.cadence import Cadence, parse_period, period_of
from sccm_cep.connector import CollectionRequest, Connector, RecordSource, Stream
from sccm_cep.errors import ConfigError
from sccm_cep.export.derive import derive, inputs_for
from sccm_cep.export.write import WrittenSubmission, write_submission
from sccm_cep.normalize import NormalizationStats
from sccm_cep.privacy.anonymize import AnonymizedPart, Anonymizer, SiteSecret, SuppressionNote
from sccm_cep.privacy.policy import PolicySet

__all__ = ["ExportResult", "build_request", "current_period", "period_end", "run_export"]

log = logging.getLogger("sccm_cep.export.pipeline")


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
    connector: Connector | Sequence[Connector],
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
    extra: Mapping[str, RecordSource] | None = None,
) -> ExportResult:
    """Collect, normalize, anonymize and write one submission; nothing is written on failure.

    With several connectors (a site read from its database and over WinRM), each section
    comes whole from the first connector the policies' source preference names that can
    fill it, and the submission says which one did.
    """
    started = time.perf_counter()
    reference = period_end(period)
    request = build_request(policies, level)
    anonymizer = Anonymizer(policies, secret_for(site_code), level, reference=reference)
    connectors = [connector] if isinstance(connector, Connector) else list(connector)
    offered = {c.name: {s.record_type.NAME: s for s in c.streams(request)} for c in connectors}
    publisher = NormalizationStats()
    sections: dict[str, dict[str, AnonymizedPart]] = {}
    sources: dict[str, str] = {}
    for section, types_ in m.SECTIONS.items():
        if not level.includes(types_[0].LEVEL):
            continue
        sections[section] = {}
        name = _choose(section, types_, offered, policies.source_preference.get(section, ()))
        streams = offered.get(name, {}) if name else {}
        for rt in types_:
            stream = streams.get(rt.NAME)
            if extra and rt.NAME in extra:
                # Records from a second source (e.g. AD coverage counts), through the same policy.
                part = anonymizer.part(rt, extra[rt.NAME].read)
                _add_source(sources, section, extra[rt.NAME].name)
            elif stream is None:
                part = AnonymizedPart(rt.NAME, rt.KIND, ())
            else:
                log.info("collecting %s from %s", rt.NAME, stream.source)
                part = anonymizer.part(rt, _reader(stream, publisher))
                _add_source(sources, section, str(name))
            sections[section][rt.NAME] = part
    notes = tuple(n for c in connectors for n in getattr(c, "skipped", lambda _r: [])(request))
    doc = anonymizer.finish(
        site=anonymizer.site_pseudonym(site_code),
        period=period,
        sections=sections,
        sources=sources,
        feedback=feedback,
        revision=revision,
        supersedes=supersedes,
    )
    written = write_submission(doc, out_dir, now=now)
    figures = tuple(
        PartFigures(section, record, part.source_rows, written.rows.get(record, 0))
        for section, parts in sections.items()
        for record, part in parts.items()
    )
    return ExportResult(
        written=written,
        parts=figures,
        suppressed=doc.suppressed,
        notes=notes,
        publisher_normalized_share=publisher.share_normalized,
        seconds=time.perf_counter() - started,
        level=level,
        period=period,
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


def _add_source(sources: dict[str, str], section: str, name: str) -> None:
    """Record that ``name`` filled part of ``section`` (several sources join with '+')."""
    names = set(filter(None, sources.get(section, "").split("+"))) | {name}
    sources[section] = "+".join(sorted(names))


def _reader(stream: Stream, publisher: NormalizationStats) -> Callable[[], Iterator[m.Record]]:
    """The stream's records with derived fields filled; software publishers are counted."""

    def read() -> Iterator[m.Record]:
        for raw in stream.read():
            if isinstance(raw, m.Software):
                publisher.add(raw.publisher, raw.installations or 0)
            yield derive(raw)

    return read
