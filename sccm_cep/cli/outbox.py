"""``sccm-cep outbox``: the documents the state store holds, and one of them as sent."""

from __future__ import annotations

import json

import click

from sccm_cep.cli.common import (
    add_plain_row,
    json_option,
)
from sccm_cep.cli.context import App, expected, report_skipped

__all__ = ["outbox"]


@click.group()
def outbox() -> None:
    """Documents taken and waiting to be sent, or sent."""


@outbox.command("list")
@click.option("--site", "site_code", help="Only this site.")
@json_option
@click.pass_obj
def outbox_list(app: App, site_code: str | None, as_json: bool) -> None:
    """List every submission and deletion request the store holds."""
    from rich.table import Table

    from sccm_cep.collector.participation import outbox_rows

    with expected(app):
        rows, damaged = outbox_rows(app.store, site=site_code)
    if as_json:
        app.emit_json(rows)
        report_skipped(app, damaged)
        return
    table = Table(title="Outbox")
    for col in ("site", "kind", "period", "rev", "state", "created", "document"):
        table.add_column(col)
    for r in rows:
        add_plain_row(
            table,
            r["site"],
            r["kind"],
            r["period"],
            str(r["revision"]),
            r["state"],
            r["created_at"],
            r["document_id"],
        )
    app.out.print(table)
    report_skipped(app, damaged)


@outbox.command("show")
@click.argument("ref", metavar="ID")
@json_option
@click.pass_obj
def outbox_show(app: App, ref: str, as_json: bool) -> None:
    """Print a stored document (by document_id or outbox id) as it was sent."""
    from sccm_cep.delivery import show_document

    with expected(app):
        meta, text = show_document(app.store, ref)
    if as_json:
        app.emit_json({**meta, "document": json.loads(text) if text is not None else None})
        return
    if text is None:
        app.err.print(
            f"document {meta['document_id']} ({meta['state']}, sent {meta['sent_at']}): its body was dropped"
            f" after the retention period; sha256 {meta['sha256']}, {meta['size']:,} bytes",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        return
    # The exact bytes, so they can be piped to a hash or a JSON viewer.
    click.echo(text)
