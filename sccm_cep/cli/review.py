"""Reviewer commands: ``fields`` (the catalog), ``preview`` (exactly what would be sent), ``report`` (HTML)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sccm_cep.cli.common import (
    add_plain_row,
    json_option,
    policies_option,
)
from sccm_cep.cli.context import App, expected
from sccm_cep.model import Level

if TYPE_CHECKING:
    from sccm_cep.privacy import catalog as catalog_mod
    from sccm_cep.review import preview as review_mod

__all__ = ["fields", "preview", "report"]


_LEVELS = click.Choice([lv.value for lv in Level])


@click.command("fields")
@click.option("--level", type=_LEVELS, help="Only the fields sent at this level (default: every field).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv", "markdown"]),
    default="table",
    show_default=True,
    help="How to print the catalog.",
)
@policies_option
@click.option(
    "--against",
    help="Mark changes against other policies: a policies folder, a 'fields --format json' file,"
    " or an approved digest (sha256:...).",
)
@click.option(
    "--site",
    "site_code",
    metavar="CODE",
    help="Connect to this registered site (read-only) and say which fields it can give (table, json).",
)
@click.pass_obj
def fields(
    app: App,
    level: str | None,
    fmt: str,
    policies_dir: Path | None,
    against: str | None,
    site_code: str | None,
) -> None:
    """The field catalog: every field, its source, category, treatment, purpose and level."""
    from sccm_cep.privacy import catalog as catalog_mod
    from sccm_cep.privacy.policy import load_policies

    on_site: dict[str, str] | None = None
    with expected(app):
        policies = load_policies(policies_dir)
        sources = catalog_mod.load_sources()
        rows = catalog_mod.build_catalog(policies, sources)
        if against:
            rows = catalog_mod.compare(rows, catalog_mod.load_baseline(against, sources))
        if level:
            rows = catalog_mod.filter_level(rows, Level(level))
        if site_code:
            on_site = _site_view(app, site_code, policies, rows, Level(level or Level.ENHANCED.value))
    if on_site is not None and fmt in ("table", "json"):
        _print_site_view(app, rows, on_site, policies.digest, site_code or "", as_json=fmt == "json")
    elif fmt == "json":
        click.echo(catalog_mod.render_json(rows, policies.digest), nl=False)
    elif fmt == "csv":
        click.echo(catalog_mod.render_csv(rows), nl=False)
    elif fmt == "markdown":
        click.echo(catalog_mod.render_markdown(rows, policies.digest))
    else:
        _catalog_table(app, rows, policies.digest, changes=against is not None)


@click.command("preview")
@click.argument("code", metavar="SITE")
@click.option(
    "--level", type=_LEVELS, help="Level to preview (default: the site's joined level, else basic)."
)
@click.option("--period", help="Period to preview, YYYY-Qn (default: the current quarter).")
@click.option(
    "--explain", "target", metavar="RECORD.FIELD", help="Show local before → after examples of one field."
)
@policies_option
@json_option
@click.pass_obj
def preview(
    app: App,
    code: str,
    level: str | None,
    period: str | None,
    target: str | None,
    policies_dir: Path | None,
    as_json: bool,
) -> None:
    """Show exactly what SITE would send now, without storing or sending anything."""
    from sccm_cep.privacy.policy import load_policies
    from sccm_cep.review import preview as review_mod

    with expected(app):
        policies = load_policies(policies_dir)
        lv = review_mod.site_level(app.store, code, level)
        if target:
            explanation = review_mod.explain(app.store, code, policies, target, level=lv, period=period)
        else:
            result = review_mod.preview(app.store, code, policies, level=lv, period=period)
    if target:
        _print_explanation(app, explanation, as_json)
    elif as_json:
        click.echo(json.dumps(result.document, indent=2, sort_keys=True, ensure_ascii=False))
    else:
        _print_preview(app, result)


@click.command("report")
@click.argument("code", metavar="SITE")
@click.option(
    "--out",
    "out_file",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="HTML file to write.",
)
@click.option(
    "--level", type=_LEVELS, help="Level to preview (default: the site's joined level, else basic)."
)
@click.option("--period", help="Period to preview, YYYY-Qn (default: the current quarter).")
@policies_option
@click.pass_obj
def report(
    app: App, code: str, out_file: Path, level: str | None, period: str | None, policies_dir: Path | None
) -> None:
    """Write a self-contained HTML report for a reviewer: catalog, contents, suppression, approvals, outbox."""
    from sccm_cep.collector.sites import find_site
    from sccm_cep.platform.files import write_text_atomically
    from sccm_cep.privacy import approval as approval_mod
    from sccm_cep.privacy import catalog as catalog_mod
    from sccm_cep.privacy.policy import load_policies
    from sccm_cep.review import preview as review_mod
    from sccm_cep.review.report_html import render_report

    with expected(app):
        policies = load_policies(policies_dir)
        lv = review_mod.site_level(app.store, code, level)
        with app.store.session() as session:
            site = find_site(session, code)
            site_code, site_name = site.code, site.name
        html = render_report(
            site=site_code,
            site_name=site_name,
            generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
            policy_digest=policies.digest,
            catalog=catalog_mod.build_catalog(policies),
            preview=review_mod.preview(app.store, code, policies, level=lv, period=period),
            approvals=approval_mod.history(app.store),
            outbox=review_mod.outbox_history(app.store, code),
        )
        write_text_atomically(out_file, html, what="the report")
    app.say(str(out_file))


def _show(value: Any) -> str:
    return "" if value is None else str(value)


def _site_view(
    app: App, code: str, policies: Any, rows: list[catalog_mod.CatalogRow], level: Level
) -> dict[str, str]:
    """For each catalog row, whether site ``code``'s sources can give it (asked of the sources)."""
    from sccm_cep.collector.sites import check_site
    from sccm_cep.export.pipeline import build_request
    from sccm_cep.privacy import catalog as catalog_mod

    reports = check_site(app.store, code, build_request(policies, level))
    return catalog_mod.site_availability(rows, {name: r.unavailable for name, r in reports})


def _print_site_view(
    app: App,
    rows: list[catalog_mod.CatalogRow],
    on_site: dict[str, str],
    digest: str,
    code: str,
    *,
    as_json: bool,
) -> None:
    from rich.table import Table

    if as_json:
        body = {
            "policy_digest": digest,
            "site": code.upper(),
            "fields": [{**r.as_json(), "on_site": on_site[r.key]} for r in rows],
        }
        click.echo(json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False))
        return
    missing = sum(1 for v in on_site.values() if v != "yes")
    table = Table(title=f"Field catalog ({digest}) on site {code.upper()}: {missing} field(s) not available")
    for name in ("section", "record.field", "treatment", "level", f"on site {code.upper()}"):
        table.add_column(name, overflow="fold")
    for r in rows:
        add_plain_row(table, r.section, r.key, r.treatment(), r.level, on_site[r.key])
    app.out.print(table)


def _catalog_table(app: App, rows: list[catalog_mod.CatalogRow], digest: str, *, changes: bool) -> None:
    from rich.table import Table

    from sccm_cep.privacy import catalog as catalog_mod

    connectors = [c for c in catalog_mod.connectors_of(rows) if c != "sccm-cep"]
    table = Table(title=f"Field catalog ({digest})")
    for name in ("section", "record.field", *(f"source ({c})" for c in connectors), "category", "treatment"):
        table.add_column(name)
    table.add_column("level")
    table.add_column("purpose")
    if changes:
        table.add_column("change")
    for r in rows:
        src = [r.sources.get(c) or r.sources.get("sccm-cep", "—") for c in connectors]
        cells = [r.section, r.key, *src, r.category, r.treatment(), r.level, r.purpose]
        if changes:
            cells.append(" ".join(x for x in (r.change or "", r.was or "") if x))
        add_plain_row(table, *cells)
    app.out.print(table)


def _print_preview(app: App, result: review_mod.Preview) -> None:
    from rich.table import Table

    app.say(
        f"Preview of site {result.site}, period {result.period}, level {result.level.value}:"
        " exactly what would be sent. Nothing was stored or sent."
    )
    for section, records in result.sections().items():
        for record, rows in records.items():
            head = sorted({k for r in rows for k in r})
            table = Table(title=f"{section} / {record} ({len(rows):,} rows)")
            for name in head or ["(no rows)"]:
                table.add_column(name)
            for r in rows:
                add_plain_row(table, *(_show(r.get(h)) for h in head))
            app.out.print(table)
    if result.suppressed:
        hidden = Table(title="Suppressed (sent as 'other')")
        for name in ("record", "field", "rule", "values", "devices"):
            hidden.add_column(name)
        for s in result.suppressed:
            rule = s.reason if s.reason in ("identifier", "unrecognized") else f"{s.action} {s.threshold}"
            add_plain_row(hidden, s.record, s.field, rule, f"{s.values:,}", f"{s.devices:,}")
        app.out.print(hidden)
    for note in result.notes:
        app.say(f"note: {note}")


def _print_explanation(app: App, ex: review_mod.Explanation, as_json: bool) -> None:
    from rich.table import Table

    from sccm_cep.review import preview as review_mod

    if as_json:
        app.emit_json(
            {
                "field": f"{ex.record}.{ex.field}",
                "treatment": ex.treatment,
                "purpose": ex.purpose,
                "message": ex.message,
                "local_only": True,
                "examples": [
                    {
                        "raw": _show(e.raw),
                        "normalized": _show(e.normalized),
                        "sent": e.sent,
                        "devices": e.devices,
                    }
                    for e in ex.examples
                ],
            }
        )
        return
    app.say(f"{ex.record}.{ex.field}: {ex.treatment} — {ex.purpose}")
    if not ex.examples:
        app.say(ex.message)
        return
    table = Table(title=f"Examples ({review_mod.LOCAL_ONLY}: raw values are shown on this screen only)")
    for name in ("raw value (local only)", "normalized", "sent", "devices"):
        table.add_column(name)
    for e in ex.examples:
        add_plain_row(table, _show(e.raw), _show(e.normalized), _show(e.sent), _show(e.devices))
    app.out.print(table)
