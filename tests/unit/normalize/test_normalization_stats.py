"""NormalizationStats: the weighted share of rows whose publisher normalization changed."""

from __future__ import annotations

import pytest

from sccm_cep.normalize import NormalizationStats, NormalizationSummary


def test_share_counts_rows_by_weight() -> None:
    stats = NormalizationStats()
    stats.add_many(
        [
            ("Microsoft Corporation", 30),  # normalized
            ("Microsoft", 10),  # already canonical
            ("  Google LLC ", 20),  # normalized
            ("Contoso", 30),  # unknown and already clean
            (None, 10),  # missing
        ]
    )
    assert stats.summary() == NormalizationSummary(total=100, normalized=50, missing=10)
    assert stats.share_normalized == pytest.approx(0.5)


def test_trimming_whitespace_alone_does_not_count_as_normalized() -> None:
    stats = NormalizationStats()
    stats.add("  Microsoft  ")
    assert stats.summary().normalized == 0


def test_generic_suffix_stripping_counts_as_normalized() -> None:
    stats = NormalizationStats()
    stats.add("Contoso Widgets, Inc.", 3)
    assert stats.summary() == NormalizationSummary(3, 3, 0)


def test_share_is_none_before_any_row() -> None:
    assert NormalizationStats().share_normalized is None
    assert NormalizationSummary(0, 0, 0).share_normalized is None


def test_zero_weight_rows_change_nothing() -> None:
    stats = NormalizationStats()
    stats.add("Microsoft Corporation", 0)
    assert stats.summary() == NormalizationSummary(0, 0, 0)


@pytest.mark.parametrize("weight", [-1, 1.5, "3", None, True])
def test_invalid_weights_are_rejected(weight: object) -> None:
    with pytest.raises(ValueError, match="weight"):
        NormalizationStats().add("Microsoft", weight)  # type: ignore[arg-type]


def test_summary_is_frozen() -> None:
    summary = NormalizationStats().summary()
    with pytest.raises(AttributeError):
        summary.total = 5  # type: ignore[misc]
