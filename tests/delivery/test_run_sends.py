"""`run --due` with a receiver configured: take what is due, then send everything pending, once."""

from __future__ import annotations

import json

from click.testing import CliRunner

from fixtures.synthetic_site import CANARIES
from sccm_cep.cli import cli
from sccm_cep.receiver import Receiver


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
        }
    ]
    assert receiver.stored() == received
    text = (first.output + again.output).lower()
    assert not [v for values in CANARIES.values() for v in values if v.lower() in text]


def test_run_due_reports_an_unreachable_receiver_and_keeps_the_documents(state_url: str) -> None:
    result = CliRunner().invoke(
        cli,
        ["--state", state_url, "run", "--due", "--as-of", "2027-01-02", "--endpoint", "http://127.0.0.1:9"],
    )
    assert result.exit_code == 4, result.output
    listed = json.loads(CliRunner().invoke(cli, ["--state", state_url, "outbox", "list", "--json"]).stdout)
    assert {r["state"] for r in listed} <= {"pending", "failed"} and len(listed) == 2
