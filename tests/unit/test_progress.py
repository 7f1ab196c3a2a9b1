"""Progress of long commands: shown on a terminal with record type names and counts, never a
site value, and nothing at all in a scheduled run, a pipe, a test runner or with --json."""

from __future__ import annotations

import io
import re
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from fixtures.synthetic_site import CANARIES
from sccm_cep.cli import cli
from sccm_cep.cli.context import App
from sccm_cep.cli.progress import progress_shown, progress_wanted
from sccm_cep.connector import open_connector
from sccm_cep.export import pipeline
from sccm_cep.model import RECORD_TYPES, Level
from sccm_cep.privacy.anonymize import SiteSecret
from sccm_cep.privacy.policy import load_policies

RECORDS = {rt.NAME for rt in RECORD_TYPES}
#: What the progress column shows: "<record type>: <rows> rows".
SHOWN = re.compile(r"([A-Za-z_]+): ([\d,]+) rows")


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


def _app(progress: str = "auto", *, err: io.StringIO | None = None, force: bool = False) -> App:
    return App(
        out=Console(file=io.StringIO()),
        err=Console(file=err or io.StringIO(), force_terminal=force, width=100),
        progress=progress,
    )


@pytest.mark.parametrize(
    ("out_tty", "err_tty", "mode", "as_json", "shown"),
    [
        (True, True, "auto", False, True),
        (False, True, "auto", False, False),  # piped output: a scheduled run, `| tee`
        (True, False, "auto", False, False),  # standard error to a log file
        (False, False, "auto", False, False),
        (True, True, "auto", True, False),  # --json
        (True, True, "never", False, False),
        (False, False, "always", False, True),
        (False, False, "always", True, False),
    ],
)
def test_progress_shows_only_on_a_terminal_without_json(
    monkeypatch: pytest.MonkeyPatch, out_tty: bool, err_tty: bool, mode: str, as_json: bool, shown: bool
) -> None:
    monkeypatch.setattr(sys, "stdout", _Stream(out_tty))
    monkeypatch.setattr(sys, "stderr", _Stream(err_tty))
    assert progress_wanted(_app(mode), as_json=as_json) is shown


def test_the_line_shows_record_types_and_counts_and_nothing_else() -> None:
    buffer = io.StringIO()
    with progress_shown(_app("always", err=buffer, force=True), "exporting") as report:
        assert report is not None
        report("software", 12_000)
        report("WKS-CANARY-0042.corp.example", 3)  # never a record type: a value must not show
    text = buffer.getvalue()
    assert "exporting" in text
    assert "software: 12,000 rows" in text
    assert "records: 3 rows" in text
    assert "CANARY" not in text


def test_nothing_is_shown_or_called_when_progress_is_off() -> None:
    buffer = io.StringIO()
    with progress_shown(_app("never", err=buffer, force=True), "exporting") as report:
        assert report is None
    assert buffer.getvalue() == ""


def test_collect_tells_each_record_type_and_its_rows(
    sqlite_site: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "PROGRESS_EVERY", 50)
    calls: list[tuple[str, int]] = []
    source = open_connector("sccm_sql", url=sqlite_site)
    try:
        collected = pipeline.collect(
            source,
            load_policies(),
            level=Level.ENHANCED,
            period="2026-Q4",
            secret=SiteSecret(b"k" * 32, site="PS1"),
            site_code="PS1",
            progress=lambda record, rows: calls.append((record, rows)),
        )
        for parts in collected.submission.sections.values():
            for part in parts.values():
                list(part.iter_rows())  # device rows are read when the writer iterates them
    finally:
        source.close()
    by_record: dict[str, list[int]] = defaultdict(list)
    for record, rows in calls:
        by_record[record].append(rows)
    read = {record: rows for _, record, rows in collected.source_rows if rows}
    assert read and set(read) <= set(by_record) <= RECORDS
    for record, counts in by_record.items():
        assert counts[0] == 0, record
        assert counts == sorted(counts), record
        assert all(c % 50 == 0 for c in counts[1:-1]), record
    # The last word of each record type is its full row count, and a big one is told on the way.
    assert {r: c[-1] for r, c in by_record.items() if c[-1]} == read
    assert any(len(c) > 2 for c in by_record.values())


def _export(url: str, out: Path, *root: str, json: bool = False) -> tuple[int, str, str]:
    args = ["export", "--db", url, "--out", str(out), "--period", "2026-Q4", "--level", "enhanced"]
    result = CliRunner().invoke(cli, [*root, *args, *(["--json"] if json else [])], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_export_in_a_test_runner_shows_no_progress(sqlite_site: str, data_dir: Path, tmp_path: Path) -> None:
    code, out, err = _export(sqlite_site, tmp_path / "out")
    assert code == 0, err
    assert "exporting" not in err and not SHOWN.search(err) and "\x1b[" not in err
    assert "\x1b[" not in out


def test_export_with_progress_forced_shows_phase_types_and_counts(
    sqlite_site: str, data_dir: Path, tmp_path: Path
) -> None:
    code, out, err = _export(sqlite_site, tmp_path / "out", "--progress", "always")
    assert code == 0, err
    assert "exporting" in err
    shown = SHOWN.findall(err)
    assert shown and {record for record, _ in shown} <= RECORDS
    low = err.lower()
    assert not [v for values in CANARIES.values() for v in values if v.lower() in low]
    assert "exporting" not in out  # standard output keeps only the summary and the path


def test_json_output_stays_clean_even_when_progress_is_forced(
    sqlite_site: str, data_dir: Path, tmp_path: Path
) -> None:
    code, out, err = _export(sqlite_site, tmp_path / "out", "--progress", "always", json=True)
    assert code == 0, err
    assert "exporting" not in err and "\x1b[" not in out
    assert out.lstrip().startswith("{")


def test_run_shows_the_record_types_of_each_export_when_forced(
    sqlite_site: str, data_dir: Path, tmp_path: Path
) -> None:
    state = ["--state", f"sqlite:///{tmp_path / 'state.db'}"]
    runner = CliRunner()
    for args in (
        ["site", "register", "PS1", "--db", sqlite_site],
        ["join", "PS1", "--yes", "--as-of", "2026-11-24"],
    ):
        done = runner.invoke(cli, [*state, *args], catch_exceptions=False)
        assert done.exit_code == 0, done.output
    quiet = runner.invoke(cli, [*state, "run", "--due", "--as-of", "2026-12-01"], catch_exceptions=False)
    assert quiet.exit_code == 0, quiet.output
    assert "taking the due submissions" not in quiet.stderr and not SHOWN.search(quiet.stderr)
    shown = runner.invoke(
        cli,
        [*state, "--progress", "always", "run", "--period", "2026-Q4", "--site", "PS1", "--force"],
        catch_exceptions=False,
    )
    assert shown.exit_code == 0, shown.output
    assert "taking the due submissions" in shown.stderr
    records = {record for record, _ in SHOWN.findall(shown.stderr)}
    assert "software" in records and records <= RECORDS
    low = shown.stderr.lower()
    assert not [v for values in CANARIES.values() for v in values if v.lower() in low]
