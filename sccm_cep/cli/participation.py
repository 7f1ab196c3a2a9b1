"""Taking part: ``join``, ``leave``, ``status``, ``feedback``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from rich.table import Table

from sccm_cep.cli.common import (
    add_plain_row,
    as_of_option,
    json_option,
    policies_option,
    today,
)
from sccm_cep.cli.context import App, expected
from sccm_cep.collector.cadence import Cadence
from sccm_cep.model import Level

__all__ = ["feedback_cmd", "join_cmd", "leave_cmd", "status_cmd"]


@click.command("join")
@click.argument("site_code", metavar="SITE")
@click.option(
    "--cadence", type=click.Choice([c.value for c in Cadence]), default="quarterly", show_default=True
)
@click.option("--level", type=click.Choice([lv.value for lv in Level]), default="basic", show_default=True)
@click.option(
    "--yes", is_flag=True, help="Accept without asking (for scripts); the field list is still printed."
)
@as_of_option
@policies_option
@json_option
@click.pass_obj
def join_cmd(
    app: App,
    site_code: str,
    cadence: str,
    level: str,
    yes: bool,
    as_of: datetime | None,
    policies_dir: Path | None,
    as_json: bool,
) -> None:
    """Join the program: shows exactly what will be collected, then asks."""
    from sccm_cep.collector.cadence import Cadence
    from sccm_cep.collector.participation import collected_fields, join
    from sccm_cep.collector.sites import find_site
    from sccm_cep.collector.store import current_actor
    from sccm_cep.privacy.policy import load_policies

    with expected(app):
        policies = load_policies(policies_dir)
        with app.store.session() as session:
            find_site(session, site_code)
        fields = collected_fields(policies, Level(level))
        if not as_json:
            table = Table(title=f"What site {site_code.upper()} will send at level {level}")
            for col in ("record", "field", "treatment", "purpose"):
                table.add_column(col)
            for record, rows in fields.items():
                for name, action, purpose in rows:
                    add_plain_row(table, record, name, action, purpose)
            app.out.print(table)
            app.say(f"policy {policies.digest}; first submission on the 7th day, then {cadence}.")
        if not yes:
            click.confirm("Join the Customer Experience Program with these fields?", abort=True)
        enrollment = join(
            app.store,
            site_code,
            cadence=Cadence(cadence),
            level=Level(level),
            today=today(as_of),
            actor=current_actor(),
            policies=policies,
            approved_at=as_of,  # the simulated calendar dates the approval too
        )
    if as_json:
        app.emit_json(
            {
                "site": site_code.upper(),
                "joined_on": enrollment.joined_on.isoformat(),
                "cadence": cadence,
                "level": level,
                "policy_digest": policies.digest,
                "fields": {r: [f[0] for f in rows] for r, rows in fields.items()},
            }
        )
    else:
        app.say(f"site {site_code.upper()} joined on {enrollment.joined_on.isoformat()}")


@click.command("leave")
@click.argument("site_code", metavar="SITE")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@as_of_option
@json_option
@click.pass_obj
def leave_cmd(app: App, site_code: str, yes: bool, as_of: datetime | None, as_json: bool) -> None:
    """Leave at once: stop collection, purge unsent submissions, queue a deletion request."""
    from sccm_cep.collector.participation import leave
    from sccm_cep.collector.store import current_actor

    if not yes:
        click.confirm(f"Stop all collection for site {site_code.upper()}?", abort=True)
    with expected(app):
        purged, doc_id = leave(app.store, site_code, today=today(as_of), actor=current_actor())
    if as_json:
        app.emit_json({"site": site_code.upper(), "purged": purged, "deletion_request": doc_id})
    else:
        app.say(
            f"site {site_code.upper()} left; {purged} unsent submission(s) purged;"
            f" deletion request {doc_id} queued"
        )


@click.command("status")
@as_of_option
@json_option
@click.pass_obj
def status_cmd(app: App, as_of: datetime | None, as_json: bool) -> None:
    """Every site: joined or not, level, cadence, last and next submission."""
    from sccm_cep.collector.participation import status

    with expected(app):
        rows = status(app.store, today=today(as_of))
    if as_json:
        app.emit_json([r.as_json() for r in rows])
        return
    table = Table(title="Sites")
    for col in ("site", "joined", "level", "cadence", "last period", "state", "next due"):
        table.add_column(col)
    for r in rows:
        add_plain_row(
            table,
            r.code,
            r.joined_on or "no",
            r.level or "",
            r.cadence or "",
            r.last_period or "",
            r.last_state or "",
            r.next_due or "",
        )
    app.out.print(table)


@click.command("feedback")
@click.argument("site_code", metavar="SITE")
@click.option("--score", type=click.IntRange(0, 10), required=True, help="Would you recommend us? 0-10.")
@click.option("--comment", help="Optional comment (scrubbed of personal data before it is stored).")
@as_of_option
@json_option
@click.pass_obj
def feedback_cmd(
    app: App, site_code: str, score: int, comment: str | None, as_of: datetime | None, as_json: bool
) -> None:
    """Answer the quarterly question; it goes out with the period's submission."""
    from sccm_cep.collector.participation import record_feedback

    with expected(app):
        period = record_feedback(app.store, site_code, score=score, comment=comment, today=today(as_of))
    if as_json:
        app.emit_json({"site": site_code.upper(), "period": period, "score": score})
    else:
        app.say(f"feedback stored for {site_code.upper()} {period}")
