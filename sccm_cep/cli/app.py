"""The ``sccm-cep`` root group and the console entry point: the only place exit codes are
decided (``sccm_cep.errors.ExitCode``; README.md has the table). Each command group lives in
its own module of this package and is added here.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

from sccm_cep import __version__
from sccm_cep.cli.context import App
from sccm_cep.cli.delivery import bundle, send
from sccm_cep.cli.doctor import doctor
from sccm_cep.cli.export import export
from sccm_cep.cli.help import add_examples
from sccm_cep.cli.inspect import diff_cmd, verify_pseudonym
from sccm_cep.cli.outbox import outbox
from sccm_cep.cli.participation import feedback_cmd, join_cmd, leave_cmd, status_cmd
from sccm_cep.cli.policy import policy
from sccm_cep.cli.progress import ProgressMode
from sccm_cep.cli.receiver import receiver
from sccm_cep.cli.review import fields, preview, report
from sccm_cep.cli.run import run_cmd
from sccm_cep.cli.schedule import schedule
from sccm_cep.cli.sites import site
from sccm_cep.errors import ExitCode

# The command modules import the heavy libraries (SQLAlchemy, alembic, httpx, jsonschema, and
# rich itself) inside the commands that use them, so --help and --version answer at once;
# tests/unit/test_startup.py holds them to it.

__all__ = ["EXIT_CANCELLED", "App", "cli", "main"]

log = logging.getLogger("sccm_cep")

EXIT_CANCELLED = ExitCode.CANCELLED


@click.group()
@click.version_option(__version__, prog_name="sccm-cep")
@click.option("-v", "--verbose", is_flag=True, help="Log progress to standard error.")
@click.option(
    "--state",
    "state_url",
    envvar="SCCM_CEP_STATE",
    help="State store URL (default: SQLite in the user data folder; or postgresql+psycopg://...).",
)
@click.option(
    "--data-dir",
    "data_dir_opt",
    type=click.Path(file_okay=False),
    envvar="SCCM_CEP_DATA_DIR",
    help="Folder for the state store and site secrets (default: the platform's user data folder).",
)
@click.option(
    "--progress",
    type=click.Choice([mode.value for mode in ProgressMode]),
    default=ProgressMode.AUTO.value,
    envvar="SCCM_CEP_PROGRESS",
    show_default=True,
    help="Progress line of long commands on standard error: auto shows it only on a terminal.",
)
@click.pass_context
def cli(
    ctx: click.Context, verbose: bool, state_url: str | None, data_dir_opt: str | None, progress: str
) -> None:
    """Customer Experience Program submissions from Configuration Manager sites."""
    if data_dir_opt:
        # config.data_dir() reads the variable; a scheduled task cannot set environment variables.
        os.environ["SCCM_CEP_DATA_DIR"] = str(Path(data_dir_opt).resolve())
    from sccm_cep.cli.oplog import configure_logging, log_outcome_on_close

    # Standard error, the log file in the data folder, and the Windows Event Log where usable.
    configure_logging(verbose=verbose)
    log_outcome_on_close(ctx)
    # Piped or captured output gets wide tables instead of truncated cells.
    width = None if sys.stdout.isatty() else 200
    app = App(state_url=state_url, progress=progress, width=width)
    ctx.obj = app
    ctx.call_on_close(lambda: app._store.dispose() if app._store else None)


for command in (
    export,
    policy,
    fields,
    preview,
    report,
    site,
    join_cmd,
    leave_cmd,
    status_cmd,
    run_cmd,
    outbox,
    feedback_cmd,
    send,
    bundle,
    receiver,
    schedule,
    doctor,
    diff_cmd,
    verify_pseudonym,
):
    cli.add_command(command)
add_examples(cli)


def main() -> None:
    """Console-script entry point."""
    _tolerate_legacy_code_pages()
    try:
        code = cli.main(prog_name="sccm-cep", standalone_mode=False)
    except click.Abort as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt):
            sys.exit(ExitCode.INTERRUPTED)
        # "no" at a prompt, or no answer at all (a scheduled task has no console): nothing
        # was changed, which is neither a bug (1) nor a usage error (2).
        print(
            "error: cancelled at the prompt; nothing was changed (pass --yes to run without asking)",
            file=sys.stderr,
        )
        sys.exit(ExitCode.CANCELLED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        sys.exit(ExitCode.INTERRUPTED)
    except Exception as exc:
        # An unexpected failure is a bug. Its message could carry a value read from a site,
        # so only the type is printed unless the operator asks for the full traceback.
        if os.environ.get("SCCM_CEP_DEBUG"):
            raise
        if _database_damage(exc):
            print(
                f"error: state store: a database could not be read ({exc.__class__.__name__}: the file"
                " is damaged); nothing more was changed (run 'sccm-cep doctor'; restore state.db from a"
                " backup)",
                file=sys.stderr,
            )
            sys.exit(ExitCode.STORE)
        print(
            f"error: internal error ({exc.__class__.__name__}); nothing was sent. "
            "Set SCCM_CEP_DEBUG=1 to see the traceback and report it.",
            file=sys.stderr,
        )
        sys.exit(ExitCode.INTERNAL)
    sys.exit(code if isinstance(code, int) else 0)


def _database_damage(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite saying a database file is damaged (a page or table gone after
    the store was opened): its own exit code, never an internal error."""
    if isinstance(exc, UnicodeDecodeError):
        # SQLite returns undecodable text from a damaged page as this, raised inside SQLAlchemy.
        tb, frames = exc.__traceback__, []
        while tb is not None:
            frames.append(tb.tb_frame.f_code.co_filename)
            tb = tb.tb_next
        return any("sqlalchemy" in f for f in frames)
    errors = sys.modules.get("sqlalchemy.exc")
    if errors is None or not isinstance(exc, errors.DatabaseError):
        return False
    text = str(getattr(exc, "orig", exc)).lower()
    return any(w in text for w in ("malformed", "not a database", "no such table", "disk image"))


def _tolerate_legacy_code_pages() -> None:
    """Never crash on a character the console's code page lacks (cp1252, cp437 redirected).

    Files are always written as UTF-8; only what is printed may lose a character, shown as "?".
    """
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        if reconfigure is not None and encoding not in ("utf8", "utf_8"):
            reconfigure(errors="replace")
