"""The generalize action: bands, major.minor versions, years, quarters and rounding."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from itertools import pairwise
from typing import Any

from sccm_cep.normalize import major_minor


def generalize(params: Mapping[str, Any], value: Any, reference: date) -> Any:
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
    return band_label(number, params["edges"])


def band_label(number: float, edges: Sequence[float]) -> str:
    """The band ``number`` falls in, as sent: ``<4``, ``4-8``, ``>=512``."""
    if number < edges[0]:
        return f"<{edge_text(edges[0])}"
    for low, high in pairwise(edges):
        if low <= number < high:
            return f"{edge_text(low)}-{edge_text(high)}"
    return f">={edge_text(edges[-1])}"


def edge_text(n: float) -> str:
    """A band edge as sent (``4``, not ``4.0``)."""
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
