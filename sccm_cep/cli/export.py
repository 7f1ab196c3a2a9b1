"""``sccm-cep export``: one submission from a site, without registering it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sccm_cep.cli.common import (
    add_plain_row,
    json_option,
    policies_option,
    winrm_options,
    winrm_settings,
)
from sccm_cep.cli.context import App, expected
from sccm_cep.cli.discover import ldap_options
from sccm_cep.model import Level

if TYPE_CHECKING:
    from sccm_cep.connector import Connector, Unavailable
    from sccm_cep.export.pipeline import ExportResult

__all__ = ["export", "print_unavailable"]

F = Callable[..., Any]


_SOURCE_OPTIONS: list[Callable[[F], F]] = [
    click.option(
        "--db",
        "db_url",
        envvar="SCCM_CEP_DB",
        help="SQLAlchemy URL of the site database, e.g. mssql+pyodbc://@SQL01/CM_PS1?driver=...",
    ),
    click.option(
        "--password",
        "password_ref",
        envvar="SCCM_CEP_DB_PASSWORD",
        help="Reference to the database password: env:NAME, file:PATH or keyring:SERVICE/USER.",
    ),
    click.option(
        "--out",
        "out_dir",
        required=True,
        type=click.Path(path_type=Path, file_okay=False),
        help="Folder the submission is written to.",
    ),
    click.option("--period", help="Period the submission covers, YYYY-Qn (default: the current quarter)."),
    click.option(
        "--level",
        type=click.Choice([lv.value for lv in Level]),
        default=Level.BASIC.value,
        show_default=True,
        help="basic: aggregates only; enhanced: adds pseudonymous device rows.",
    ),
    click.option(
        "--secret",
        "secret_ref",
        envvar="SCCM_CEP_SITE_SECRET",
        help="Reference to the site's pseudonymization key (default: a key kept in the data folder).",
    ),
    winrm_options,
    click.option(
        "--coverage", is_flag=True, help="Add the AD coverage count (enabled computers, as a band) via LDAP."
    ),
    ldap_options,
    policies_option,
    json_option,
]


def _export_options(f: F) -> F:
    for option in reversed(_SOURCE_OPTIONS):
        f = option(f)
    return f


@click.command()
@_export_options
@click.pass_obj
def export(
    app: App,
    /,
    db_url: str | None,
    password_ref: str | None,
    out_dir: Path,
    period: str | None,
    level: str,
    secret_ref: str | None,
    policies_dir: Path | None,
    as_json: bool,
    coverage: bool,
    **more: Any,
) -> None:
    """Export one submission from a site (database URL, or WinRM) and print where it was written."""
    from sccm_cep.cli.oplog import note_outcome
    from sccm_cep.cli.progress import progress_shown
    from sccm_cep.export.pipeline import current_period, run_export
    from sccm_cep.platform.config import site_secret
    from sccm_cep.privacy.anonymize import SiteSecret
    from sccm_cep.privacy.policy import load_policies

    with expected(app):
        policies = load_policies(policies_dir)
        opened, site_code = _open_sources(db_url, password_ref, coverage, more)
        try:
            with progress_shown(app, "exporting", as_json=as_json) as progress:
                result = run_export(
                    opened,
                    policies,
                    level=Level(level),
                    period=period or current_period(datetime.now(UTC).date()),
                    secret_for=lambda code: SiteSecret(site_secret(code, secret_ref), site=code),
                    out_dir=out_dir,
                    site_code=site_code,
                    progress=progress,
                )
        finally:
            for each in opened:
                each.close()
    # The site code is the customer's own label for the site; the log stays on this host.
    note_outcome(
        f"site {site_code} {result.period} level {result.level.value}, document "
        f"{result.written.document_id}, {result.written.size:,} bytes"
    )
    if as_json:
        app.out.print_json(data=_result_json(result))
    else:
        _print_summary(app, result)
        app.out.print(str(result.written.path), markup=False, highlight=False, soft_wrap=True)


def _open_sources(
    db_url: str | None, password_ref: str | None, coverage: bool, more: dict[str, Any]
) -> tuple[list[Connector], str]:
    """The sources the options name (database, WinRM, AD coverage), and the site code they read."""
    from sccm_cep.collector.directory import coverage_source
    from sccm_cep.connector import open_connector, site_code_of
    from sccm_cep.platform.config import resolve_secret

    opened: list[Connector] = []
    if db_url:
        password = resolve_secret(password_ref) if password_ref else None
        opened.append(open_connector("sccm_sql", url=db_url, password=password))
    if more.get("winrm_server") or more.get("winrm_clients"):
        opened.append(
            open_connector(
                "winrm",
                site_server=more.get("winrm_server"),
                clients=list(more.get("winrm_clients") or ()),
                **winrm_settings(more),
            )
        )
    if not opened:
        raise click.UsageError(
            "give the site's database with --db URL, its site server with --winrm HOST, or both"
        )
    try:
        site_code = site_code_of(opened[0])
        if coverage:
            opened.append(coverage_source(opened[0], more))
    except BaseException:
        for each in opened:
            each.close()
        raise
    return opened, site_code


def _result_json(result: ExportResult) -> dict[str, Any]:
    return {
        "path": str(result.written.path),
        "document_id": result.written.document_id,
        "content_digest": result.written.content_digest,
        "period": result.period,
        "level": result.level.value,
        "bytes": result.written.size,
        "seconds": round(result.seconds, 3),
        "records": {
            p.record: {"section": p.section, "read": p.source_rows, "sent": p.sent_rows} for p in result.parts
        },
        "suppressed": [
            {
                "record": s.record,
                "field": s.field,
                "action": s.action,
                "threshold": s.threshold,
                "values": s.values,
                "devices": s.devices,
                "reason": s.reason,
            }
            for s in result.suppressed
        ],
        "publisher_normalized_share": result.publisher_normalized_share,
        "notes": list(result.notes),
        "unavailable": [u.as_json() for u in result.unavailable],
    }


def print_unavailable(app: App, unavailable: Sequence[Unavailable], *, title: str | None = None) -> None:
    """The fields this site could not give, as the submission's ``unavailable`` notes say."""
    from rich.table import Table

    if not unavailable:
        return
    table = Table(
        title=title or f"Not available on this site ({len(unavailable)} fields, absent from the submission)"
    )
    for name in ("record", "field", "why"):
        table.add_column(name)
    for u in unavailable:
        add_plain_row(table, u.record, u.field, u.text())
    app.out.print(table)


def _print_summary(app: App, result: ExportResult) -> None:
    from rich.table import Table

    table = Table(title=f"CEP submission {result.period} (level {result.level.value})")
    for name in ("section", "record", "rows read", "rows sent"):
        table.add_column(name, justify="right" if name.startswith("rows") else "left")
    for p in result.parts:
        add_plain_row(table, p.section, p.record, f"{p.source_rows:,}", f"{p.sent_rows:,}")
    app.out.print(table)
    if result.suppressed:
        hidden = Table(title="Suppressed (shown as 'other')")
        for name in ("record", "field", "rule", "values", "devices"):
            hidden.add_column(name)
        for s in result.suppressed:
            rule = s.reason if s.reason in ("identifier", "unrecognized") else f"{s.action} {s.threshold}"
            add_plain_row(hidden, s.record, s.field, rule, f"{s.values:,}", f"{s.devices:,}")
        app.out.print(hidden)
    share = result.publisher_normalized_share
    if share is not None:
        app.out.print(f"software entries whose publisher was normalized: {share:.1%}")
    print_unavailable(app, result.unavailable)
    for note in result.notes:
        app.out.print(f"note: {note}", markup=False, highlight=False)
    app.out.print(
        f"{result.written.size:,} bytes, document {result.written.document_id}, {result.seconds:.1f} s"
    )
