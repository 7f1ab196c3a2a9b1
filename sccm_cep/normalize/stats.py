"""Counts how much publisher normalization changed, for the run report
("share of software rows whose publisher was normalized").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sccm_cep.normalize.publisher import normalize_publisher

__all__ = ["NormalizationStats", "NormalizationSummary"]


@dataclass(frozen=True, slots=True)
class NormalizationSummary:
    """Weighted row counts of one stream of publishers."""

    total: int  # all rows, including those without a publisher
    normalized: int  # rows whose publisher normalization changed (beyond trimming spaces)
    missing: int  # rows with no usable publisher (None, empty, blank)

    @property
    def share_normalized(self) -> float | None:
        """``normalized / total``; None before any row was counted."""
        return self.normalized / self.total if self.total else None


class NormalizationStats:
    """Accumulates (raw publisher, weight) pairs; a weight is a row or device count.

    A row counts as normalized when ``normalize_publisher`` gives something other than the
    raw value with its surrounding whitespace removed ("Microsoft Corporation" → "Microsoft"
    counts, "  Microsoft " does not).
    """

    def __init__(self) -> None:
        self._total = 0
        self._normalized = 0
        self._missing = 0

    def add(self, raw: str | None, weight: int = 1) -> None:
        """Count ``weight`` rows with publisher ``raw``.

        Raises ValueError for a negative or non-integer weight: that is a caller bug, and
        counting it would silently corrupt the share.
        """
        if isinstance(weight, bool) or not isinstance(weight, int) or weight < 0:
            raise ValueError(f"weight must be a non-negative integer, got {weight!r}")
        self._total += weight
        canonical = normalize_publisher(raw)
        if canonical is None:
            self._missing += weight
        elif not isinstance(raw, str) or canonical != raw.strip():
            self._normalized += weight

    def add_many(self, rows: Iterable[tuple[str | None, int]]) -> None:
        """Count every (raw publisher, weight) pair of ``rows``."""
        for raw, weight in rows:
            self.add(raw, weight)

    def summary(self) -> NormalizationSummary:
        """The counts so far."""
        return NormalizationSummary(self._total, self._normalized, self._missing)

    @property
    def share_normalized(self) -> float | None:
        """Share of counted rows whose publisher was normalized; None before any row."""
        return self.summary().share_normalized
