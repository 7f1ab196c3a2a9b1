"""``sccm-cep run``: what the scheduler runs daily (``--due``), or one site and period by hand."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sccm_cep.cli.common import (
    as_of_option,
    json_option,
    policies_option,
    today,
)
from sccm_cep.cli.context import App, expected
from sccm_cep.errors import ExitCode

if TYPE_CHECKING:
    from sccm_cep.collector.runner import RunOutcome
    from sccm_cep.delivery import SendReport

__all__ = ["run_cmd"]


@click.command("run")
@click.option("--due", is_flag=True, help="Do the due work for every joined site (for schedulers).")
@click.option("--site", "site_codes", multiple=True, help="Only these sites (repeatable).")
@click.option("--period", help="Take this period (YYYY-Qn or YYYY-MM-DD/P14D); needs one --site.")
@click.option("--force", is_flag=True, help="With --period: supersede an already taken period.")
@click.option(
    "--endpoint", help="Send to this receiver at the end (default: SCCM_CEP_ENDPOINT, delivery.json)."
)
@as_of_option
@policies_option
@json_option
@click.pass_obj
def run_cmd(
    app: App,
    due: bool,
    site_codes: tuple[str, ...],
    period: str | None,
    force: bool,
    as_of: datetime | None,
    policies_dir: Path | None,
    as_json: bool,
    endpoint: str | None,
) -> None:
    """Take due submissions into the outbox, then send them when a receiver is configured.

    Exit 10 if a site failed; else the sending's code (4 unreachable, 11 quarantined)."""
    from sccm_cep.cli.oplog import note_outcome
    from sccm_cep.cli.progress import progress_shown
    from sccm_cep.collector.runner import run_due, run_period
    from sccm_cep.delivery import DeliverySettings, count_unsent, send_pending
    from sccm_cep.privacy.policy import load_policies

    if due == bool(period):
        raise click.UsageError("give either --due or --period (with one --site)")
    if period and len(site_codes) != 1:
        raise click.UsageError("--period needs exactly one --site")
    with expected(app):
        policies = load_policies(policies_dir)
        with progress_shown(app, "taking the due submissions", as_json=as_json) as progress:
            if period:
                outcomes = [
                    run_period(app.store, policies, site_codes[0], period, force=force, progress=progress)
                ]
            else:
                outcomes = run_due(
                    app.store, policies, today=today(as_of), sites=site_codes, progress=progress
                )
        settings = DeliverySettings.resolve(endpoint=endpoint)
        sending = None
        unsent = 0
        if settings.endpoint:
            only = site_codes[0] if len(site_codes) == 1 else None
            with progress_shown(app, "sending", as_json=as_json):
                sending = send_pending(app.store, settings, site=only)
        else:
            unsent = count_unsent(app.store, sites=site_codes)
    note_outcome(
        _run_summary(outcomes, sending, unsent),
        command="run --due" if due else f"run --period {period}",
    )
    if unsent:
        # Said every time (on standard error, so cron mails it): nothing leaves without it.
        app.err.print(
            f"{unsent} document(s) wait to be sent and no receiver is configured: give --endpoint URL,"
            ' set SCCM_CEP_ENDPOINT, or put "endpoint" in delivery.json in the data folder;'
            " for an air-gapped site, 'sccm-cep bundle prepare --site CODE --out FILE'",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    _print_outcomes(app, outcomes, sending, as_json=as_json, by_hand=bool(period))
    failed = [o for o in outcomes if o.status == "failed"]
    for o in failed:
        # The reason on standard error too (stdout may be JSON or go to a file): one line each.
        app.err.print(
            f"error: run: site {o.site} failed"
            + (f" (exit {o.exit_code})" if o.exit_code else "")
            + (f": {o.message}" if o.message else ""),
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    if failed:
        sys.exit(ExitCode.RUN_FAILED)
    if sending is not None and sending.exit_code:
        sys.exit(sending.exit_code)


def _print_outcomes(
    app: App, outcomes: list[RunOutcome], sending: SendReport | None, *, as_json: bool, by_hand: bool
) -> None:
    """What each site's step and each send did; quiet for sites with nothing due unless by hand."""
    sent = list(sending.results) if sending else []
    missing: dict[str | None, list[dict[str, Any]]] = {
        o.document_id: _unavailable(app, o.document_id)
        for o in outcomes
        if o.document_id and o.status == "taken"
    }
    if as_json:
        app.emit_json(
            [{"step": "take", **o.as_json(), "unavailable": missing.get(o.document_id, [])} for o in outcomes]
            + [
                {
                    "step": "send",
                    "site": r.site,
                    "status": r.status,
                    "document_id": r.document_id,
                    "message": r.reason,
                }
                for r in sent
            ]
        )
        return
    # Quiet when nothing happened: a cron job mails its owner whatever it prints.
    for o in outcomes:
        if o.status in ("not-due", "not-joined") and not by_hand:
            continue
        text = f"{o.site}: {o.status}"
        if o.period:
            text += f" {o.period}"
        if o.document_id:
            text += f" ({o.document_id})"
        if o.message:
            text += f": {o.message}"
        app.say(text)
        gone = missing.get(o.document_id, [])
        if gone:
            app.say(f"{o.site}: {len(gone)} field(s) this site cannot give, absent from the submission:")
        for u in gone:
            app.say(
                f"{o.site}:   {u['record']}.{u['field']}: {u['reason'].replace('_', ' ')} {', '.join(u['missing'])}"
            )
    for r in sent:
        if r.status != "sent":
            app.say(f"{r.site}: send {r.status} ({r.document_id})" + (f": {r.reason}" if r.reason else ""))


def _unavailable(app: App, document_id: str) -> list[dict[str, Any]]:
    """The ``unavailable`` notes of a document the run put in the outbox (its own words)."""
    from sccm_cep.delivery.outbox import show_document

    _, text = show_document(app.store, document_id)
    if text is None:
        return []
    notes = json.loads(text).get("unavailable") or []
    return [dict(n) for n in notes]


def _run_summary(outcomes: list[RunOutcome], sending: SendReport | None, unsent: int) -> str:
    """The outcome line of a run: ``2 sites, 1 submitted PS1 2026-Q4, 1 not due; 1 sent``. Site
    codes, periods and exit codes only: an error's message can quote what a site returned."""
    parts = [f"{len(outcomes)} site" + ("" if len(outcomes) == 1 else "s")]
    for state, words in (
        ("taken", "submitted"),
        ("not-due", "not due"),
        ("not-joined", "not joined"),
        ("busy", "busy"),
        ("failed", "failed"),
    ):
        these = [o for o in outcomes if o.status == state]
        if not these:
            continue
        named = ""
        if state in ("taken", "busy", "failed"):
            named = " " + ", ".join(
                o.site
                + (f" {o.period}" if o.period and state == "taken" else "")
                + (f" (exit {o.exit_code})" if state == "failed" else "")
                for o in these
            )
        parts.append(f"{len(these)} {words}{named}")
    text = ", ".join(parts)
    if sending is not None:
        text += f"; {sending.summary()}"
    elif unsent:
        text += f"; {unsent} waiting, no endpoint"
    return text
