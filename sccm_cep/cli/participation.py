"""Taking part: ``join``, ``leave``, ``status``, ``feedback``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from sccm_cep.cli.common import (
    add_plain_row,
    as_of_option,
    json_option,
    policies_option,
    today,
)
from sccm_cep.cli.context import App, expected, report_skipped
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
@click.option(
    "--contributor",
    "contributor_ref",
    metavar="REF",
    envvar="SCCM_CEP_CONTRIBUTOR",
    help="The contributor secret (env:NAME, file:PATH, keyring:SERVICE/USER) to use instead of"
    " making one: give the same on every collector of your organization, so the vendor counts it"
    " as one contributor.",
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
    contributor_ref: str | None,
    as_of: datetime | None,
    policies_dir: Path | None,
    as_json: bool,
) -> None:
    """Join the program: shows exactly what will be collected, then asks."""
    from rich.table import Table

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
            contributor=contributor_ref,
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
    from rich.table import Table

    from sccm_cep.collector.status import status

    with expected(app):
        rows, damaged = status(app.store, today=today(as_of))
    if as_json:
        app.emit_json([r.as_json() for r in rows])
        report_skipped(app, damaged)
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
    report_skipped(app, damaged)


@click.command("feedback")
@click.argument("site_code", metavar="SITE")
@click.option("--score", type=click.IntRange(0, 10), required=True, help="Would you recommend us? 0-10.")
@click.option(
    "--comment",
    help="Optional comment. It is scrubbed of personal data, shown exactly as it would be sent, and"
    " kept only when you confirm that text.",
)
@click.option(
    "--confirm-text",
    metavar="TEXT",
    help="For scripts: the scrubbed comment exactly as shown (byte for byte) instead of the prompt;"
    " any other text stores nothing (exit 13).",
)
@as_of_option
@json_option
@click.pass_obj
def feedback_cmd(
    app: App,
    site_code: str,
    score: int,
    comment: str | None,
    confirm_text: str | None,
    as_of: datetime | None,
    as_json: bool,
) -> None:
    """Answer the quarterly question; it goes out with the period's submission.

    A comment is shown as it would be sent (scrubbed) and kept only if you confirm that text."""
    from sccm_cep.collector.participation import record_feedback, scrubbed_comment
    from sccm_cep.collector.store import current_actor

    if confirm_text is not None and not comment:
        raise click.UsageError("--confirm-text confirms a --comment; give the comment too")
    shown = scrubbed_comment(comment)
    if shown is not None:
        # Exactly the text, through click (no console markup): it goes to standard error
        # with --json, so the JSON on standard output stays clean.
        click.echo("The comment will be sent exactly as:", err=as_json)
        click.echo(f"  {shown}", err=as_json)
        if confirm_text is None:
            if not click.confirm("Send exactly this text?", default=False, err=as_json):
                raise click.Abort
            confirm_text = shown
    elif comment:
        app.say("nothing is left of the comment once scrubbed: only the score is kept")
    with expected(app):
        period = record_feedback(
            app.store,
            site_code,
            score=score,
            comment=comment,
            today=today(as_of),
            confirmed_text=confirm_text,
            actor=current_actor(),
        )
    if as_json:
        app.emit_json({"site": site_code.upper(), "period": period, "score": score, "comment": shown})
    else:
        kept = " with the confirmed comment" if shown is not None else ""
        app.say(f"feedback stored for {site_code.upper()} {period}{kept}")
