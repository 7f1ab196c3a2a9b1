"""The reviewer's HTML report: one self-contained file, inline CSS, charts drawn as inline SVG.

No script, no font, no image and no style sheet is fetched: a Content-Security-Policy of
``default-src 'none'`` makes a browser refuse any fetch, and every value is HTML-escaped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

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
    "Approval history",
    "Sent per period",
)
MAX_ROWS = 25

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;margin:0;background:#f5f6f8}
main{max-width:1200px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px} h2{font-size:19px;border-bottom:2px solid #d0d5dd;padding-bottom:4px;margin-top:36px}
h3{font-size:15px;margin:20px 0 6px} .muted{color:#5b6475} .note{background:#fff8e1;border-left:4px solid #f2b705;padding:8px 12px}
table{border-collapse:collapse;width:100%;background:#fff;margin:6px 0 14px;font-size:12.5px}
th,td{border:1px solid #d9dde4;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#eef1f5;position:sticky;top:0} td.n{text-align:right;font-variant-numeric:tabular-nums}
code{font-size:12px;background:#eef1f5;padding:0 3px;border-radius:3px}
.tag{display:inline-block;padding:0 6px;border-radius:8px;font-size:11px;background:#e4e7ec}
.a-drop{background:#fde2e1} .a-keep{background:#dcf5e3} .a-pseudonymize{background:#e1e8fd}
.a-generalize,.a-suppress_below,.a-top_n{background:#efe3fc} .a-scrub{background:#fff0d6}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(540px,1fr));gap:16px}
figure{margin:0;background:#fff;border:1px solid #d9dde4;padding:8px} figcaption{font-weight:600;margin-bottom:4px}
nav a{margin-right:12px;color:#1849a9} .wrap{overflow-x:auto;max-width:100%}
td{overflow-wrap:anywhere}
"""


def _e(value: Any) -> str:
    if value is None:
        return '<span class="muted">—</span>'
    if isinstance(value, float):
        return escape(f"{value:.3g}")
    return escape(str(value))


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], numeric: Iterable[int] = ()) -> str:
    nums = set(numeric)
    out = [
        '<div class="wrap"><table><thead><tr>',
        *(f"<th>{escape(h)}</th>" for h in head),
        "</tr></thead><tbody>",
    ]
    for row in rows:
        cells = (f'<td class="n">{c}</td>' if i in nums else f"<td>{c}</td>" for i, c in enumerate(row))
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def bar_chart(
    title: str, items: Sequence[tuple[str, float]], *, unit: str = "", percent: bool = False
) -> str:
    """A horizontal bar chart as an inline SVG figure (labels escaped, no external reference)."""
    if not items:
        return f'<figure><figcaption>{escape(title)}</figcaption><p class="muted">no data</p></figure>'
    bar_h, gap, label_w, width = 18, 6, 260, 540
    top = max(v for _, v in items) or 1.0
    height = len(items) * (bar_h + gap) + gap
    parts = [
        f'<svg role="img" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" aria-label="{escape(title)}">'
    ]
    for i, (label, value) in enumerate(items):
        y = gap + i * (bar_h + gap)
        w = max(1.0, (width - label_w - 70) * value / top)
        shown = f"{value:.0%}" if percent else f"{value:,.0f}{unit}"
        text = label if len(label) <= 40 else label[:39] + "…"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 13}" font-size="11" text-anchor="end" fill="#1d2330">{escape(text)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="#3b6fd8" rx="2"/>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + 13}" font-size="11" fill="#1d2330">{escape(shown)}</text>'
        )
    parts.append("</svg>")
    return f"<figure><figcaption>{escape(title)}</figcaption>{''.join(parts)}</figure>"


# -- chart data --------------------------------------------------------------------------------


def _rows(preview: Preview | None, section: str, record: str) -> list[dict[str, Any]]:
    if preview is None:
        return []
    rows: list[dict[str, Any]] = preview.document.get(section, {}).get(record, [])
    return rows


def _top(counter: Mapping[str, float], n: int) -> list[tuple[str, float]]:
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def _charts(preview: Preview | None) -> str:
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
    figures = [
        bar_chart("Operating system releases (devices)", _top(os_releases, 12)),
        bar_chart(
            "Top software titles (installations; rare titles are 'other' and left out)", _top(software, 15)
        ),
        bar_chart("Deployments by technology (feature type)", _top(features, 12)),
        bar_chart(
            "Average deployment success rate by technology",
            sorted(((k, sum(v) / len(v)) for k, v in success.items()), key=lambda kv: -kv[1]),
            percent=True,
        ),
        bar_chart(
            "Configuration baselines by compliance rate", [(b, float(bands[b])) for b in labels if bands[b]]
        ),
    ]
    return '<div class="charts">' + "".join(figures) + "</div>"


# -- sections ------------------------------------------------------------------------------------


def _catalog(rows: Sequence[CatalogRow]) -> str:
    connectors = [c for c in connectors_of(rows) if c != "sccm-cep"]
    sent = sum(1 for r in rows if r.action != "drop")
    out = [
        f"<p>{len(rows)} fields; {sent} can be sent, {len(rows) - sent} are dropped (never sent; site data"
        " behind a dropped field is never read).</p>"
    ]
    by_section: dict[str, list[CatalogRow]] = {}
    for r in rows:
        by_section.setdefault(r.section, []).append(r)
    head = ["field", "description", "source", "category", "treatment", "purpose", "level"]
    for section, items in by_section.items():
        body = []
        for r in items:
            named = [(c, r.sources[c]) for c in connectors if c in r.sources] or list(r.sources.items())
            src = "<br>".join(f"<b>{_e(c)}</b>: {_e(v)}" for c, v in named) or _e(None)
            body.append(
                [
                    f"<code>{_e(r.key)}</code>",
                    _e(r.description),
                    src,
                    _e(r.category),
                    f'<span class="tag a-{escape(r.action)}">{_e(r.treatment())}</span>',
                    _e(r.purpose),
                    _e(r.level),
                ]
            )
        out.append(f"<h3>{_e(section)}</h3>" + _table(head, body))
    return "".join(out)


def _contents(preview: Preview | None) -> str:
    if preview is None:
        return '<p class="muted">No preview was taken.</p>'
    doc = preview.document
    envelope = [
        [_e(k), f"<code>{_e(doc.get(k))}</code>"]
        for k in ("document_id", "site", "period", "level", "policy_digest", "content_digest", "tool_version")
    ]
    out = [
        f'<p class="note">A preview taken now for period {_e(preview.period)} at level {_e(preview.level.value)}:'
        " exactly what a run would send. It was not stored and not sent.</p>",
        _table(["envelope field", "value"], envelope),
    ]
    for section, records in preview.sections().items():
        out.append(f"<h3>{_e(section)}</h3>")
        for record, rows in records.items():
            if not rows:
                out.append(f'<p class="muted">{_e(record)}: no rows</p>')
                continue
            head = sorted({k for r in rows for k in r})
            shown = rows[:MAX_ROWS]
            more = (
                f" (first {MAX_ROWS} of {len(rows):,} rows)"
                if len(rows) > MAX_ROWS
                else f" ({len(rows):,} rows)"
            )
            out.append(f"<p><b>{_e(record)}</b>{more}</p>")
            nums = [i for i, h in enumerate(head) if all(isinstance(r.get(h), int | float) for r in shown)]
            out.append(_table(head, ([_e(r.get(h)) for h in head] for r in shown), nums))
    return "".join(out)


def _suppressed(preview: Preview | None) -> str:
    if preview is None or not preview.suppressed:
        return "<p>Nothing was suppressed in this preview.</p>"
    rows = [
        [
            _e(s.record),
            f"<code>{_e(s.field)}</code>",
            _e(f"{s.action} {s.threshold}"),
            _e(
                f"values seen on fewer than {s.threshold} devices are sent as 'other'"
                if s.action == "suppress_below"
                else f"only the {s.threshold} most common values are sent; the rest as 'other'"
            ),
            _e(f"{s.values:,}"),
            _e(f"{s.devices:,}"),
        ]
        for s in preview.suppressed
    ]
    out = _table(["record", "field", "rule", "why", "values hidden", "devices"], rows, (4, 5))
    notes = "".join(f"<li>{_e(n)}</li>" for n in preview.notes)
    return out + (f"<p>Notes from the collection:</p><ul>{notes}</ul>" if notes else "")


def _approvals(approvals: Sequence[ApprovalView], digest: str) -> str:
    if not approvals:
        return "<p>No approval has been recorded.</p>"
    state = (
        "The current policies are approved."
        if approvals[0].policy_digest == digest
        else "The current policies differ from the last approved ones: collection is stopped until approved."
    )
    rows = [
        [_e(a.approved_at), _e(a.approved_by), f"<code>{_e(a.policy_digest)}</code>", _e(a.note)]
        for a in approvals
    ]
    return f'<p class="note">{escape(state)}</p>' + _table(
        ["approved at (UTC)", "by", "policy digest", "note"], rows
    )


def _sent(outbox: Sequence[OutboxRow]) -> str:
    if not outbox:
        return "<p>Nothing has been taken for this site yet.</p>"
    rows = [
        [
            _e(o.period),
            _e(o.kind),
            _e(o.revision),
            f"<code>{_e(o.document_id)}</code>",
            _e(o.state),
            _e(o.created_at),
            f"<code>{_e(o.sha256)}</code>",
            _e(f"{o.size:,}"),
        ]
        for o in outbox
    ]
    head = [
        "period",
        "kind",
        "revision",
        "document_id",
        "state",
        "created (UTC)",
        "sha256 of the exact bytes",
        "bytes",
    ]
    return _table(head, rows, (2, 7))


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
    """The whole report as one HTML document."""
    anchors = [t.lower().replace(" ", "-") for t in SECTION_TITLES]
    sent_rows = sum(
        len(rows) for records in (preview.sections().values() if preview else []) for rows in records.values()
    )
    summary = _table(
        ["", ""],
        [
            ["site", _e(f"{site} ({site_name})" if site_name else site)],
            ["report generated (UTC)", _e(generated_at)],
            ["policy digest", f"<code>{_e(policy_digest)}</code>"],
            ["level previewed", _e(preview.level.value if preview else None)],
            ["rows in the previewed submission", _e(f"{sent_rows:,}")],
            [
                "last approval",
                _e(f"{approvals[0].approved_at} by {approvals[0].approved_by}" if approvals else None),
            ],
            ["documents in the outbox", _e(len(outbox))],
        ],
    )
    bodies = [
        summary,
        _charts(preview),
        _catalog(catalog),
        _contents(preview),
        _suppressed(preview),
        _approvals(approvals, policy_digest),
        _sent(outbox),
    ]
    nav = "".join(f'<a href="#{a}">{escape(t)}</a>' for a, t in zip(anchors, SECTION_TITLES, strict=True))
    sections = "".join(
        f'<section id="{a}"><h2>{escape(t)}</h2>{b}</section>'
        for a, t, b in zip(anchors, SECTION_TITLES, bodies, strict=True)
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>sccm-cep review: site {escape(site)}</title><style>{_CSS}</style></head>"
        f"<body><main><h1>sccm-cep compliance review: site {escape(site)}</h1>"
        '<p class="muted">What this site sends to the Customer Experience Program, why, who approved it and'
        " what was sent. Generated locally; this file is never sent.</p>"
        f"<nav>{nav}</nav>{sections}</main></body></html>\n"
    )
