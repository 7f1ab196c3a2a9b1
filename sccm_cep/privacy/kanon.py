"""k-anonymity for the device rows of level enhanced: full-domain generalization along fixed
hierarchies, chosen greedily from the counts of one pass, then suppression of what falls short.

Every sent field but the pseudonym is a quasi-identifier. Each has a hierarchy: level 0 is the
value as the policy sends it, each level above replaces it by a coarser one, and the last level
is ``other`` for every row (the field says nothing). The search needs only a ``Counter`` of
quasi-identifier tuples (bounded by the distinct combinations, never by the rows); the rows are
then streamed once more through ``Plan.apply``. See docs/privacy.md ("Enhanced level").
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sccm_cep.normalize.hardware import chassis_name, form_factor
from sccm_cep.privacy.generalize import band_label, edge_text

__all__ = ["MAX_SUPPRESSED", "OTHER", "Hierarchy", "Plan", "band_hierarchy", "device_hierarchy", "plan"]

OTHER = "other"
#: The share of rows the search may leave to suppression instead of generalizing further.
MAX_SUPPRESSED = 0.05
MEMO = 1 << 18  # combinations whose ``Plan.apply`` answer is remembered
Combo = tuple[Any, ...]
Step = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class Hierarchy:
    """How one field coarsens: ``steps[i]`` maps a level-i value to level i+1; then ``other``."""

    field: str
    names: tuple[str, ...]
    steps: tuple[Step, ...]

    @property
    def top(self) -> int:
        """The level at which every value is ``other``."""
        return len(self.steps) + 1

    def name(self, level: int) -> str:
        if level == 0:
            return "as sent"
        return OTHER if level >= self.top else self.names[level - 1]

    def lift(self, value: Any, level: int) -> Any:
        """The value at ``level + 1`` of a value at ``level``."""
        if level + 1 >= self.top:
            return OTHER
        if value is None or value == OTHER:
            return value  # missing stays missing, other stays other, up to the top
        return self.steps[level](value)


# -- the hierarchies (data) ---------------------------------------------------------------


def _vendor(family: Any) -> Any:
    """``Dell Latitude`` → ``Dell``; ``Lenovo (other)`` → ``Lenovo``. Every maker with product
    lines in normalize/data/hardware.yaml is one word, so the vendor is the family's first word."""
    text = str(family)
    if text.endswith(" (other)"):
        return text.removesuffix(" (other)")
    return text if text == "Virtual Machine" else text.split(" ", 1)[0]


_GENERATION = re.compile(r"\s*\([^)]*\)$")


def _cpu_line(family: Any) -> Any:
    """``Intel Core i5 (13th Gen)`` → ``Intel Core i5``; ``AMD Ryzen 7 PRO`` → ``AMD Ryzen 7``."""
    return _GENERATION.sub("", str(family)).removesuffix(" PRO")


def _first_word(value: Any) -> Any:
    return str(value).split(" ", 1)[0]


def _windows_kind(family: Any) -> Any:
    """``Windows Server 2022`` → ``Windows Server``; ``Windows 11`` → ``Windows``."""
    text = str(family)
    if text.startswith("Windows Server"):
        return "Windows Server"
    return "Windows" if text.startswith("Windows") else OTHER


def _virtual(hypervisor: Any) -> Any:
    """Any hypervisor → ``virtual`` (a physical device has none: it stays empty)."""
    return "virtual"


@lru_cache(maxsize=1)
def _forms() -> dict[str, str]:
    # The SMBIOS chassis types 1-36 of Win32_SystemEnclosure.ChassisTypes
    # (https://learn.microsoft.com/en-us/windows/win32/cimwin32prov/win32-systemenclosure),
    # named and grouped by the hardware normalizer's own table.
    return {str(chassis_name(n)): form_factor(n) for n in range(1, 37) if chassis_name(n)}


def _form(chassis: Any) -> Any:
    """``Notebook`` → ``laptop``, ``Rack Mount Chassis`` → ``server``: the coarse form factor."""
    return _forms().get(str(chassis), OTHER)


def _release_year(release: Any) -> Any:
    """``2509`` → ``25xx``: current-branch releases are named YYMM
    (https://learn.microsoft.com/en-us/intune/configmgr/core/servers/manage/current-branch-versions-supported)."""
    text = str(release)
    return f"{text[:2]}xx" if len(text) == 4 and text.isdigit() else OTHER


#: Named levels above the value as sent, per field; every hierarchy then ends in ``other``.
#: A field not listed here (and not banded) goes straight to ``other``.
MAPS: dict[str, tuple[tuple[str, Step], ...]] = {
    "model_family": (("vendor", _vendor),),
    "cpu_family": (("line", _cpu_line), ("vendor", _first_word)),
    "os_family": (("client or server", _windows_kind),),
    "hypervisor": (("virtual or not", _virtual),),
    "chassis": (("form factor", _form),),
    "client_version": (("year", _release_year),),
}

#: Fields sent as plain numbers: the band edges of their first level.
NUMBER_BANDS: dict[str, tuple[float, ...]] = {"cores": (2, 4, 8, 16, 32, 64, 128)}


_BAND = re.compile(r"^(?:<(?P<below>[0-9.]+)|>=(?P<above>[0-9.]+)|(?P<low>[0-9.]+)-[0-9.]+)$")


def _point(value: Any) -> float | None:
    """A number inside the band ``value`` names (``16-32`` → 16), or the number itself."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    match = _BAND.match(str(value))
    if match is None:
        return None
    try:
        if match["below"] is not None:
            return math.nextafter(float(match["below"]), -math.inf)
        return float(match["above"] if match["above"] is not None else match["low"])
    except ValueError:
        return None


def _reband(edges: tuple[float, ...]) -> Step:
    def step(value: Any) -> Any:
        number = _point(value)
        return OTHER if number is None else band_label(number, edges)

    return step


def band_hierarchy(field: str, edges: Sequence[float], *, numbers: bool = False) -> Hierarchy:
    """Bands widened by merging neighbours: every 2nd edge, then every 4th, … down to one edge.

    Each coarser set of edges is a subset of the finer one, so every band lies inside one wider
    band. ``numbers``: the field is sent as a number, and level 1 is the bands of ``edges``.
    """
    sets: list[tuple[float, ...]] = [tuple(edges)] if numbers else []
    stride = 2
    while len(edges) >= stride:
        sets.append(tuple(edges[::stride]))
        if len(sets[-1]) == 1:
            break
        stride *= 2
    names = tuple(f"bands {'/'.join(edge_text(e) for e in s)}" for s in sets)
    return Hierarchy(field, names, tuple(_reband(s) for s in sets))


def device_hierarchy(field: str, params: Mapping[str, Any]) -> Hierarchy:
    """The hierarchy of one device field, given its policy parameters (band edges)."""
    if field in MAPS:
        names, steps = zip(*MAPS[field], strict=True)
        return Hierarchy(field, tuple(names), tuple(steps))
    if params.get("scheme") in ("bands", "age_years") and params.get("edges"):
        return band_hierarchy(field, [float(e) for e in params["edges"]])
    if field in NUMBER_BANDS:
        return band_hierarchy(field, NUMBER_BANDS[field], numbers=True)
    return Hierarchy(field, (), ())


# -- the search ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Plan:
    """The generalization chosen for a table, and what it leaves to suppress."""

    hierarchies: tuple[Hierarchy, ...]
    levels: tuple[int, ...]
    k: int
    rows: int
    #: Rows per combination after generalization (each value as ``_key``: type and value, so
    #: ``1`` and ``True`` stay apart, as they do in JSON); those below k are suppressed.
    classes: Mapping[Combo, int]
    #: Per field: value as sent → value at the chosen level (filled as rows come).
    memo: tuple[dict[Any, Any], ...] = dataclasses.field(default=(), repr=False, compare=False)
    applied: dict[Any, Combo | None] = dataclasses.field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.memo) != len(self.hierarchies):
            object.__setattr__(self, "memo", tuple({} for _ in self.hierarchies))

    @property
    def suppressed_rows(self) -> int:
        return sum(n for n in self.classes.values() if n < self.k)

    @property
    def suppressed_classes(self) -> int:
        return sum(1 for n in self.classes.values() if n < self.k)

    def level_names(self) -> dict[str, str]:
        return {h.field: h.name(lv) for h, lv in zip(self.hierarchies, self.levels, strict=True)}

    def generalize(self, combo: Combo) -> Combo:
        out = []
        for h, value, level, memo in zip(self.hierarchies, combo, self.levels, self.memo, strict=True):
            key = _key(value)
            if key not in memo:
                memo[key] = _lift(h, value, level)
            out.append(memo[key])
        return tuple(out)

    def lift_one(self, index: int, value: Any) -> Any:
        """One field's value (as sent before the plan) at the level the plan chose for it."""
        return _lift(self.hierarchies[index], value, self.levels[index])

    def apply(self, combo: Combo) -> Combo | None:
        """The generalized combination of one row, or None when it is suppressed (so is one the
        count never saw: fail closed). Answers are remembered (``1`` and ``True`` stay apart)."""
        key = (combo, tuple(map(type, combo)))
        if key not in self.applied:
            out = self.generalize(combo)
            answer = out if self.classes.get(tuple(_key(v) for v in out), 0) >= self.k else None
            if len(self.applied) >= MEMO:
                return answer
            self.applied[key] = answer
        return self.applied[key]


def _lift(h: Hierarchy, value: Any, level: int) -> Any:
    for step in range(level):
        value = h.lift(value, step)
    return value


def plan(
    counts: Mapping[Combo, int],
    hierarchies: Sequence[Hierarchy],
    k: int,
    *,
    max_suppressed: float = MAX_SUPPRESSED,
) -> Plan:
    """Choose one level per field so that at most ``max_suppressed`` of the rows sit in
    combinations seen fewer than ``k`` times (those rows are then suppressed).

    Greedy and deterministic: each step raises one field by one level, the one that removes the
    most small combinations (fewer than k rows) per bit of that field's entropy it loses; ties go
    to the field listed first. It stops when few enough rows are left in small combinations, or
    when every field is ``other`` (one combination: sent if it has k rows, else nothing is).
    """
    table = _Table.encode(counts, len(hierarchies))
    budget = max_suppressed * table.rows
    levels = [0] * len(hierarchies)
    while table.small_rows(k) > budget:
        index = _best_step(table, hierarchies, levels, k)
        if index is None:
            break
        table.lift(index, hierarchies[index], levels[index])
        levels[index] += 1
    return Plan(tuple(hierarchies), tuple(levels), k, table.rows, table.decode())


class _Table:
    """Combinations as integers (mixed radix: one digit per field, the code of its value), so
    regrouping after a step is integer arithmetic. Every code of a field is a value present in
    the table, and a step never adds values, so each field keeps its radix."""

    def __init__(self, counts: Counter[int], values: list[list[Any]], marginals: list[list[int]]) -> None:
        self.counts = counts
        self.values = values  # per field: code → value at its current level
        self.marginals = marginals  # per field: code → rows
        self.radix = [max(len(v), 1) for v in values]
        self.stride = [math.prod(self.radix[:i]) for i in range(len(values))]
        self.rows = sum(counts.values())

    @classmethod
    def encode(cls, counts: Mapping[Combo, int], width: int) -> _Table:
        codes: list[dict[Any, int]] = [{} for _ in range(width)]
        values: list[list[Any]] = [[] for _ in range(width)]
        marginals: list[list[int]] = [[] for _ in range(width)]
        for combo, n in counts.items():  # first the codes (and so the radix of each field)
            for i, value in enumerate(combo):
                code = codes[i].setdefault(_key(value), len(values[i]))
                if code == len(values[i]):
                    values[i].append(value)
                    marginals[i].append(0)
                marginals[i][code] += n
        table = cls(Counter(), values, marginals)
        for combo, n in counts.items():
            digits = (codes[i][_key(v)] * table.stride[i] for i, v in enumerate(combo))
            table.counts[sum(digits)] += n
        table.rows = sum(table.counts.values())
        return table

    def small_rows(self, k: int) -> int:
        return sum(n for n in self.counts.values() if n < k)

    def mapping(self, index: int, h: Hierarchy, level: int) -> tuple[list[int], list[Any]]:
        """Old code → new code of one step of field ``index``, and the new codes' values."""
        new_codes: dict[Any, int] = {}
        new_values: list[Any] = []
        mapping = []
        for value in self.values[index]:
            lifted = h.lift(value, level)
            code = new_codes.setdefault(_key(lifted), len(new_values))
            if code == len(new_values):
                new_values.append(lifted)
            mapping.append(code)
        return mapping, new_values

    def regroup(self, index: int, mapping: list[int]) -> Counter[int]:
        stride, radix = self.stride[index], self.radix[index]
        delta = [(new - old) * stride for old, new in enumerate(mapping)]
        out: Counter[int] = Counter()
        for combo, n in self.counts.items():  # .get: Counter's missing-key path is Python code
            key = combo + delta[(combo // stride) % radix]
            out[key] = out.get(key, 0) + n
        return out

    def lift(self, index: int, h: Hierarchy, level: int) -> None:
        mapping, new_values = self.mapping(index, h, level)
        self.counts = self.regroup(index, mapping)
        merged = [0] * len(new_values)
        for old, new in enumerate(mapping):
            merged[new] += self.marginals[index][old]
        self.values[index], self.marginals[index] = new_values, merged

    def decode(self) -> dict[Combo, int]:
        out: dict[Combo, int] = {}
        for combo, n in self.counts.items():
            key = tuple(
                _key(values[(combo // stride) % radix])
                for values, stride, radix in zip(self.values, self.stride, self.radix, strict=True)
            )
            out[key] = out.get(key, 0) + n
        return out


def _best_step(table: _Table, hierarchies: Sequence[Hierarchy], levels: list[int], k: int) -> int | None:
    small = sum(1 for n in table.counts.values() if n < k)
    best: tuple[float, int] | None = None
    for i, h in enumerate(hierarchies):
        if levels[i] >= h.top:
            continue
        mapping, new_values = table.mapping(i, h, levels[i])
        merged = [0] * len(new_values)
        for old, new in enumerate(mapping):
            merged[new] += table.marginals[i][old]
        loss = _entropy(table.marginals[i]) - _entropy(merged)
        # Regrouping is the costly part: only for a step that merges values present.
        gain = 0
        if len(new_values) < len(mapping):
            gain = small - sum(1 for n in table.regroup(i, mapping).values() if n < k)
        # A step that merges nothing costs nothing; one that helps no small combination is taken
        # only when no step helps (then the cheapest), so the search always ends.
        score = gain / (loss + 1e-9) if gain > 0 else -loss - 1e9
        if best is None or score > best[0]:
            best = (score, i)
    return None if best is None else best[1]


def _key(value: Any) -> Any:
    return (type(value).__name__, value)


def _entropy(counts: Iterable[int]) -> float:
    values = list(counts)
    total = sum(values)
    return -sum(n / total * math.log2(n / total) for n in values if n) if total else 0.0
