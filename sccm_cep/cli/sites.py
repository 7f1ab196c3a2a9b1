"""``sccm-cep site``: register, list, show, check, remove sites; rotate, export and import their keys; discover them in AD."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from sccm_cep.cli.common import (
    add_plain_row,
    json_option,
    policies_option,
    winrm_options,
    winrm_settings,
)
from sccm_cep.cli.context import App, expected, report_skipped
from sccm_cep.cli.discover import ldap_options, site_discover
from sccm_cep.model import Level

__all__ = ["site"]


@click.group()
def site() -> None:
    """Register and inspect SCCM sites."""


site.add_command(site_discover)


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
    from rich.table import Table

    from sccm_cep.collector.sites import site_views

    with expected(app):
        views, damaged = site_views(app.store)
    if as_json:
        app.emit_json([v.as_json() for v in views])
        report_skipped(app, damaged)
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
    report_skipped(app, damaged)


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
@click.option(
    "--level",
    type=click.Choice([lv.value for lv in Level]),
    default=Level.BASIC.value,
    show_default=True,
    help="Name the fields sent at this level that the site cannot give.",
)
@policies_option
@json_option
@click.pass_obj
def site_check(app: App, code: str, level: str, policies_dir: Path | None, as_json: bool) -> None:
    """Connect read-only, confirm the database is site CODE, and name the fields it cannot give."""
    from sccm_cep.collector.sites import check_site
    from sccm_cep.export.pipeline import build_request
    from sccm_cep.normalize import sccm_release
    from sccm_cep.privacy.policy import load_policies

    with expected(app):
        request = build_request(load_policies(policies_dir), Level(level))
        reports = check_site(app.store, code, request)
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
            "unavailable": [u.as_json() for u in report.unavailable],
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
        if report.unavailable:
            app.say(
                f"{source}: {len(report.unavailable)} field(s) this site cannot give at level {level}"
                " (they will be absent from its submissions):"
            )
        for u in report.unavailable:
            app.say(f"{source}:   {u.record}.{u.field}: {u.text()}")


@site.command("remove")
@click.argument("code")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def site_remove(app: App, code: str, yes: bool) -> None:
    """Remove a site, everything the store holds for it, and its keys on this host."""
    from sccm_cep.collector.keys import remove_site

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
    from sccm_cep.collector.keys import rotate_key

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
    from sccm_cep.collector.keys import export_key
    from sccm_cep.collector.sites import find_site

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
    from sccm_cep.collector.keys import import_key
    from sccm_cep.collector.sites import find_site

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
