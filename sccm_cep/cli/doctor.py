"""``sccm-cep doctor``: checks this host and says what to fix."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from sccm_cep.cli.common import add_plain_row, winrm_options, winrm_settings
from sccm_cep.cli.context import App, expected
from sccm_cep.errors import ExitCode

__all__ = ["doctor"]


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@winrm_options
@click.option(
    "--capture",
    "capture_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="With --winrm: save each script's output, anonymized, in this new folder (see docs/operations.md).",
)
@click.pass_obj
def doctor(app: App, /, as_json: bool, capture_dir: Path | None, **more: Any) -> None:
    """Check this host: ODBC drivers, keyring, data folder, state store, clock. Exit 3 on errors.

    With --winrm HOST (and --winrm-client HOST...), also run every collection script there and
    check its output against the script's schema; --capture DIR saves that output for the vendor."""
    from rich.table import Table

    from sccm_cep.collector import doctor as doctor_mod
    from sccm_cep.collector.store import default_state_url
    from sccm_cep.platform.config import data_dir

    if capture_dir is not None and not more.get("winrm_server"):
        raise click.UsageError("--capture needs the site server: --winrm HOST")
    state = app.state_url or default_state_url()
    checks = doctor_mod.run_checks(state_url=state, data_dir=data_dir())
    if more.get("winrm_server") or more.get("winrm_clients"):
        checks += _winrm_checks(app, capture_dir, more)
    if as_json:
        app.emit_json(
            [
                {"name": c.name, "ok": c.ok, "severity": c.severity, "detail": c.detail, "fix": c.fix}
                for c in checks
            ]
        )
    else:
        table = Table(title="sccm-cep doctor")
        for col in ("check", "ok", "detail", "fix"):
            table.add_column(col)
        for c in checks:
            mark = "ok" if c.ok else c.severity
            add_plain_row(table, c.name, mark, c.detail, c.fix or "")
        app.out.print(table)
    if doctor_mod.has_errors(checks):
        sys.exit(ExitCode.CONFIG)


def _winrm_checks(app: App, capture_dir: Path | None, more: dict[str, Any]) -> list[Any]:
    """The WinRM checks through the connector found by its entry point; bad settings exit 3."""
    from sccm_cep import __version__
    from sccm_cep.collector import doctor as doctor_mod
    from sccm_cep.connector import open_connector

    with expected(app):
        connector = open_connector(
            "winrm",
            site_server=more.get("winrm_server"),
            clients=list(more.get("winrm_clients") or ()),
            **winrm_settings(more),
        )
    try:
        return doctor_mod.winrm_checks(connector, capture_dir, tool_version=__version__)
    finally:
        connector.close()
