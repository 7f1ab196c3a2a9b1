"""CLI commands for sites, participation and scheduled runs: site, join, leave, status, run,
outbox, feedback. Registered on the root group by ``cli.py``; only printing happens here.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table

from sccm_cep.cli.common import add_plain_row, json_option, policies_option, winrm_options, winrm_settings
from sccm_cep.cli.discover import ldap_options
from sccm_cep.cli.discover import register_commands as register_discover
from sccm_cep.model import Level

if TYPE_CHECKING:
    from sccm_cep.cli.app import App
    from sccm_cep.collector.runner import RunOutcome
    from sccm_cep.delivery import SendReport

__all__ = ["register_commands"]

RUN_FAILED = 10


def _as_of(f: Any) -> Any:
    return click.option(
        "--as-of",
        "as_of",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        envvar="SCCM_CEP_AS_OF",
        help="Act as if today were this date (dry-run and testing aid).",
    )(f)


def _today(as_of: datetime | None) -> date:
    return as_of.date() if as_of else datetime.now(UTC).date()


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


def register_commands(cli: click.Group, expected: Any) -> None:
    """Add the commands to the root group; ``expected`` turns SccmCepError into an exit."""
    from sccm_cep.collector.cadence import Cadence

    @cli.group()
    def site() -> None:
        """Register and inspect SCCM sites."""

    register_discover(site, expected)

    @site.command("register")
    @click.argument("code")
    @click.option(
        "--from-ad", is_flag=True, help="Pre-fill from what Active Directory publishes (see site discover)."
    )
    @ldap_options
    @click.option("--db", "db_url", help="SQLAlchemy URL of the site database (no password in it).")
    @click.option(
        "--password", "password_ref", help="Password reference: env:NAME, file:PATH, keyring:SERVICE/USER."
    )
    @winrm_options
    @click.option("--name", help="A display name for this site (kept locally, never sent).")
    @click.option(
        "--secret-store",
        type=click.Choice(["file", "keyring"]),
        default="file",
        show_default=True,
        help="Where the site's pseudonymization secret is kept.",
    )
    @json_option
    @click.pass_obj
    def site_register(
        app: App,
        /,
        code: str,
        db_url: str | None,
        password_ref: str | None,
        name: str | None,
        secret_store: str,
        as_json: bool,
        from_ad: bool,
        **more: Any,
    ) -> None:
        """Register site CODE (3 letters or digits); with --from-ad, start from what AD publishes."""
        from sccm_cep.collector.directory import discover_sites, find_discovered, ldap_settings
        from sccm_cep.collector.sites import register_site

        with expected(app):
            ad_info = None
            hosts = tuple(h for h in (more.get("winrm_server"), *more.get("winrm_clients", ())) if h)
            if from_ad:
                ad_info = find_discovered(discover_sites(more), code)
                # Kept so runs can add the coverage count; the password stays a reference.
                ad_info["connection"] = ldap_settings(more)
                mps = [str(mp["host"]) for mp in ad_info["management_points"] if mp.get("host")]
                if not as_json:
                    app.say(
                        f"Active Directory: site {code.upper()} in {ad_info['domain']}, version"
                        f" {ad_info['version']}, management points: {', '.join(mps) or 'none'}"
                    )
                if not db_url and not hosts:
                    db_url = click.prompt("Site database URL (AD does not publish it)")
            shown = register_site(
                app.store,
                code,
                ad_info=ad_info,
                db_url=db_url,
                password_ref=password_ref,
                winrm_hosts=hosts,
                winrm_options=winrm_settings(more) if hosts else None,
                name=name,
                secret_store=secret_store,
            )
        if as_json:
            app.emit_json(shown.as_json())
        else:
            app.say(f"registered site {shown.code}; next: sccm-cep site check {shown.code}")

    @site.command("list")
    @json_option
    @click.pass_obj
    def site_list(app: App, as_json: bool) -> None:
        """List registered sites."""
        from sccm_cep.collector.sites import view

        with expected(app):
            from sqlalchemy import select

            from sccm_cep.collector.store import Site

            with app.store.session() as session:
                views = [view(s) for s in session.execute(select(Site).order_by(Site.code)).scalars()]
        if as_json:
            app.emit_json([v.as_json() for v in views])
            return
        table = Table(title="Registered sites")
        for col in ("code", "name", "database", "winrm", "key"):
            table.add_column(col)
        for v in views:
            add_plain_row(
                table,
                v.code,
                v.name or "",
                v.db_url or "",
                ", ".join(v.winrm_hosts),
                f"{v.secret_store} v{v.key_version}",
            )
        app.out.print(table)

    @site.command("show")
    @click.argument("code")
    @json_option
    @click.pass_obj
    def site_show(app: App, code: str, as_json: bool) -> None:
        """Show one site's registration (secrets appear only as references)."""
        from sccm_cep.collector.sites import find_site, view

        with expected(app), app.store.session() as session:
            shown = view(find_site(session, code))
        if as_json:
            app.emit_json(shown.as_json())
        else:
            for key, value in shown.as_json().items():
                app.say(f"{key}: {value}")

    @site.command("check")
    @click.argument("code")
    @json_option
    @click.pass_obj
    def site_check(app: App, code: str, as_json: bool) -> None:
        """Connect read-only and confirm the database is site CODE."""
        from sccm_cep.collector.sites import check_site
        from sccm_cep.normalize import sccm_release

        with expected(app):
            reports = check_site(app.store, code)
        data = [
            {
                "source": source,
                "site_code": report.site_code,
                "version": report.version,
                "build_number": report.build_number,
                "release": sccm_release(report.build_number or report.version),
                "managed_clients": report.managed_clients,
                "readable": list(report.readable),
                "missing_optional": list(report.missing_optional),
                "notes": list(report.notes),
            }
            for source, report in reports
        ]
        if as_json:
            app.emit_json(data)
            return
        for source, report in reports:
            release = sccm_release(report.build_number or report.version)
            # Admins know the release ("2409"); the build and full version are for support cases.
            known = f"Configuration Manager {release}" if release else "an unknown ConfigMgr release"
            app.say(
                f"{source}: site {report.site_code}, {known} (version {report.version},"
                f" build {report.build_number}), {report.managed_clients} managed clients;"
                f" {len(report.readable)} readable"
            )
            for missing in report.missing_optional:
                app.say(f"{source}: missing optional {missing}")
            for note in report.notes:
                app.say(f"{source}: {note}")

    @site.command("remove")
    @click.argument("code")
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    @click.pass_obj
    def site_remove(app: App, code: str, yes: bool) -> None:
        """Remove a site, everything the store holds for it, and its keys on this host."""
        from sccm_cep.collector.sites import remove_site

        if not yes:
            click.confirm(f"Remove site {code.upper()}, its outbox and its keys on this host?", abort=True)
        with expected(app):
            left = remove_site(app.store, code)
        app.say(f"removed site {code.upper()}")
        for what in left:
            app.err.print(f"warning: could not remove {what}", markup=False, highlight=False)

    @site.command("rotate-key")
    @click.argument("code")
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    @click.pass_obj
    def site_rotate(app: App, code: str, yes: bool) -> None:
        """New pseudonymization secret: later submissions cannot be linked to earlier ones."""
        from sccm_cep.collector.sites import rotate_key

        if not yes:
            click.confirm("Later submissions will not be linkable to earlier ones. Rotate?", abort=True)
        with expected(app):
            shown = rotate_key(app.store, code)
        app.say(f"site {shown.code}: new secret, key version {shown.key_version}")
        if not app.store.is_sqlite:
            app.say(
                f"other hosts sharing this state store need it: sccm-cep site export-key {shown.code}"
                f" --out FILE here, then sccm-cep site import-key {shown.code} FILE there"
            )

    passphrase_option = click.option(
        "--passphrase",
        "passphrase_ref",
        metavar="REF",
        help="The passphrase as a reference (env:NAME, file:PATH, keyring:SERVICE/USER); asked if absent.",
    )

    def _passphrase(ref: str | None, *, twice: bool) -> str:
        from sccm_cep.platform.config import resolve_secret

        if ref:
            return resolve_secret(ref)
        return str(click.prompt("Passphrase", hide_input=True, confirmation_prompt=twice))

    @site.command("export-key")
    @click.argument("code")
    @click.option(
        "--out", "out", required=True, type=click.Path(path_type=Path, dir_okay=False), help="File to write."
    )
    @passphrase_option
    @click.pass_obj
    def site_export_key(app: App, code: str, out: Path, passphrase_ref: str | None) -> None:
        """Write the site's key to FILE, encrypted under a passphrase, for another collector host."""
        from sccm_cep.collector.sites import export_key, find_site

        with expected(app):
            with app.store.session() as session:
                find_site(session, code)  # an unknown site is said before the passphrase is asked
            shown = export_key(app.store, code, out, _passphrase(passphrase_ref, twice=True))
        app.say(
            f"site {shown.code}: key version {shown.key_version} written to {out} (encrypted);"
            f" on the other host: sccm-cep site import-key {shown.code} {out.name}"
        )

    @site.command("import-key")
    @click.argument("code")
    @click.argument("source", metavar="FILE", type=click.Path(path_type=Path, dir_okay=False))
    @passphrase_option
    @click.option("--replace", is_flag=True, help="Overwrite a different key this host already holds.")
    @click.pass_obj
    def site_import_key(app: App, code: str, source: Path, passphrase_ref: str | None, replace: bool) -> None:
        """Keep the key from an export-key FILE on this host (protected; never printed)."""
        from sccm_cep.collector.sites import find_site, import_key

        with expected(app):
            with app.store.session() as session:
                find_site(session, code)
            outcome = import_key(
                app.store, code, source, _passphrase(passphrase_ref, twice=False), replace=replace
            )
        if outcome == "unchanged":
            app.say(f"site {code.upper()}: this host already holds that key")
        else:
            app.say(f"site {code.upper()}: key {outcome}")

    @cli.command("join")
    @click.argument("site_code", metavar="SITE")
    @click.option(
        "--cadence", type=click.Choice([c.value for c in Cadence]), default="quarterly", show_default=True
    )
    @click.option(
        "--level", type=click.Choice([lv.value for lv in Level]), default="basic", show_default=True
    )
    @click.option(
        "--yes", is_flag=True, help="Accept without asking (for scripts); the field list is still printed."
    )
    @_as_of
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
                today=_today(as_of),
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

    @cli.command("leave")
    @click.argument("site_code", metavar="SITE")
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    @_as_of
    @json_option
    @click.pass_obj
    def leave_cmd(app: App, site_code: str, yes: bool, as_of: datetime | None, as_json: bool) -> None:
        """Leave at once: stop collection, purge unsent submissions, queue a deletion request."""
        from sccm_cep.collector.participation import leave
        from sccm_cep.collector.store import current_actor

        if not yes:
            click.confirm(f"Stop all collection for site {site_code.upper()}?", abort=True)
        with expected(app):
            purged, doc_id = leave(app.store, site_code, today=_today(as_of), actor=current_actor())
        if as_json:
            app.emit_json({"site": site_code.upper(), "purged": purged, "deletion_request": doc_id})
        else:
            app.say(
                f"site {site_code.upper()} left; {purged} unsent submission(s) purged;"
                f" deletion request {doc_id} queued"
            )

    @cli.command("status")
    @_as_of
    @json_option
    @click.pass_obj
    def status_cmd(app: App, as_of: datetime | None, as_json: bool) -> None:
        """Every site: joined or not, level, cadence, last and next submission."""
        from sccm_cep.collector.participation import status

        with expected(app):
            rows = status(app.store, today=_today(as_of))
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

    @cli.command("run")
    @click.option("--due", is_flag=True, help="Do the due work for every joined site (for schedulers).")
    @click.option("--site", "site_codes", multiple=True, help="Only these sites (repeatable).")
    @click.option("--period", help="Take this period (YYYY-Qn or YYYY-MM-DD/P14D); needs one --site.")
    @click.option("--force", is_flag=True, help="With --period: supersede an already taken period.")
    @click.option(
        "--endpoint", help="Send to this receiver at the end (default: SCCM_CEP_ENDPOINT, delivery.json)."
    )
    @_as_of
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
        from sccm_cep.collector.runner import run_due, run_period
        from sccm_cep.delivery import DeliverySettings, count_unsent, send_pending
        from sccm_cep.privacy.policy import load_policies

        if due == bool(period):
            raise click.UsageError("give either --due or --period (with one --site)")
        if period and len(site_codes) != 1:
            raise click.UsageError("--period needs exactly one --site")
        with expected(app):
            policies = load_policies(policies_dir)
            if period:
                outcomes = [run_period(app.store, policies, site_codes[0], period, force=force)]
            else:
                outcomes = run_due(app.store, policies, today=_today(as_of), sites=site_codes)
            settings = DeliverySettings.resolve(endpoint=endpoint)
            sending = None
            unsent = 0
            if settings.endpoint:
                only = site_codes[0] if len(site_codes) == 1 else None
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
        sent = list(sending.results) if sending else []
        if as_json:
            app.emit_json(
                [{"step": "take", **o.as_json()} for o in outcomes]
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
        else:
            # Quiet when nothing happened: a cron job mails its owner whatever it prints.
            for o in outcomes:
                if o.status in ("not-due", "not-joined") and not period:
                    continue
                text = f"{o.site}: {o.status}"
                if o.period:
                    text += f" {o.period}"
                if o.document_id:
                    text += f" ({o.document_id})"
                if o.message:
                    text += f": {o.message}"
                app.say(text)
            for r in sent:
                if r.status != "sent":
                    app.say(
                        f"{r.site}: send {r.status} ({r.document_id})" + (f": {r.reason}" if r.reason else "")
                    )
        if any(o.status == "failed" for o in outcomes):
            sys.exit(RUN_FAILED)
        if sending is not None and sending.exit_code:
            sys.exit(sending.exit_code)

    @cli.group()
    def outbox() -> None:
        """Documents taken and waiting to be sent, or sent."""

    @outbox.command("list")
    @click.option("--site", "site_code", help="Only this site.")
    @json_option
    @click.pass_obj
    def outbox_list(app: App, site_code: str | None, as_json: bool) -> None:
        """List every submission and deletion request the store holds."""
        from sccm_cep.collector.participation import outbox_rows

        with expected(app):
            rows = outbox_rows(app.store, site=site_code)
        if as_json:
            app.emit_json(rows)
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

    @cli.command("feedback")
    @click.argument("site_code", metavar="SITE")
    @click.option("--score", type=click.IntRange(0, 10), required=True, help="Would you recommend us? 0-10.")
    @click.option("--comment", help="Optional comment (scrubbed of personal data before it is stored).")
    @_as_of
    @json_option
    @click.pass_obj
    def feedback_cmd(
        app: App, site_code: str, score: int, comment: str | None, as_of: datetime | None, as_json: bool
    ) -> None:
        """Answer the quarterly question; it goes out with the period's submission."""
        from sccm_cep.collector.participation import record_feedback

        with expected(app):
            period = record_feedback(app.store, site_code, score=score, comment=comment, today=_today(as_of))
        if as_json:
            app.emit_json({"site": site_code.upper(), "period": period, "score": score})
        else:
            app.say(f"feedback stored for {site_code.upper()} {period}")
