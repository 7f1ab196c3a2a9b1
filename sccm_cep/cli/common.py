"""Pieces every CLI module shares: options operators set from schedulers, and plain tables."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from rich.table import Table

__all__ = [
    "add_plain_row",
    "as_of_option",
    "json_option",
    "policies_option",
    "today",
    "winrm_options",
    "winrm_settings",
]

F = Callable[..., Any]


def add_plain_row(table: Table, *cells: str) -> None:
    """Add a row; ``[keyring]`` in a value stays ``[keyring]`` instead of becoming a style."""
    from rich.markup import escape

    table.add_row(*(escape(c) for c in cells))


def policies_option(f: F) -> F:
    return click.option(
        "--policies",
        "policies_dir",
        type=click.Path(path_type=Path, file_okay=False),
        envvar="SCCM_CEP_POLICIES",
        help="Folder of field policies (default: the reviewed ones shipped with sccm-cep).",
    )(f)


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(f)


_WINRM: list[Callable[[F], F]] = [
    click.option(
        "--winrm", "winrm_server", help="Site server (SMS Provider) to read over WinRM: HOST[:PORT]."
    ),
    click.option(
        "--winrm-client", "winrm_clients", multiple=True, help="A managed client to read (repeatable)."
    ),
    click.option(
        "--winrm-user", envvar="SCCM_CEP_WINRM_USER", help="Account for WinRM (DOMAIN\\user or user@domain)."
    ),
    click.option(
        "--winrm-password",
        "winrm_password",
        envvar="SCCM_CEP_WINRM_PASSWORD",
        help="Password reference: env:NAME, file:PATH or keyring:SERVICE/USER.",
    ),
    click.option(
        "--winrm-auth",
        type=click.Choice(["negotiate", "kerberos", "ntlm", "credssp", "certificate", "basic"]),
        default="negotiate",
        show_default=True,
    ),
    click.option(
        "--winrm-transport",
        type=click.Choice(["psrp", "winrm"]),
        default="psrp",
        show_default=True,
        help="pypsrp (PowerShell Remoting) or pywinrm (WinRS).",
    ),
    click.option(
        "--winrm-ca", type=click.Path(dir_okay=False), help="CA bundle to validate the WinRM certificate."
    ),
    click.option(
        "--winrm-http", is_flag=True, help="HTTP 5985 with message encryption instead of HTTPS 5986."
    ),
    click.option("--winrm-configuration", help="PowerShell session configuration (JEA endpoint) name."),
]


def winrm_options(f: F) -> F:
    for option in reversed(_WINRM):
        f = option(f)
    return f


def winrm_settings(opts: dict[str, Any]) -> dict[str, Any]:
    """The WinRM connector's keyword options from the CLI options (password as a reference)."""
    out: dict[str, Any] = {"auth": opts["winrm_auth"], "transport": opts["winrm_transport"]}
    if opts.get("winrm_user"):
        out["username"] = opts["winrm_user"]
    if opts.get("winrm_password"):
        out["password"] = opts["winrm_password"]
    if opts.get("winrm_ca"):
        out["cert_validation"] = str(opts["winrm_ca"])
    if opts.get("winrm_http"):
        out["ssl"] = False
        if opts["winrm_auth"] == "basic":
            # Basic cannot encrypt messages; the connector allows that only to a loopback host.
            out["encryption"] = "never"
    if opts.get("winrm_configuration"):
        out["configuration_name"] = opts["winrm_configuration"]
    return out


def as_of_option(f: F) -> F:
    return click.option(
        "--as-of",
        "as_of",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        envvar="SCCM_CEP_AS_OF",
        help="Act as if today were this date (dry-run and testing aid).",
    )(f)


def today(as_of: datetime | None) -> date:
    """The --as-of date, or today's (UTC)."""
    return as_of.date() if as_of else datetime.now(UTC).date()
