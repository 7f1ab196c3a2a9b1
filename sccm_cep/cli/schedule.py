"""``sccm-cep schedule``: install, enable, show or remove the daily ``run --due`` entry."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import click

from sccm_cep.cli.context import App, expected
from sccm_cep.errors import SccmCepError

if TYPE_CHECKING:
    from sccm_cep.collector.schedule import Runner

__all__ = ["schedule", "schedule_runner"]

_NEEDS_USER = (
    "--user is required for --kind windows-task: without a named account the task runs as S4U, "
    "which cannot reach Credential Manager (keyring: references) or network resources (a remote "
    "SQL Server with Windows authentication, a file share). Give a service account (DOMAIN\\svc-cep) "
    "or a group managed service account (DOMAIN\\name$), or pass --s4u to accept those limits."
)


#: Runs crontab, systemctl and schtasks for the ``schedule`` commands; tests put a recorder here.
schedule_runner: Runner = subprocess.run

#: ``sccm_cep.collector.schedule.KINDS``, written out so that ``--help`` does not load the
#: scheduler templates (tests/unit/test_startup.py checks that the two agree).
KINDS = ("cron", "systemd", "windows-task")


def _warn(app: App, text: str) -> None:
    app.err.print(f"warning: {text}", markup=False, highlight=False, soft_wrap=True)


def _site_refs(app: App, state: str) -> list[tuple[str, str]]:
    """(site code, secret reference) of every registered site, without creating a missing store."""
    from sqlalchemy import select
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from sccm_cep.collector.store import Site

    try:
        url = make_url(state)
    except ArgumentError:
        return []
    if url.get_backend_name() == "sqlite" and not (url.database and Path(url.database).is_file()):
        return []
    try:
        with app.store.session() as session:
            rows = session.execute(select(Site.code, Site.password_ref, Site.secret_ref)).all()
    except SccmCepError:
        return []  # the run itself will say what is wrong with the store
    return [(code, ref) for code, *refs in rows for ref in refs if ref]


kind_option = click.option(
    "--kind",
    type=click.Choice(list(KINDS)),
    required=True,
    help="cron, a systemd service + timer, or a Windows scheduled task.",
)


target_option = click.option(
    "--target",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder of files written by 'schedule install --target'; no scheduler is touched.",
)


@click.group()
def schedule() -> None:
    """Install, enable, show or remove the daily 'run --due' entry."""


@schedule.command("install")
@kind_option
@click.option("--executable", help="Full path of the sccm-cep program (default: this one).")
@click.option("--time", "time_of_day", help="HH:MM local time (default: spread by host name, 01:00-04:59).")
@click.option(
    "--user",
    help="Account the entry runs as: User= of a systemd system unit, or the Windows task's "
    "service account (DOMAIN\\svc-cep) or gMSA (DOMAIN\\name$). Required for windows-task.",
)
@click.option(
    "--s4u",
    is_flag=True,
    help="windows-task only, instead of --user: run as S4U (no network, no Credential Manager).",
)
@click.option(
    "--target",
    type=click.Path(path_type=Path, file_okay=False),
    help="Only write the files to this folder and print how to enable them; register nothing.",
)
@click.option("--print", "print_only", is_flag=True, help="Print what would be installed; change nothing.")
@click.pass_obj
def schedule_install(
    app: App,
    kind: str,
    executable: str | None,
    time_of_day: str | None,
    user: str | None,
    s4u: bool,
    target: Path | None,
    print_only: bool,
) -> None:
    """Write the scheduler entry and enable it (with --target: only write it; --print: only show it).

    The entry carries the data folder (--data-dir) and state store (--state) this command runs with.
    """
    from sccm_cep.collector import schedule as schedule_mod
    from sccm_cep.collector.store import default_state_url
    from sccm_cep.platform.config import data_dir

    if kind == "windows-task" and user is None and not s4u:
        raise click.UsageError(_NEEDS_USER)
    if s4u and (kind != "windows-task" or user is not None):
        raise click.UsageError("--s4u applies only to --kind windows-task, instead of --user")
    with expected(app):
        folder = schedule_mod.absolute_data_dir(kind, str(data_dir()))
        state = app.state_url or default_state_url()
        program, leading = (executable, ()) if executable else schedule_mod.default_command()
        rendered = schedule_mod.render(
            kind,
            executable=program,
            executable_args=leading,
            state=state,
            data_dir=folder,
            time_of_day=time_of_day or schedule_mod.spread_time_of_day(socket.gethostname()),
            user=user,
            s4u=s4u,
        )
        refs = _site_refs(app, state) if kind == "windows-task" else []
        for line in schedule_mod.install_warnings(kind, data_dir=folder, s4u=s4u, refs=refs):
            _warn(app, line)
        if print_only:
            for name, content in rendered.items():
                app.say(f"# --- {name}")
                app.say(content.rstrip("\n"))
            return
        for line in schedule_mod.install(kind, rendered, target=target, runner=schedule_runner):
            app.say(line)


@schedule.command("enable")
@kind_option
@target_option
@click.pass_obj
def schedule_enable(app: App, kind: str, target: Path | None) -> None:
    """Register and start what 'schedule install --target' wrote (systemd: or its unit folder)."""
    from sccm_cep.collector import schedule as schedule_mod

    with expected(app):
        for line in schedule_mod.enable(kind, target=target, runner=schedule_runner):
            app.say(line)


@schedule.command("show")
@kind_option
@target_option
@click.pass_obj
def schedule_show(app: App, kind: str, target: Path | None) -> None:
    """Show the installed entry, with the data folder and state store it carries."""
    from sccm_cep.collector import schedule as schedule_mod

    with expected(app):
        for line in schedule_mod.show(kind, target=target, runner=schedule_runner):
            app.say(line)


@schedule.command("remove")
@kind_option
@target_option
@click.pass_obj
def schedule_remove(app: App, kind: str, target: Path | None) -> None:
    """Remove the entry (other entries are left alone); with --target, only the written files."""
    from sccm_cep.collector import schedule as schedule_mod

    with expected(app):
        for line in schedule_mod.remove(kind, target=target, runner=schedule_runner):
            app.say(line)
