"""The ``sccm-cep`` command line: the only module that prints or picks exit codes.

Exit codes (also in README.md): 0 ok, 1 internal error, 2 usage, 3 configuration or
policy, 4 source unreachable, 5 source refused the login, 6 not an SCCM site database,
7 a query failed, 8 a document failed its schema, 9 output not writable, 10 ``run``: at
least one site failed (the others were done), 11 a receiver refused a document
(quarantined), 12 a bundle was changed or cannot be read, 13 cancelled at a prompt
(nothing changed), 130 interrupted.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click
from rich.console import Console
from rich.table import Table

from sccm_cep import __version__
from sccm_cep.cli.common import add_plain_row, json_option, policies_option, winrm_options, winrm_settings
from sccm_cep.cli.delivery import register_commands as register_delivery
from sccm_cep.cli.discover import ldap_options
from sccm_cep.cli.help import add_examples
from sccm_cep.cli.inspect import register_commands as register_inspect
from sccm_cep.cli.ops import register_commands as register_ops
from sccm_cep.cli.review import register_commands as register_review
from sccm_cep.cli.sites import register_commands
from sccm_cep.errors import PolicyError, SccmCepError
from sccm_cep.model import Level

if TYPE_CHECKING:
    from sccm_cep.collector.store import Store
    from sccm_cep.connector import Connector
    from sccm_cep.export.pipeline import ExportResult
    from sccm_cep.privacy.policy import PolicySet

# The command modules import the heavy libraries (SQLAlchemy, alembic, httpx, jsonschema)
# inside the commands that use them, so --help and --version answer at once.

__all__ = ["cli", "main"]

log = logging.getLogger("sccm_cep")

EXIT_CANCELLED = 13


@dataclass
class App:
    """What every subcommand gets: where to print, and the state store (opened on first use)."""

    out: Console
    err: Console
    state_url: str | None = None
    _store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            from sccm_cep.collector.store import Store

            self._store = Store(self.state_url)
        return self._store

    def say(self, text: str) -> None:
        self.out.print(text, markup=False, highlight=False, soft_wrap=True)

    def emit_json(self, data: Any) -> None:
        self.out.print_json(data=data)

    def fail(self, exc: SccmCepError) -> NoReturn:
        self.err.print(f"error: {exc.one_line()}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)


@contextmanager
def _expected(app: App) -> Iterator[None]:
    try:
        yield
    except SccmCepError as exc:
        app.fail(exc)


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
@click.pass_context
def cli(ctx: click.Context, verbose: bool, state_url: str | None, data_dir_opt: str | None) -> None:
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
    app = App(
        out=Console(soft_wrap=True, width=width),
        err=Console(stderr=True, soft_wrap=True),
        state_url=state_url,
    )
    ctx.obj = app
    ctx.call_on_close(lambda: app._store.dispose() if app._store else None)


@cli.command()
@click.option(
    "--db",
    "db_url",
    envvar="SCCM_CEP_DB",
    help="SQLAlchemy URL of the site database, e.g. mssql+pyodbc://@SQL01/CM_PS1?driver=...",
)
@click.option(
    "--password",
    "password_ref",
    envvar="SCCM_CEP_DB_PASSWORD",
    help="Reference to the database password: env:NAME, file:PATH or keyring:SERVICE/USER.",
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder the submission is written to.",
)
@click.option("--period", help="Period the submission covers, YYYY-Qn (default: the current quarter).")
@click.option(
    "--level",
    type=click.Choice([lv.value for lv in Level]),
    default=Level.BASIC.value,
    show_default=True,
    help="basic: aggregates only; enhanced: adds pseudonymous device rows.",
)
@click.option(
    "--secret",
    "secret_ref",
    envvar="SCCM_CEP_SITE_SECRET",
    help="Reference to the site's pseudonymization key (default: a key kept in the data folder).",
)
@winrm_options
@click.option(
    "--coverage", is_flag=True, help="Add the AD coverage count (enabled computers, as a band) via LDAP."
)
@ldap_options
@policies_option
@json_option
@click.pass_obj
def export(
    app: App,
    /,
    db_url: str | None,
    password_ref: str | None,
    out_dir: Path,
    period: str | None,
    level: str,
    secret_ref: str | None,
    policies_dir: Path | None,
    as_json: bool,
    coverage: bool,
    **more: Any,
) -> None:
    """Export one submission from a site (database URL, or WinRM) and print where it was written."""
    from sccm_cep.collector.directory import coverage_source
    from sccm_cep.connector import open_connector, site_code_of
    from sccm_cep.export.pipeline import current_period, run_export
    from sccm_cep.platform.config import resolve_secret, site_secret
    from sccm_cep.privacy.anonymize import SiteSecret
    from sccm_cep.privacy.policy import load_policies

    with _expected(app):
        policies = load_policies(policies_dir)
        opened: list[Connector] = []
        if db_url:
            password = resolve_secret(password_ref) if password_ref else None
            opened.append(open_connector("sccm_sql", url=db_url, password=password))
        if more.get("winrm_server") or more.get("winrm_clients"):
            opened.append(
                open_connector(
                    "winrm",
                    site_server=more.get("winrm_server"),
                    clients=list(more.get("winrm_clients") or ()),
                    **winrm_settings(more),
                )
            )
        if not opened:
            raise click.UsageError(
                "give the site's database with --db URL, its site server with --winrm HOST, or both"
            )
        connector = opened[0]
        try:
            site_code = site_code_of(connector)
            result = run_export(
                opened,
                policies,
                level=Level(level),
                period=period or current_period(datetime.now(UTC).date()),
                secret_for=lambda code: SiteSecret(site_secret(code, secret_ref)),
                out_dir=out_dir,
                site_code=site_code,
                extra={"directory_coverage": coverage_source(connector, more)} if coverage else None,
            )
        finally:
            for each in opened:
                each.close()
    from sccm_cep.cli.oplog import note_outcome

    # The site code is the customer's own label for the site; the log stays on this host.
    note_outcome(
        f"site {site_code} {result.period} level {result.level.value}, document "
        f"{result.written.document_id}, {result.written.size:,} bytes"
    )
    if as_json:
        app.out.print_json(data=_result_json(result))
    else:
        _print_summary(app, result)
        app.out.print(str(result.written.path), markup=False, highlight=False, soft_wrap=True)


def _result_json(result: ExportResult) -> dict[str, Any]:
    return {
        "path": str(result.written.path),
        "document_id": result.written.document_id,
        "content_digest": result.written.content_digest,
        "period": result.period,
        "level": result.level.value,
        "bytes": result.written.size,
        "seconds": round(result.seconds, 3),
        "records": {
            p.record: {"section": p.section, "read": p.source_rows, "sent": p.sent_rows} for p in result.parts
        },
        "suppressed": [
            {
                "record": s.record,
                "field": s.field,
                "action": s.action,
                "threshold": s.threshold,
                "values": s.values,
                "devices": s.devices,
            }
            for s in result.suppressed
        ],
        "publisher_normalized_share": result.publisher_normalized_share,
        "notes": list(result.notes),
    }


def _print_summary(app: App, result: ExportResult) -> None:
    table = Table(title=f"CEP submission {result.period} (level {result.level.value})")
    for name in ("section", "record", "rows read", "rows sent"):
        table.add_column(name, justify="right" if name.startswith("rows") else "left")
    for p in result.parts:
        add_plain_row(table, p.section, p.record, f"{p.source_rows:,}", f"{p.sent_rows:,}")
    app.out.print(table)
    if result.suppressed:
        hidden = Table(title="Suppressed (shown as 'other')")
        for name in ("record", "field", "rule", "values", "devices"):
            hidden.add_column(name)
        for s in result.suppressed:
            rule = f"{s.action} {s.threshold}"
            add_plain_row(hidden, s.record, s.field, rule, f"{s.values:,}", f"{s.devices:,}")
        app.out.print(hidden)
    share = result.publisher_normalized_share
    if share is not None:
        app.out.print(f"software entries whose publisher was normalized: {share:.1%}")
    for note in result.notes:
        app.out.print(f"note: {note}", markup=False, highlight=False)
    app.out.print(
        f"{result.written.size:,} bytes, document {result.written.document_id}, {result.seconds:.1f} s"
    )


@cli.group()
def policy() -> None:
    """Field policies: check them against the model."""


@policy.command("lint")
@policies_option
@click.pass_obj
def policy_lint(app: App, policies_dir: Path | None) -> None:
    """Check every policy file against the canonical model; exit 3 on any problem."""
    from sccm_cep.privacy.policy import default_policy_dir, lint, load_policies

    with _expected(app):
        directory = policies_dir or default_policy_dir()
        try:
            loaded: PolicySet = load_policies(directory)
        except PolicyError as exc:
            for problem in exc.problems or (exc.message,):
                app.err.print(f"  {problem}", markup=False, highlight=False, soft_wrap=True)
            raise
    assert not lint(loaded.policies.values())
    fields = sum(len(p.fields) for p in loaded.policies.values())
    app.out.print(
        f"{len(loaded.policies)} policies, {fields} fields: ok ({loaded.digest})",
        markup=False,
        highlight=False,
    )


register_commands(cli, _expected)
register_ops(cli, _expected)
register_review(cli, _expected)
register_delivery(cli, _expected)
register_inspect(cli, _expected)
add_examples(cli)


def main() -> None:
    """Console-script entry point."""
    _tolerate_legacy_code_pages()
    try:
        code = cli.main(prog_name="sccm-cep", standalone_mode=False)
    except click.Abort as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt):
            sys.exit(130)
        # "no" at a prompt, or no answer at all (a scheduled task has no console): nothing
        # was changed, which is neither a bug (1) nor a usage error (2).
        print(
            "error: cancelled at the prompt; nothing was changed (pass --yes to run without asking)",
            file=sys.stderr,
        )
        sys.exit(EXIT_CANCELLED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        sys.exit(130)
    except Exception as exc:
        # An unexpected failure is a bug. Its message could carry a value read from a site,
        # so only the type is printed unless the operator asks for the full traceback.
        if os.environ.get("SCCM_CEP_DEBUG"):
            raise
        print(
            f"error: internal error ({exc.__class__.__name__}); nothing was sent. "
            "Set SCCM_CEP_DEBUG=1 to see the traceback and report it.",
            file=sys.stderr,
        )
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


def _tolerate_legacy_code_pages() -> None:
    """Never crash on a character the console's code page lacks (cp1252, cp437 redirected).

    Files are always written as UTF-8; only what is printed may lose a character, shown as "?".
    """
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        if reconfigure is not None and encoding not in ("utf8", "utf_8"):
            reconfigure(errors="replace")


if __name__ == "__main__":  # pragma: no cover
    main()
