"""Apply the field policies to canonical records: the only way anything reaches a submission.

The actions are a closed set (see ``policy.Action``). Fields a policy does not send are
never copied. ``AnonymizedSubmission`` can only be made here; the submission writer takes
nothing else, so raw records cannot reach an output by mistake.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sccm_cep.model import Level, Record, RecordKind, record_type
from sccm_cep.privacy.cells import (
    BELOW,
    DEFAULT_K,
    RATE_BASES,
    ROUNDING_BASE,
    check_total_bands,
    count_fields,
    minimum_count,
    round_count,
)
from sccm_cep.privacy.generalize import generalize
from sccm_cep.privacy.identifiers import has_identifier
from sccm_cep.privacy.policy import Action, FieldPolicy, Policy, PolicySet
from sccm_cep.privacy.pseudonyms import SiteSecret
from sccm_cep.privacy.scrub import scrub

__all__ = [
    "DEFAULT_K",
    "OTHER",
    "ROUNDING_BASE",
    "AnonymizedPart",
    "AnonymizedSubmission",
    "Anonymizer",
    "FieldDecision",
    "SiteSecret",
    "SuppressionNote",
    "count_fields",
    "minimum_count",
    "round_count",
]

#: What a suppressed or cut value becomes.
OTHER = "other"
_TOKEN = object()
Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class SuppressionNote:
    """What a counting action hid: how many distinct values and devices became 'other'."""

    record: str
    field: str
    action: str
    threshold: int
    values: int
    devices: int
    #: Why: ``threshold`` (rare, or outside the top n) or ``identifier`` (the value carries an
    #: e-mail address, account, path, address, number or host name: never sent, whatever k).
    #: Action ``min_count`` (no small cells, level basic): ``small_cell`` (aggregate rows below
    #: k folded into the ``other`` row), ``dropped`` (that ``other`` row stayed below k and was
    #: not sent) or ``small_count`` (a site object's count below k sent as ``"<k"``).
    reason: str = "threshold"


@dataclass(frozen=True, slots=True)
class FieldDecision:
    """What a counting action decided for one field: devices per value, and the values kept.

    Local only (a reviewer's explain): the values are never written anywhere.
    """

    devices: Mapping[Any, int]
    kept: frozenset[Any]


@dataclass(frozen=True, slots=True)
class AnonymizedPart:
    """The sent rows of one record type. Device rows come as a one-shot stream."""

    record: str
    kind: RecordKind
    fields: tuple[str, ...]
    rows: tuple[Row, ...] = ()
    stream: Callable[[], Iterator[Row]] | None = None
    source_rows: int = 0

    def iter_rows(self) -> Iterator[Row]:
        return self.stream() if self.stream is not None else iter(self.rows)


@dataclass(frozen=True, slots=True)
class AnonymizedSubmission:
    """Everything a submission document holds, after the policies. Made only by Anonymizer."""

    site: str
    level: Level
    period: str
    policy_digest: str
    sections: Mapping[str, Mapping[str, AnonymizedPart]]
    sources: Mapping[str, str]
    suppressed: tuple[SuppressionNote, ...]
    feedback: Mapping[str, Any] | None = None
    revision: int = 0
    supersedes: str | None = None
    _token: object = dataclasses.field(repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        if self._token is not _TOKEN:
            raise TypeError("AnonymizedSubmission is made by Anonymizer.finish only")


class Anonymizer:
    """Applies one policy set at one level with one site's secret."""

    def __init__(self, policies: PolicySet, secret: SiteSecret, level: Level, *, reference: date) -> None:
        self.policies = policies
        self.level = level
        self.reference = reference
        self._secret = secret
        self._notes: list[SuppressionNote] = []
        self._decisions: dict[tuple[str, str], FieldDecision] = {}
        #: k of the no-small-cells rule; the total bands are checked against it up front.
        self.k = minimum_count(policies)
        if level is Level.BASIC:
            check_total_bands(policies)

    # -- public --------------------------------------------------------------------------

    @property
    def decisions(self) -> Mapping[tuple[str, str], FieldDecision]:
        """(record, field) → what its counting action kept, for every counted field so far."""
        return dict(self._decisions)

    def site_pseudonym(self, site_code: str) -> str:
        """The pseudonym of ``site_code``, which must be the site the secret belongs to."""
        if site_code.strip().upper() != self._secret.site:
            raise ValueError("the site secret belongs to another site")
        return self._secret.pseudonym("site", site_code)

    def part(self, rt: type[Record], source: Callable[[], Iterable[Record]]) -> AnonymizedPart:
        """Anonymize the records ``source()`` yields, by the record type's kind."""
        policy = self.policies[rt.NAME]
        fields = policy.sent_fields(self.level)
        if rt.KIND is RecordKind.DEVICE:
            return self._devices(rt, policy, fields, source)
        records = list(source())
        if rt.KIND is RecordKind.AGGREGATE:
            rows = self._aggregate(rt, policy, fields, records)
        else:
            rows = [self._row(policy, fields, r, {}) for r in records]
            if self.level is Level.BASIC:
                self._withhold_small_rates(rt, fields, records, rows)
            rows.sort(key=_sort_key(None))
        return AnonymizedPart(rt.NAME, rt.KIND, fields, rows=tuple(rows), source_rows=len(records))

    def finish(
        self,
        *,
        site: str,
        period: str,
        sections: Mapping[str, Mapping[str, AnonymizedPart]],
        sources: Mapping[str, str],
        feedback: tuple[int, str | None] | None = None,
        revision: int = 0,
        supersedes: str | None = None,
    ) -> AnonymizedSubmission:
        answer = None
        if feedback is not None:
            score, comment = feedback
            # The comment is free text: the same scrubber as any free text, never raw.
            answer = {"score": int(score), "comment": scrub(comment) if comment else None}
        if self.level is Level.BASIC:
            sections = {
                section: {name: self._no_small_cells(part) for name, part in parts.items()}
                for section, parts in sections.items()
            }
        return AnonymizedSubmission(
            site=site,
            level=self.level,
            period=period,
            policy_digest=self.policies.digest,
            sections=sections,
            sources=sources,
            suppressed=tuple(self._notes),
            feedback=answer,
            revision=revision,
            supersedes=supersedes,
            _token=_TOKEN,
        )

    # -- no small cells (level basic, the final phase) ------------------------------------

    def _no_small_cells(self, part: AnonymizedPart) -> AnonymizedPart:
        """One rule for every basic part: each published count is >= k and a multiple of 5.

        Aggregate rows whose weight is below k are folded into one ``other`` row (every other
        field ``other``); when that row stays below k it is dropped. Then every count (the
        weight, and any field named ``*_count``) is rounded to the nearest multiple of 5, never
        below k; a site object's count below k is sent as ``"<k"``.
        """
        if part.kind is RecordKind.DEVICE:
            return part
        rt = record_type(part.record)
        counts = count_fields(rt, part.fields)
        if not counts:
            return part
        rows = [dict(r) for r in part.rows]
        weight = rt.WEIGHT if rt.KIND is RecordKind.AGGREGATE and rt.WEIGHT in part.fields else None
        if weight is not None:
            rows = self._fold_small(part, weight, rows)
        withheld: Counter[str] = Counter()
        for row in rows:
            for f in counts:
                value = row.get(f)
                if isinstance(value, bool) or not isinstance(value, int):
                    continue
                if value < self.k:
                    row[f] = BELOW.format(k=self.k)
                    withheld[f] += 1
                else:
                    row[f] = round_count(value, self.k)
        for f, n in sorted(withheld.items()):
            self._notes.append(SuppressionNote(part.record, f, "min_count", self.k, n, 0, "small_count"))
        rows.sort(key=_sort_key(weight))
        return dataclasses.replace(part, rows=tuple(rows), stream=None)

    def _withhold_small_rates(
        self, rt: type[Record], fields: tuple[str, ...], records: list[Record], rows: list[Row]
    ) -> None:
        """A share (``*_rate``) of fewer than k devices is not sent: it would tell of each one.

        Rates are computed from exact counts and rounded to 0.05; they are sent only when the
        count they are shares of (``targeted``, ``evaluated``: RATE_BASES) is at least k.
        """
        rates = [f for f in fields if f.endswith("_rate")]
        names = {f.name for f in dataclasses.fields(rt)}
        bases = [f for f in RATE_BASES if f in names]
        if not rates or not bases:
            return
        withheld = 0
        for record, row in zip(records, rows, strict=True):
            known = [getattr(record, f) for f in bases if isinstance(getattr(record, f), int)]
            if known and min(known) < self.k and any(row.get(f) is not None for f in rates):
                withheld += 1
                for f in rates:
                    row[f] = None
        if withheld:
            self._notes.append(
                SuppressionNote(rt.NAME, "*_rate", "min_count", self.k, withheld, 0, "small_count")
            )

    def _fold_small(self, part: AnonymizedPart, weight: str, rows: list[Row]) -> list[Row]:
        keys = [f for f in part.fields if f != weight]
        small = [r for r in rows if int(r.get(weight) or 0) < self.k]
        if not small:
            return rows
        kept = [r for r in rows if int(r.get(weight) or 0) >= self.k]
        total = sum(int(r.get(weight) or 0) for r in small)
        self._notes.append(
            SuppressionNote(part.record, weight, "min_count", self.k, len(small), total, "small_cell")
        )
        other = next((r for r in kept if all(r.get(f) == OTHER for f in keys)), None)
        if other is not None:
            other[weight] += total
        elif total >= self.k:
            kept.append({**dict.fromkeys(keys, OTHER), weight: total})
        else:
            self._notes.append(SuppressionNote(part.record, weight, "min_count", self.k, 1, total, "dropped"))
        return kept

    # -- kinds ---------------------------------------------------------------------------

    def _aggregate(
        self, rt: type[Record], policy: Policy, fields: tuple[str, ...], records: list[Record]
    ) -> list[Row]:
        weight = rt.WEIGHT
        assert weight is not None
        kept = self._kept_values(rt, policy, fields, records, weight)
        merged: dict[tuple[Any, ...], Row] = {}
        keys = tuple(f for f in fields if f != weight)
        for record in records:
            row = self._row(policy, fields, record, kept)
            key = tuple(_hashable(row.get(k)) for k in keys)
            have = merged.get(key)
            if have is None:
                merged[key] = row
            else:
                have[weight] += row[weight]
        return sorted(merged.values(), key=_sort_key(weight))

    def _devices(
        self,
        rt: type[Record],
        policy: Policy,
        fields: tuple[str, ...],
        source: Callable[[], Iterable[Record]],
    ) -> AnonymizedPart:
        counted = [f for f in fields if _counts(policy.field(f))]
        kept: dict[str, set[Any]] = {}
        total = 0
        if counted:
            # First pass: value frequencies only (memory grows with distinct values).
            tallies: dict[str, Counter[Any]] = {f: Counter() for f in counted}
            for record in source():
                total += 1
                for f in counted:
                    tallies[f][getattr(record, f)] += 1
            for f in counted:
                kept[f] = self._decide(rt.NAME, policy.field(f), tallies[f])

        def rows() -> Iterator[Row]:
            for record in source():
                yield self._row(policy, fields, record, kept)

        return AnonymizedPart(rt.NAME, rt.KIND, fields, stream=rows, source_rows=total)

    # -- counting actions -----------------------------------------------------------------

    def _kept_values(
        self,
        rt: type[Record],
        policy: Policy,
        fields: tuple[str, ...],
        records: list[Record],
        weight: str,
    ) -> dict[str, set[Any]]:
        kept: dict[str, set[Any]] = {}
        for f in fields:
            fp = policy.field(f)
            if not _counts(fp):
                continue
            devices: Counter[Any] = Counter()
            for record in records:
                value, w = getattr(record, f), int(getattr(record, weight) or 0)
                if rt.DISJOINT:
                    devices[value] += w
                else:
                    # Rows may overlap on devices: the largest row is the only sure lower
                    # bound, so a rare title is never kept by adding up its variants.
                    devices[value] = max(devices[value], w)
            kept[f] = self._decide(rt.NAME, fp, devices)
        return kept

    def _decide(self, record: str, fp: FieldPolicy, devices: Counter[Any]) -> set[Any]:
        # Every value a counting action may keep is a name (product, publisher, vendor,
        # model, CPU, edition): one that carries an identifier is never kept, whatever k.
        withheld = {v for v in devices if isinstance(v, str) and has_identifier(v)}
        if fp.action is Action.SUPPRESS_BELOW:
            k = int(fp.params["k"])
            keep = {v for v, n in devices.items() if v not in withheld and (v is None or n >= k)}
            threshold = k
        else:
            n = int(fp.params["n"])
            candidates = [(v, c) for v, c in devices.items() if v not in withheld]
            ranked = sorted(candidates, key=lambda vn: (-vn[1], str(vn[0])))
            keep = {v for v, _ in ranked[:n]} | {None}
            threshold = n
        self._decisions[(record, fp.name)] = FieldDecision(devices, frozenset(keep))
        hidden = [v for v in devices if v not in keep and v not in withheld]
        for values, reason in ((hidden, "threshold"), (sorted(withheld), "identifier")):
            if values:
                self._notes.append(
                    SuppressionNote(
                        record,
                        fp.name,
                        fp.action.value,
                        threshold,
                        len(values),
                        sum(devices[v] for v in values),
                        reason,
                    )
                )
        return keep

    # -- one row ---------------------------------------------------------------------------

    def _row(
        self, policy: Policy, fields: tuple[str, ...], record: Record, kept: Mapping[str, set[Any]]
    ) -> Row:
        row: Row = {}
        for f in fields:
            fp = policy.field(f)
            value = getattr(record, f)
            if f in kept:
                row[f] = value if value in kept[f] else OTHER
            else:
                row[f] = self._apply(fp, value)
        return row

    def _apply(self, fp: FieldPolicy, value: Any) -> Any:
        if value is None:
            return None
        action = fp.action
        if action is Action.KEEP:
            return _plain(value)
        if action is Action.PSEUDONYMIZE:
            return self._secret.pseudonym(str(fp.params["namespace"]), value)
        if action is Action.SCRUB:
            return scrub(str(value), max_length=int(fp.params.get("max_length", 256)))
        if action is Action.GENERALIZE:
            return generalize(fp.params, value, self.reference)
        raise AssertionError(f"{action} is applied by counting, not per value")


def _counts(fp: FieldPolicy) -> bool:
    return fp.action in (Action.SUPPRESS_BELOW, Action.TOP_N)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _hashable(value: Any) -> Any:
    return value if not isinstance(value, list | dict) else repr(value)


def _sort_key(weight: str | None) -> Callable[[Row], tuple[Any, ...]]:
    def key(row: Row) -> tuple[Any, ...]:
        text = repr(sorted((k, str(v)) for k, v in row.items() if k != weight))
        return (-(row.get(weight) or 0) if weight else 0, text)

    return key
