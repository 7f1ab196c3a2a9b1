"""`run --due` with a receiver configured: take what is due, then send everything pending, once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from fixtures.synthetic_site import CANARIES
from sccm_cep.cli import cli
from sccm_cep.collector.store import Site, Store
from sccm_cep.delivery import upload
from sccm_cep.receiver.app import Receiver


def test_run_due_takes_then_sends_and_a_second_run_sends_nothing(state_url: str, receiver: Receiver) -> None:
    runner = CliRunner()
    args = [
        "--state",
        state_url,
        "run",
        "--due",
        "--as-of",
        "2027-04-02",
        "--endpoint",
        receiver.url,
        "--json",
    ]
    first = runner.invoke(cli, args, catch_exceptions=False)
    assert first.exit_code == 0, first.output
    steps = json.loads(first.stdout)
    assert [s["status"] for s in steps if s["step"] == "take"] == ["taken"]
    assert sorted(s["status"] for s in steps if s["step"] == "send") == ["sent", "sent", "sent"]
    listed = json.loads(runner.invoke(cli, ["--state", state_url, "outbox", "list", "--json"]).stdout)
    assert {r["state"] for r in listed} == {"sent"}
    received = receiver.stored()
    assert len(received) == 3
    again = runner.invoke(cli, args, catch_exceptions=False)
    assert again.exit_code == 0 and json.loads(again.stdout) == [
        {
            "step": "take",
            "site": "PS1",
            "status": "not-due",
            "period": None,
            "document_id": None,
            "message": None,
            "exit_code": 0,
            "unavailable": [],
        }
    ]
    assert receiver.stored() == received
    text = (first.output + again.output).lower()
    assert not [v for values in CANARIES.values() for v in values if v.lower() in text]


def test_run_due_reports_an_unreachable_receiver_and_keeps_the_documents(
    state_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []
    monkeypatch.setattr(upload, "pause", waits.append)  # the backoff is recorded, not slept through
    result = CliRunner().invoke(
        cli,
        ["--state", state_url, "run", "--due", "--as-of", "2027-01-02", "--endpoint", "http://127.0.0.1:9"],
    )
    assert result.exit_code == 4, result.output
    assert waits, "run --due gave up without retrying"
    listed = json.loads(CliRunner().invoke(cli, ["--state", state_url, "outbox", "list", "--json"]).stdout)
    assert {r["state"] for r in listed} <= {"pending", "failed"} and len(listed) == 2


def _log_lines(data_dir: Path) -> list[str]:
    path = data_dir / "logs" / "sccm-cep.log"
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def test_each_run_writes_one_outcome_line_to_the_log_file_and_no_canary(
    state_url: str, data_dir: Path, receiver: Receiver
) -> None:
    runner = CliRunner()
    base = ["--state", state_url, "run", "--due", "--endpoint", receiver.url]
    assert runner.invoke(cli, [*base, "--as-of", "2027-04-02"]).exit_code == 0
    assert runner.invoke(cli, ["-v", *base, "--as-of", "2027-04-03"]).exit_code == 0
    lines = _log_lines(data_dir)
    assert len(lines) == 2, lines
    assert lines[0].endswith("INFO sccm_cep.ops: run --due: 1 site, 1 submitted PS1 2027-Q2; 3 sent; exit 0")
    assert lines[1].endswith("INFO sccm_cep.ops: run --due: 1 site, 1 not due; nothing to send; exit 0")
    text = "\n".join(lines).lower()
    assert not [v for values in CANARIES.values() for v in values if v.lower() in text]


def test_run_due_with_pending_documents_and_no_endpoint_says_how_to_send_them(
    state_url: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SCCM_CEP_ENDPOINT", raising=False)
    result = CliRunner().invoke(cli, ["--state", state_url, "run", "--due", "--as-of", "2027-01-02"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # quiet on standard output, as on a day with nothing to do
    hint = result.stderr.strip()
    assert hint.startswith("2 document(s) wait to be sent") and "\n" not in hint
    for way in ("--endpoint", "SCCM_CEP_ENDPOINT", "delivery.json", "bundle prepare"):
        assert way in hint
    assert _log_lines(data_dir)[-1].endswith("run --due: 1 site, 1 not due; 2 waiting, no endpoint; exit 0")


def test_run_due_with_nothing_pending_and_no_endpoint_prints_nothing(
    state_url: str, data_dir: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SCCM_CEP_ENDPOINT", raising=False)
    runner = CliRunner()
    assert runner.invoke(cli, ["--state", state_url, "send", "--endpoint", receiver.url]).exit_code == 0
    result = runner.invoke(cli, ["--state", state_url, "run", "--due", "--as-of", "2027-01-02"])
    assert result.exit_code == 0 and result.output == ""


def test_a_failed_period_says_why_on_standard_error_in_one_line(state_url: str, tmp_path: Path) -> None:
    """stdout may be JSON or go to a file: the failure's reason is an error line on stderr too."""
    store = Store(state_url)
    with store.session() as session:
        session.execute(update(Site).values(db_url=f"sqlite:///{tmp_path / 'gone' / 'site.db'}"))
        session.commit()
    store.dispose()
    result = CliRunner().invoke(
        cli, ["--state", state_url, "run", "--site", "PS1", "--period", "2027-Q3", "--json"]
    )
    assert result.exit_code == 10, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "site PS1 failed (exit" in errors[0]
    json.loads(result.stdout)  # standard output stays JSON
