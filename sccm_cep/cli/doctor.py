"""``sccm-cep doctor``: checks this host and says what to fix."""

from __future__ import annotations

import sys

import click
from rich.table import Table

from sccm_cep.cli.common import (
    add_plain_row,
)
from sccm_cep.cli.context import App
from sccm_cep.errors import ExitCode

__all__ = ["doctor"]


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def doctor(app: App, as_json: bool) -> None:
    """Check this host: ODBC drivers, keyring, data folder, state store, clock. Exit 3 on errors."""
    from sccm_cep.collector import doctor as doctor_mod
    from sccm_cep.collector.store import default_state_url
    from sccm_cep.platform.config import data_dir

    state = app.state_url or default_state_url()
    checks = doctor_mod.run_checks(state_url=state, data_dir=data_dir())
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
