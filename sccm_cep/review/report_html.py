"""The reviewer's HTML report: one self-contained file, inline CSS, charts drawn as inline SVG.

The page is laid out by the Jinja2 templates in ``templates/``, rendered with autoescape always
on and no value marked safe: this module only gathers and counts the data. No script, no font,
no image and no style sheet is fetched: a Content-Security-Policy of ``default-src 'none'``
makes a browser refuse any fetch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from sccm_cep.privacy.anonymize import SuppressionNote
from sccm_cep.privacy.approval import ApprovalView
from sccm_cep.privacy.catalog import CatalogRow, connectors_of
from sccm_cep.review.preview import OutboxRow, Preview

__all__ = ["SECTION_TITLES", "bar_chart", "render_report"]

SECTION_TITLES = (
    "Summary",
    "Charts",
    "Field catalog",
    "Submission contents",
    "Suppressed values",
    "Fields not available",
    "Approval history",
    "Sent per period",
)
MAX_ROWS = 25

_ANCHORS = {t: t.lower().replace(" ", "-") for t in SECTION_TITLES}
_CHART_WIDTH, _LABEL_WIDTH, _BAR_HEIGHT, _BAR_GAP = 540, 260, 18, 6
_LABEL_CHARS = 40


@cache
def _environment() -> Environment:
    # autoescape=True rather than select_autoescape(): the templates' names must not decide it.
    env = Environment(
        loader=PackageLoader("sccm_cep.review", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["sig3"] = lambda v: f"{v:.3g}"
    env.filters["thousands"] = lambda v: f"{v:,}"
    env.globals["anchor"] = _anchor
    return env


def _anchor(title: str) -> str:
    """The id of a section; a title the report does not declare is a template bug."""
    return _ANCHORS[title]


# -- charts --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Bar:
    label: str
    shown: str
    y: int
    text_y: int
    width: str
    value_x: str


@dataclass(frozen=True, slots=True)
class _Chart:
    title: str
    bars: tuple[_Bar, ...]
    height: int
    width: int = _CHART_WIDTH
    label_x: int = _LABEL_WIDTH - 6
    bar_x: int = _LABEL_WIDTH
    bar_height: int = _BAR_HEIGHT


def _chart(
    title: str, items: Sequence[tuple[str, float]], *, unit: str = "", percent: bool = False
) -> _Chart:
    """The geometry of a horizontal bar chart: one bar per item, scaled to the largest."""
    top = max((v for _, v in items), default=0.0) or 1.0
    bars = []
    for i, (label, value) in enumerate(items):
        y = _BAR_GAP + i * (_BAR_HEIGHT + _BAR_GAP)
        w = max(1.0, (_CHART_WIDTH - _LABEL_WIDTH - 70) * value / top)
        bars.append(
            _Bar(
                label=label if len(label) <= _LABEL_CHARS else label[: _LABEL_CHARS - 1] + "…",
                shown=f"{value:.0%}" if percent else f"{value:,.0f}{unit}",
                y=y,
                text_y=y + 13,
                width=f"{w:.1f}",
                value_x=f"{_LABEL_WIDTH + w + 4:.1f}",
            )
        )
    return _Chart(title, tuple(bars), height=len(items) * (_BAR_HEIGHT + _BAR_GAP) + _BAR_GAP)


def bar_chart(
    title: str, items: Sequence[tuple[str, float]], *, unit: str = "", percent: bool = False
) -> str:
    """A horizontal bar chart as an inline SVG figure (labels escaped, no external reference)."""
    chart = _chart(title, items, unit=unit, percent=percent)
    return _environment().get_template("chart.html").render(chart=chart)


def _rows(preview: Preview | None, section: str, record: str) -> list[dict[str, Any]]:
    if preview is None:
        return []
    rows: list[dict[str, Any]] = preview.document.get(section, {}).get(record, [])
    return rows


def _top(counter: Mapping[str, float], n: int) -> list[tuple[str, float]]:
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def _charts(preview: Preview | None) -> list[_Chart]:
    os_releases: Counter[str] = Counter()
    for r in _rows(preview, "operating_systems", "operating_system"):
        label = " ".join(str(r.get(k)) for k in ("family", "release") if r.get(k) is not None) or "unknown"
        os_releases[label] += int(r.get("device_count") or 0)
    software: Counter[str] = Counter()
    for r in _rows(preview, "software", "software"):
        if r.get("product") in (None, "other"):
            continue
        software[str(r["product"])] += int(r.get("installations") or 0)
    deployments = _rows(preview, "deployments", "deployment")
    features: Counter[str] = Counter(str(d.get("feature_type") or "unknown") for d in deployments)
    success: dict[str, list[float]] = {}
    for d in deployments:
        if isinstance(d.get("success_rate"), int | float):
            success.setdefault(str(d.get("feature_type") or "unknown"), []).append(float(d["success_rate"]))
    bands: Counter[str] = Counter()
    labels = ["0-20%", "20-40%", "40-60%", "60-80%", "80-100%"]
    for c in _rows(preview, "configuration_policies", "configuration_item"):
        rate = c.get("compliant_rate")
        if isinstance(rate, int | float):
            bands[labels[min(int(float(rate) * 5), 4)]] += 1
    return [
        _chart("Operating system releases (devices)", _top(os_releases, 12)),
        _chart(
            "Top software titles (installations; rare titles are 'other' and left out)", _top(software, 15)
        ),
        _chart("Deployments by technology (feature type)", _top(features, 12)),
        _chart(
            "Average deployment success rate by technology",
            sorted(((k, sum(v) / len(v)) for k, v in success.items()), key=lambda kv: -kv[1]),
            percent=True,
        ),
        _chart(
            "Configuration baselines by compliance rate", [(b, float(bands[b])) for b in labels if bands[b]]
        ),
    ]


# -- what the sections show ----------------------------------------------------------------------

_CatalogLine = tuple[CatalogRow, list[tuple[str, str]]]


def _catalog_sections(rows: Sequence[CatalogRow]) -> list[tuple[str, list[_CatalogLine]]]:
    """Catalog rows by section, each with its sources: the connectors' first, sccm-cep's alone."""
    connectors = [c for c in connectors_of(rows) if c != "sccm-cep"]
    by_section: dict[str, list[_CatalogLine]] = {}
    for r in rows:
        named = [(c, r.sources[c]) for c in connectors if c in r.sources] or list(r.sources.items())
        by_section.setdefault(r.section, []).append((r, named))
    return list(by_section.items())


@dataclass(frozen=True, slots=True)
class _Records:
    """The first rows of one record type as a table; ``numeric`` columns are right-aligned."""

    record: str
    head: list[str]
    rows: list[list[Any]]
    numeric: frozenset[int]
    total: int


@dataclass(frozen=True, slots=True)
class _PreviewView:
    period: str
    level: str
    envelope: list[tuple[str, Any]]
    sections: list[tuple[str, list[_Records]]]
    suppressed: tuple[SuppressionNote, ...]
    notes: tuple[str, ...]
    #: The submission's own ``unavailable`` notes: record, field, reason code, missing names.
    unavailable: list[dict[str, Any]]


_ENVELOPE = ("document_id", "site", "period", "level", "policy_digest", "content_digest", "tool_version")


def _records(record: str, rows: list[dict[str, Any]]) -> _Records:
    head = sorted({k for r in rows for k in r})
    shown = rows[:MAX_ROWS]
    numeric = frozenset(
        i for i, h in enumerate(head) if all(isinstance(r.get(h), int | float) for r in shown)
    )
    return _Records(record, head, [[r.get(h) for h in head] for r in shown], numeric, len(rows))


def _preview_view(preview: Preview) -> _PreviewView:
    doc = preview.document
    sections = [
        (section, [_records(record, rows) for record, rows in records.items()])
        for section, records in preview.sections().items()
    ]
    return _PreviewView(
        period=preview.period,
        level=preview.level.value,
        envelope=[(k, doc.get(k)) for k in _ENVELOPE],
        sections=sections,
        suppressed=preview.suppressed,
        notes=preview.notes,
        unavailable=list(doc.get("unavailable") or []),
    )


def render_report(
    *,
    site: str,
    site_name: str | None,
    generated_at: str,
    policy_digest: str,
    catalog: Sequence[CatalogRow],
    preview: Preview | None,
    approvals: Sequence[ApprovalView],
    outbox: Sequence[OutboxRow],
) -> str:
    """The whole report as one HTML document; the same input gives the same bytes."""
    view = _preview_view(preview) if preview is not None else None
    sent_rows = sum(t.total for _, tables in (view.sections if view else []) for t in tables)
    template = _environment().get_template("report.html")
    return template.render(
        titles=SECTION_TITLES,
        max_rows=MAX_ROWS,
        site=site,
        site_name=site_name,
        generated_at=generated_at,
        policy_digest=policy_digest,
        level=view.level if view else None,
        sent_rows=sent_rows,
        charts=_charts(preview),
        catalog=list(catalog),
        catalog_sent=sum(1 for r in catalog if r.action != "drop"),
        catalog_sections=_catalog_sections(catalog),
        preview=view,
        approvals=list(approvals),
        outbox=list(outbox),
    )
