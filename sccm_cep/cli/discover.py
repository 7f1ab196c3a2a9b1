"""``site discover``: the sites and management points Active Directory publishes, and the LDAP
options ``site register --from-ad`` shares with it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from sccm_cep.cli.common import add_plain_row, json_option
from sccm_cep.cli.context import expected

if TYPE_CHECKING:
    from sccm_cep.cli.context import App

__all__ = ["ldap_options", "site_discover"]

F = Callable[..., Any]
_OPTIONS: list[Callable[[F], F]] = [
    click.option(
        "--ldap",
        "ldap_url",
        envvar="SCCM_CEP_LDAP",
        help="ldaps://DC[:636], or ldap://DC[:389] with StartTLS (default: DCs from DNS SRV).",
    ),
    click.option(
        "--domain", envvar="SCCM_CEP_DOMAIN", help="DNS domain for the SRV lookup (default: this host's)."
    ),
    click.option(
        "--base", "bases", multiple=True, help="Domain DN to search; repeat for several (default: RootDSE)."
    ),
    click.option(
        "--auth",
        type=click.Choice(["simple", "ntlm", "kerberos", "anonymous"]),
        default="simple",
        show_default=True,
        envvar="SCCM_CEP_LDAP_AUTH",
    ),
    click.option(
        "--bind-dn", envvar="SCCM_CEP_LDAP_BIND_DN", help="DN or user@domain (simple), DOMAIN\\user (ntlm)."
    ),
    click.option(
        "--ldap-password",
        "ldap_password_ref",
        envvar="SCCM_CEP_LDAP_PASSWORD",
        help="Bind password reference: env:NAME, file:PATH or keyring:SERVICE/USER.",
    ),
    click.option(
        "--ca-bundle",
        type=click.Path(dir_okay=False),
        envvar="SCCM_CEP_LDAP_CA_BUNDLE",
        help="CA certificates to validate the directory's certificate with.",
    ),
    click.option("--insecure", is_flag=True, help="Do not validate the directory's certificate (warns)."),
]


def ldap_options(f: F) -> F:
    for option in reversed(_OPTIONS):
        f = option(f)
    return f


@click.command("discover")
@ldap_options
@json_option
@click.pass_obj
def site_discover(app: App, /, as_json: bool, **opts: Any) -> None:
    """List the SCCM sites and management points published in Active Directory."""
    from rich.table import Table

    from sccm_cep.collector.directory import discover_sites

    with expected(app):
        rows = discover_sites(opts)
    if as_json:
        app.emit_json(rows)
        return
    table = Table(title="Sites published in Active Directory")
    for col in ("site", "domain", "type", "version", "build", "management points", "problems"):
        table.add_column(col)
    for r in rows:
        mps = sorted(r["management_points"], key=lambda mp: not mp.get("default"))
        hosts = ", ".join(
            str(mp.get("host") or "?") + (" (default)" if mp.get("default") else "") for mp in mps
        )
        add_plain_row(
            table,
            str(r["site_code"]),
            str(r["domain"]),
            str(r["site_type"] or ""),
            str(r["version"] or ""),
            str(r["build"] or ""),
            hosts,
            "; ".join(r["problems"]),
        )
    app.out.print(table)
