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
from itertools import pairwise
from typing import Any

from sccm_cep.model import Level, Record, RecordKind
from sccm_cep.normalize import major_minor
from sccm_cep.privacy.identifiers import has_identifier
from sccm_cep.privacy.policy import Action, FieldPolicy, Policy, PolicySet
from sccm_cep.privacy.pseudonyms import SiteSecret
from sccm_cep.privacy.scrub import scrub

__all__ = [
    "OTHER",
    "AnonymizedPart",
    "AnonymizedSubmission",
    "Anonymizer",
    "FieldDecision",
    "SiteSecret",
    "SuppressionNote",
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
            rows = sorted((self._row(policy, fields, r, {}) for r in records), key=_sort_key(None))
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
            return _generalize(fp.params, value, self.reference)
        raise AssertionError(f"{action} is applied by counting, not per value")


def _counts(fp: FieldPolicy) -> bool:
    return fp.action in (Action.SUPPRESS_BELOW, Action.TOP_N)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _generalize(params: Mapping[str, Any], value: Any, reference: date) -> Any:
    scheme = params["scheme"]
    if scheme == "major_minor":
        return major_minor(str(value))
    if scheme == "year":
        return _year(value)
    if scheme == "quarter":
        if isinstance(value, datetime | date):
            return f"{value.year}-Q{(value.month - 1) // 3 + 1}"
        return None
    number = _number(value)
    if number is None:
        return None
    if scheme == "round":
        step = float(params["step"])
        return round(round(number / step) * step, 6)
    if scheme == "age_years":
        year = _year(value)
        if year is None:
            return None
        number = max(reference.year - year, 0)
        if "edges" not in params:
            return int(number)
    return _band(number, params["edges"])


def _band(number: float, edges: list[float]) -> str:
    if number < edges[0]:
        return f"<{_fmt(edges[0])}"
    for low, high in pairwise(edges):
        if low <= number < high:
            return f"{_fmt(low)}-{_fmt(high)}"
    return f">={_fmt(edges[-1])}"


def _fmt(n: float) -> str:
    return str(int(n)) if float(n).is_integer() else str(n)


def _year(value: Any) -> int | None:
    if isinstance(value, datetime | date):
        return value.year
    if isinstance(value, int) and 1900 < value < 3000:
        return value
    text = str(value).strip()
    return int(text[:4]) if len(text) >= 4 and text[:4].isdigit() else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    return None


def _hashable(value: Any) -> Any:
    return value if not isinstance(value, list | dict) else repr(value)


def _sort_key(weight: str | None) -> Callable[[Row], tuple[Any, ...]]:
    def key(row: Row) -> tuple[Any, ...]:
        text = repr(sorted((k, str(v)) for k, v in row.items() if k != weight))
        return (-(row.get(weight) or 0) if weight else 0, text)

    return key
