"""Apply the field policies to canonical records: the only way anything reaches a submission.

The actions are a closed set (see ``policy.Action``). Fields a policy does not send are
never copied. ``AnonymizedSubmission`` can only be made here; the submission writer takes
nothing else, so raw records cannot reach an output by mistake.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sccm_cep.connector import Unavailable
from sccm_cep.contract.submission import MAX_INT, MAX_TEXT
from sccm_cep.model import SECTIONS, Level, Record, RecordKind, record_type
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
from sccm_cep.privacy.kanon import Plan, device_hierarchy, plan
from sccm_cep.privacy.own_names import own_name_matcher
from sccm_cep.privacy.policy import Action, FieldPolicy, Policy, PolicySet
from sccm_cep.privacy.pseudonyms import SiteSecret
from sccm_cep.privacy.recognized import DETAILS, UNRECOGNIZED, recognized, requires_recognition
from sccm_cep.privacy.scrub import scrub
from sccm_cep.privacy.spill import RowSpill

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
    "device_namespace",
    "minimum_count",
    "round_count",
]

#: What a suppressed or cut value becomes.
OTHER = "other"
log = logging.getLogger("sccm_cep.privacy.anonymize")
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
    #: e-mail address, account, path, address, number or host name: never sent, whatever k) or
    #: ``unrecognized`` (a software name no shipped catalog of public software knows: sent as
    #: ``unrecognized``, whatever k; privacy/recognized.py).
    #: Action ``min_count`` (no small cells, level basic): ``small_cell`` (aggregate rows below
    #: k folded into the ``other`` row), ``dropped`` (that ``other`` row stayed below k and was
    #: not sent) or ``small_count`` (a site object's count below k sent as ``"<k"``).
    #: Level enhanced, device rows (k-anonymity, privacy/kanon.py): action ``generalize`` with
    #: reason ``k_anonymity`` (a field coarsened to hierarchy level ``threshold``; ``values``
    #: distinct values merged away, ``devices`` rows changed), and action ``k_anonymity`` on field
    #: ``*`` (``values`` combinations on fewer than ``threshold`` = k rows, ``devices`` rows not sent).
    #: Record ``feedback``: ``reconfirm`` (the confirmed comment changed when scrubbed again;
    #: not sent).
    reason: str = "threshold"


@dataclass(frozen=True, slots=True)
class FieldDecision:
    """What a counting action decided for one field: devices per value, and the values kept.

    Local only (a reviewer's explain): the values are never written anywhere.
    """

    devices: Mapping[Any, int]
    kept: frozenset[Any]
    #: Names no shipped catalog recognizes: sent as ``unrecognized`` (the others not kept: ``other``).
    unrecognized: frozenset[Any] = frozenset()
    #: Device fields: the whole treatment (the field's action, then the k-anonymity plan's level).
    send: Callable[[Any], Any] | None = None

    def sent(self, value: Any) -> Any:
        """What a row with ``value`` sends in this field."""
        if self.send is not None:
            return self.send(value)
        if value in self.kept:
            return value
        return UNRECOGNIZED if value in self.unrecognized else OTHER


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
    #: The installation's contributor pseudonym (same for all its sites and key versions).
    contributor: str | None = None
    #: Fields the site could not give (the submission's ``unavailable`` notes).
    unavailable: tuple[Unavailable, ...] = ()
    _token: object = dataclasses.field(repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        if self._token is not _TOKEN:
            raise TypeError("AnonymizedSubmission is made by Anonymizer.finish only")


class Anonymizer:
    """Applies one policy set at one level with one site's secret."""

    def __init__(
        self,
        policies: PolicySet,
        secret: SiteSecret,
        level: Level,
        *,
        reference: date,
        period: str | None = None,
        own_names: Iterable[str] = (),
    ) -> None:
        self.policies = policies
        #: The site's own names (read for this check only): a value carrying one is withheld.
        self._carries_own_name = own_name_matcher(own_names)
        self.level = level
        self.reference = reference
        #: The period the submission covers; device pseudonyms are keyed per period (see
        #: ``_rotating``). Without one, the quarter of ``reference``.
        self.period = period or f"{reference.year}-Q{(reference.month - 1) // 3 + 1}"
        self._secret = secret
        self._notes: list[SuppressionNote] = []
        self._part_notes: dict[str, list[SuppressionNote]] = {}
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
        before = len(self._notes)
        try:
            return self._part(rt, source)
        finally:
            # Parts may be anonymized in any order; their notes are kept in the record types'
            # order (see ``finish``), so the submission does not depend on it.
            self._part_notes.setdefault(rt.NAME, []).extend(self._notes[before:])
            del self._notes[before:]

    def _part(self, rt: type[Record], source: Callable[[], Iterable[Record]]) -> AnonymizedPart:
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
        contributor: str | None = None,
        unavailable: Iterable[Unavailable] = (),
    ) -> AnonymizedSubmission:
        """The submission; ``feedback`` is the score and the comment an admin confirmed as
        scrubbed. The comment is scrubbed again: when that changes it (the scrubber improved
        since), it is not sent, and a note (reason ``reconfirm``) says it needs confirming again."""
        by_part = self._part_notes
        order = [rt.NAME for types_ in SECTIONS.values() for rt in types_]
        ordered = [n for name in sorted(by_part, key=order.index) for n in by_part[name]]
        self._notes[:0] = ordered
        by_part.clear()
        answer = None
        if feedback is not None:
            score, comment = feedback
            if comment and scrub(comment) != comment:
                self._notes.append(SuppressionNote("feedback", "comment", "scrub", 0, 1, 0, "reconfirm"))
                comment = None
            answer = {"score": int(score), "comment": comment or None}
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
            contributor=contributor,
            unavailable=self._known_unavailable(unavailable),
            _token=_TOKEN,
        )

    def _known_unavailable(self, entries: Iterable[Unavailable]) -> tuple[Unavailable, ...]:
        """The notes on fields a source could not give, for fields the policies name at this level
        only (default deny holds for notes too), one per field, in a stable order."""
        out: dict[tuple[str, str], Unavailable] = {}
        for u in entries:
            policy = self.policies.policies.get(u.record)
            if policy is None or u.field not in policy.fields:
                continue
            if not self.level.includes(record_type(u.record).LEVEL):
                continue
            out.setdefault((u.record, u.field), u)
        return tuple(out[k] for k in sorted(out))

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
        """Device rows, k-anonymous: every combination of the sent fields but the pseudonym is
        on at least k rows (privacy/kanon.py). ``source`` is read once: that pass counts values
        and combinations (memory grows with distinct combinations, not with devices) and keeps
        each row as the policy makes it, counted fields still raw, in a spill (privacy/spill.py);
        the stream then reads the spill, generalized as planned, without those still below k."""
        policy = self._rotating(policy)
        counted = tuple(f for f in fields if _counts(policy.field(f)))
        quasi = tuple(f for f in fields if policy.field(f).action is not Action.PSEUDONYMIZE)
        # A spilled row: the fields the policy sets per value (pseudonym, direct), then the counted.
        layout = (*(f for f in fields if f not in counted), *counted)
        make = self._device_values(policy, layout, counted)
        at = tuple(layout.index(f) for f in quasi)
        tallied = tuple((layout.index(f), Counter[Any]()) for f in counted)
        combos: Counter[tuple[Any, ...]] = Counter()
        spill = RowSpill()
        for record in source():
            values = make(record)
            for i, tally in tallied:
                tally[values[i]] += 1
            # Counted fields raw (kept or not is decided below), the others as they are sent.
            _add(combos, tuple([values[i] for i in at]))
            spill.append(values)
        tallies = {f: tally for f, (_, tally) in zip(counted, tallied, strict=True)}
        kept = {f: self._decide(rt.NAME, policy.field(f), tallies[f]) for f in counted}
        # What ``_row`` will send for a counted value is its decision's (kept, or hidden).
        decided = {f: self._decisions[(rt.NAME, f)] for f in counted}
        sent: Counter[tuple[Any, ...]] = Counter()
        for combo, n in combos.items():
            pairs = zip(quasi, combo, strict=True)
            sent[tuple(decided[f].sent(v) if f in decided else v for f, v in pairs)] += n
        del combos  # from here on only the combinations as sent count
        chosen = plan(sent, [device_hierarchy(f, policy.field(f).params) for f in quasi], self.k)
        self._note_plan(rt.NAME, chosen, sent)
        self._explain_plan(rt.NAME, policy, quasi, chosen, tallies)
        # Each counted value as ``_row`` sends it: kept, or hidden, within the contract's bounds.
        final = tuple(
            (layout.index(f), {v: _within(v if v in kept[f] else self._hidden(rt.NAME, f, v)) for v in tally})
            for f, tally in tallies.items()
        )
        del tallies, tallied

        def rows() -> Iterator[Row]:
            for spilled in spill:
                values = list(spilled)
                for i, send in final:
                    values[i] = send[values[i]]
                out = _apply_plan(chosen, tuple([values[i] for i in at]))
                if out is not None:  # None: its combination is on fewer than k rows
                    for i, v in zip(at, out, strict=True):
                        values[i] = v
                    yield dict(zip(layout, values, strict=True))

        return AnonymizedPart(rt.NAME, rt.KIND, fields, stream=rows, source_rows=spill.rows)

    def _device_values(
        self, policy: Policy, layout: tuple[str, ...], counted: tuple[str, ...]
    ) -> Callable[[Record], tuple[Any, ...]]:
        """One device record → its values in ``layout`` order: what ``_row`` sends for each field
        the policy sets per value, counted fields raw. Every action but the pseudonym is a function
        of the value alone, so each distinct value is computed once (up to ``_MEMO`` of them)."""
        if any(name == policy.record for name, _ in DETAILS):  # a row-wide rule: row by row
            applied = tuple(f for f in layout if f not in counted)

            def by_row(record: Record) -> tuple[Any, ...]:
                row = self._row(policy, applied, record, {})
                return (*row.values(), *(getattr(record, f) for f in counted))

            return by_row
        plans: list[tuple[str, dict[Any, Any] | None, Callable[[Any], Any] | None]] = []
        for f in layout:
            fp = policy.field(f)
            if f in counted:
                plans.append((f, None, None))
            else:
                memo: dict[Any, Any] | None = None if fp.action is Action.PSEUDONYMIZE else {}
                plans.append((f, memo, functools.partial(self._sent_value, fp)))

        def values(record: Record) -> tuple[Any, ...]:
            out = []
            for f, memo, apply in plans:
                value = getattr(record, f)
                if apply is None:
                    out.append(value)
                elif memo is None:
                    out.append(apply(value))
                else:
                    out.append(_memo(memo, value, apply))
            return tuple(out)

        return values

    def _explain_plan(
        self,
        record: str,
        policy: Policy,
        quasi: tuple[str, ...],
        chosen: Plan,
        tallies: Mapping[str, Counter[Any]],
    ) -> None:
        """For a reviewer's explain: each device field's decision now also lifts the value to
        the level the plan chose, so what explain shows is what a device row sends."""
        for i, f in enumerate(quasi):
            fp, before = policy.field(f), self._decisions.get((record, f))

            def send(
                value: Any, i: int = i, fp: FieldPolicy = fp, before: FieldDecision | None = before
            ) -> Any:
                sent = before.sent(value) if before is not None else self._apply(fp, value)
                return chosen.lift_one(i, _hashable(sent))

            base = before or FieldDecision(tallies.get(f, Counter()), frozenset())
            self._decisions[(record, f)] = dataclasses.replace(base, send=send)

    def _rotating(self, policy: Policy) -> Policy:
        """Device pseudonyms change every period (namespace ``device/<period>``), so rows of two
        periods cannot be joined on them; a policy that sets ``stable: true`` keeps one."""
        fields = dict(policy.fields)
        for name, fp in policy.fields.items():
            if fp.action is Action.PSEUDONYMIZE:
                namespace = device_namespace(fp, self.period)
                fields[name] = dataclasses.replace(fp, params={**fp.params, "namespace": namespace})
        return dataclasses.replace(policy, fields=fields)

    def _note_plan(self, record: str, chosen: Plan, sent: Counter[tuple[Any, ...]]) -> None:
        """Notes (and one log line) on what the k-anonymity plan generalized and suppressed."""
        lifted = [(combo, chosen.generalize(combo), n) for combo, n in sent.items()]
        for i, (h, level) in enumerate(zip(chosen.hierarchies, chosen.levels, strict=True)):
            if level == 0:
                continue
            before: set[Any] = set()
            after: set[Any] = set()
            changed = 0
            for combo, out, n in lifted:
                before.add(combo[i])
                after.add(out[i])
                changed += n if out[i] != combo[i] else 0
            self._notes.append(
                SuppressionNote(
                    record, h.field, "generalize", level, len(before) - len(after), changed, "k_anonymity"
                )
            )
        if chosen.suppressed_rows:
            self._notes.append(
                SuppressionNote(
                    record,
                    "*",
                    "k_anonymity",
                    self.k,
                    chosen.suppressed_classes,
                    chosen.suppressed_rows,
                    "k_anonymity",
                )
            )
        levels = ", ".join(f"{f}: {name}" for f, name in chosen.level_names().items() if name != "as sent")
        log.info(
            "%s rows k-anonymous for k=%d: %d of %d suppressed; generalized %s",
            record,
            self.k,
            chosen.suppressed_rows,
            chosen.rows,
            levels or "nothing",
        )

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
            kept[f] = self._decide(rt.NAME, fp, devices, _unrecognized(rt.NAME, fp, records))
        return kept

    def _decide(
        self, record: str, fp: FieldPolicy, devices: Counter[Any], unknown: Iterable[Any] = ()
    ) -> set[Any]:
        # Every value a counting action may keep is a name (product, publisher, vendor,
        # model, CPU, edition): one that carries an identifier is never kept, whatever k.
        withheld = {
            v for v in devices if isinstance(v, str) and (has_identifier(v) or self._carries_own_name(v))
        }
        # A software name no shipped catalog recognizes is never kept either, whatever k; it is
        # counted as ``unrecognized`` (an identifier in it still makes it ``other``).
        unrecognized = {v for v in unknown if v not in withheld}
        out = withheld | unrecognized
        if fp.action is Action.SUPPRESS_BELOW:
            k = int(fp.params["k"])
            keep = {v for v, n in devices.items() if v not in out and (v is None or n >= k)}
            threshold = k
        else:
            n = int(fp.params["n"])
            candidates = [(v, c) for v, c in devices.items() if v not in out]
            ranked = sorted(candidates, key=lambda vn: (-vn[1], str(vn[0])))
            keep = {v for v, _ in ranked[:n]} | {None}
            threshold = n
        self._decisions[(record, fp.name)] = FieldDecision(devices, frozenset(keep), frozenset(unrecognized))
        hidden = [v for v in devices if v not in keep and v not in out]
        for values, reason in (
            (hidden, "threshold"),
            (sorted(withheld), "identifier"),
            (sorted(unrecognized), "unrecognized"),
        ):
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
                row[f] = value if value in kept[f] else self._hidden(policy.record, f, value)
            else:
                row[f] = self._apply(fp, value)
        self._bound(policy, row)
        return row

    @staticmethod
    def _bound(policy: Policy, row: Row) -> None:
        """What no row sends: an unrecognized title's details, values past the contract's bounds.
        Idempotent, so a row made in two steps (device rows: ``_devices``) ends as ``_row``'s."""
        for (name, f), details in DETAILS.items():
            # An unrecognized title's version says nothing and would split its count.
            if name == policy.record and row.get(f) == UNRECOGNIZED:
                row.update((d, None) for d in details if d in row)
        for f, v in row.items():
            row[f] = _within(v)

    def _sent_value(self, fp: FieldPolicy, value: Any) -> Any:
        return _within(self._apply(fp, value))

    def _hidden(self, record: str, field: str, value: Any) -> str:
        decision = self._decisions.get((record, field))
        return UNRECOGNIZED if decision is not None and value in decision.unrecognized else OTHER

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


def _unrecognized(record: str, fp: FieldPolicy, records: Iterable[Record]) -> set[Any]:
    """The names of ``fp``'s field that some row shows unrecognized (``privacy/recognized.py``);
    none when the field is not a software name or its policy sets ``recognized_only: false``."""
    if not requires_recognition(record, fp.name, fp.params):
        return set()
    return {
        value
        for r in records
        if isinstance(value := getattr(r, fp.name), str) and not recognized(record, fp.name, r)
    }


def _counts(fp: FieldPolicy) -> bool:
    return fp.action in (Action.SUPPRESS_BELOW, Action.TOP_N)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def device_namespace(fp: FieldPolicy, period: str) -> str:
    """The key namespace of a device record's pseudonym in ``period``: ``device/2026-Q4``, or the
    policy's own namespace when it asks for a stable pseudonym (``stable: true``)."""
    namespace = str(fp.params["namespace"])
    return namespace if fp.params.get("stable") is True else f"{namespace}/{period}"


def _within(value: Any) -> Any:
    """Past the contract's bounds a value carries more than any real one: never sent."""
    kind = type(value)
    if kind is str:
        return OTHER if len(value) > MAX_TEXT else value
    if value is None or kind is bool:
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and not -MAX_INT <= value <= MAX_INT:
        return None
    return value


#: Distinct values per device field whose treatment is remembered (the rest are computed again).
_MEMO = 1 << 16


def _memo(memo: dict[Any, Any], value: Any, apply: Callable[[Any], Any]) -> Any:
    """``apply(value)``, remembered per value and type (``1``, ``1.0`` and ``True`` stay apart)."""
    key = (value.__class__, value)
    try:
        return memo[key]
    except KeyError:
        pass
    except TypeError:  # unhashable (a list): not remembered
        return apply(value)
    out = apply(value)
    if len(memo) < _MEMO:
        memo[key] = out
    return out


def _apply_plan(chosen: Plan, combo: tuple[Any, ...]) -> tuple[Any, ...] | None:
    try:
        return chosen.apply(combo)
    except TypeError:  # a list or a dict among the values: judged (and sent) by its repr
        return chosen.apply(tuple(_hashable(v) for v in combo))


def _add(counter: Counter[tuple[Any, ...]], combo: tuple[Any, ...]) -> None:
    try:
        counter[combo] += 1
    except TypeError:  # a list or a dict among the values: counted by its repr
        counter[tuple(_hashable(v) for v in combo)] += 1


def _hashable(value: Any) -> Any:
    return value if not isinstance(value, list | dict) else repr(value)


def _sort_key(weight: str | None) -> Callable[[Row], tuple[Any, ...]]:
    def key(row: Row) -> tuple[Any, ...]:
        text = repr(sorted((k, str(v)) for k, v in row.items() if k != weight))
        return (-(row.get(weight) or 0) if weight else 0, text)

    return key
