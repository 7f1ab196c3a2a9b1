"""No small cells at level basic: the minimum count k, the count fields of a record, rounding
to a base of 5, and the check that banded totals cannot be narrowed by the rounded rows."""

from __future__ import annotations

from collections.abc import Iterable

from sccm_cep.errors import PolicyError
from sccm_cep.model import Level, Record, RecordKind, record_type
from sccm_cep.privacy.policy import Action, PolicySet

#: No small cells (level basic): every published count is a multiple of this base ...
ROUNDING_BASE = 5

#: ... and at least k, the largest ``suppress_below`` k of the policies (this when none is set).
DEFAULT_K = 5

#: What a count of a site object (programs of a package, rules of a baseline) below k reads.
BELOW = "<{k}"

#: The counts the ``*_rate`` fields of a site object are shares of.
RATE_BASES = ("targeted", "evaluated")


def minimum_count(policies: PolicySet) -> int:
    """k of the no-small-cells rule: the largest ``suppress_below`` k the policies set.

    The policies configure k per field (``suppress_below``, 5 in every shipped file); the
    strictest one applies to every published count, and ``DEFAULT_K`` when none is set.
    """
    ks = [
        int(fp.params["k"])
        for policy in policies.policies.values()
        for fp in policy.fields.values()
        if fp.action is Action.SUPPRESS_BELOW
    ]
    return max(ks, default=DEFAULT_K)


def count_fields(rt: type[Record], fields: Iterable[str]) -> tuple[str, ...]:
    """The sent fields of ``rt`` that are counts: its weight, and every field named ``*_count``."""
    return tuple(f for f in fields if f == rt.WEIGHT or f.endswith("_count"))


def round_count(n: int, k: int, base: int = ROUNDING_BASE) -> int:
    """``n`` (at least k) to the nearest multiple of ``base``, never below the first one >= k."""
    nearest = (n + base // 2) // base * base
    return max(nearest, -(-k // base) * base)


def check_total_bands(policies: PolicySet) -> None:
    """Totals sent as bands must not be finer than the rounded rows: edges multiples of 5.

    The rows' counts are multiples of 5, so their sums only place a total within some
    distance of a multiple of 5. A band edge that is not a multiple of 5 could cut that
    interval down to one number; an edge on a multiple of 5 always leaves at least two.
    """
    problems = []
    for rt_name, policy in policies.policies.items():
        try:
            rt = record_type(rt_name)
        except KeyError:
            continue
        if rt.KIND is not RecordKind.OBJECT:
            continue
        for fp in policy.fields.values():
            if not fp.applies_at(Level.BASIC) or fp.action is not Action.GENERALIZE:
                continue
            if fp.params.get("scheme") != "bands":
                continue
            edges = fp.params.get("edges") or []
            if any(float(e) % ROUNDING_BASE for e in edges):
                problems.append(
                    f"{policy.source or rt_name}: field '{fp.name}': band edges must be multiples"
                    f" of {ROUNDING_BASE} (published counts are rounded to {ROUNDING_BASE})"
                )
    if problems:
        raise PolicyError(problems[0], problems=tuple(problems))
