"""Checking documents by hand: ``diff`` two periods, ``verify-pseudonym``."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import click

from sccm_cep.cli.common import (
    add_plain_row,
    json_option,
    policies_option,
)
from sccm_cep.cli.context import App, expected
from sccm_cep.errors import ConfigError

__all__ = ["diff_cmd", "verify_pseudonym"]


@click.command("diff")
@click.argument("site_code", metavar="SITE")
@click.option("--from", "from_period", help="Older period (default: the one before --to).")
@click.option("--to", "to_period", help="Newer period (default: the latest stored).")
@click.option("--limit", type=int, default=50, show_default=True, help="Rows of detail to show.")
@json_option
@click.pass_obj
def diff_cmd(
    app: App, site_code: str, from_period: str | None, to_period: str | None, limit: int, as_json: bool
) -> None:
    """What changed between two of a site's submissions, section by section."""
    from rich.table import Table

    from sccm_cep.review.diff import diff_documents, load_pair

    with expected(app):
        old, new = load_pair(app.store, site_code, from_period=from_period, to_period=to_period)
    changes = diff_documents(old, new)
    if as_json:
        app.emit_json({"from": old["period"], "to": new["period"], "changes": [c.as_json() for c in changes]})
        return
    app.say(f"{site_code.upper()}: {old['period']} -> {new['period']}, {len(changes)} change(s)")
    summary = Counter((c.section, c.kind) for c in changes)
    table = Table(title="Changes per section")
    for col in ("section", "kind", "count"):
        table.add_column(col)
    for (section, kind), n in sorted(summary.items()):
        add_plain_row(table, section, kind, str(n))
    app.out.print(table)
    detail = Table(title=f"First {min(limit, len(changes))} changes")
    for col in ("record", "kind", "row", "detail"):
        detail.add_column(col, overflow="fold")
    for c in changes[:limit]:
        add_plain_row(detail, c.record, c.kind, c.key, c.detail)
    app.out.print(detail)


@click.command("verify-pseudonym")
@click.argument("site_code", metavar="SITE")
@click.option("--kind", required=True, help="The pseudonym namespace, e.g. device, site, deployment.")
@click.option("--value", required=True, help="The local value, e.g. a device's SMS unique id (GUID:...).")
@click.option(
    "--period",
    help="The document's period: device pseudonyms change every period (default: the current quarter).",
)
@policies_option
@click.pass_obj
def verify_pseudonym(
    app: App, site_code: str, kind: str, value: str, period: str | None, policies_dir: Path | None
) -> None:
    """Print the pseudonym VALUE gets in this site's documents (the secret stays here)."""
    from sccm_cep.collector.keys import site_secret
    from sccm_cep.collector.sites import find_site
    from sccm_cep.export.pipeline import current_period, period_end
    from sccm_cep.model import RecordKind, record_type
    from sccm_cep.privacy.anonymize import device_namespace
    from sccm_cep.privacy.policy import Action, load_policies

    with expected(app):
        policies = load_policies(policies_dir)
        kinds = {
            str(fp.params["namespace"]): (p.record, fp)
            for p in policies.policies.values()
            for fp in p.fields.values()
            if fp.action is Action.PSEUDONYMIZE
        }
        if kind not in kinds:
            raise ConfigError(
                f"'{kind}' is not a pseudonym kind", hint=f"use one of {', '.join(sorted(kinds))}"
            )
        period = period or current_period(datetime.now(UTC).date())
        period_end(period)  # a malformed period is a usage error, not a wrong pseudonym
        with app.store.session() as session:
            secret = site_secret(find_site(session, site_code))
    record, fp = kinds[kind]
    namespace = kind
    if record_type(record).KIND is RecordKind.DEVICE:  # keyed per period unless stable
        namespace = device_namespace(fp, period)
    app.say(f"{secret.pseudonym(namespace, value)}  ({record}.{fp.name})")
