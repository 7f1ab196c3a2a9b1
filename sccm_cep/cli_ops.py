"""CLI commands for operating a collector host: ``schedule`` (daily ``run --due``) and ``doctor``."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table

from sccm_cep import doctor as doctor_mod
from sccm_cep import schedule as schedule_mod
from sccm_cep.cli_common import add_plain_row
from sccm_cep.config import data_dir
from sccm_cep.store import default_state_url

if TYPE_CHECKING:
    from sccm_cep.cli import App

__all__ = ["register_commands"]


def register_commands(cli: click.Group, expected: Any) -> None:
    """Add ``schedule`` and ``doctor`` to the root group."""

    kind_option = click.option(
        "--kind",
        type=click.Choice(list(schedule_mod.KINDS)),
        required=True,
        help="cron, a systemd service + timer, or a Windows scheduled task.",
    )
    target_option = click.option(
        "--target",
        type=click.Path(path_type=Path, file_okay=False),
        help="Folder to write the files to instead of the system's.",
    )

    @cli.group()
    def schedule() -> None:
        """Install, show or remove the daily 'run --due' entry."""

    @schedule.command("install")
    @kind_option
    @click.option("--executable", help="Path of the sccm-cep program (default: this one).")
    @click.option(
        "--time", "time_of_day", help="HH:MM local time (default: spread by host name, 01:00-04:59)."
    )
    @click.option("--user", help="Account the entry runs as (systemd system unit, Windows task).")
    @target_option
    @click.option(
        "--print", "print_only", is_flag=True, help="Print what would be installed; change nothing."
    )
    @click.pass_obj
    def schedule_install(
        app: App,
        kind: str,
        executable: str | None,
        time_of_day: str | None,
        user: str | None,
        target: Path | None,
        print_only: bool,
    ) -> None:
        """Write the scheduler entry (or print it with --print)."""
        with expected(app):
            rendered = schedule_mod.render(
                kind,
                executable=executable or schedule_mod.default_executable(),
                state=app.state_url,
                # Only a folder the admin chose is written in: the default is found at run time.
                data_dir=os.environ.get("SCCM_CEP_DATA_DIR"),
                time_of_day=time_of_day or schedule_mod.spread_time_of_day(socket.gethostname()),
                user=user,
            )
            if print_only:
                for name, content in rendered.items():
                    app.say(f"# --- {name}")
                    app.say(content.rstrip("\n"))
                return
            for line in schedule_mod.install(kind, rendered, target=target):
                app.say(line)

    @schedule.command("show")
    @kind_option
    @target_option
    @click.pass_obj
    def schedule_show(app: App, kind: str, target: Path | None) -> None:
        """Show the installed entry."""
        with expected(app):
            for line in schedule_mod.show(kind, target=target):
                app.say(line)

    @schedule.command("remove")
    @kind_option
    @target_option
    @click.pass_obj
    def schedule_remove(app: App, kind: str, target: Path | None) -> None:
        """Remove the entry (other entries are left alone)."""
        with expected(app):
            for line in schedule_mod.remove(kind, target=target):
                app.say(line)

    @cli.command("doctor")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @click.pass_obj
    def doctor(app: App, as_json: bool) -> None:
        """Check this host: ODBC drivers, keyring, data folder, state store, clock. Exit 3 on errors."""
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
            sys.exit(3)
