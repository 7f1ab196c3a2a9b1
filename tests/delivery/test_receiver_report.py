"""``receiver report`` over documents from several simulated sites, built by the real pipeline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from sccm_cep.cli import cli
from sccm_cep.receiver.app import Receiver
from sccm_cep.receiver.report import nps

SITES = ("PS1", "PS2", "PS3")


def _cli(runner: CliRunner, state: str, *args: str) -> str:
    result = runner.invoke(cli, ["--state", state, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_nps_counts_promoters_and_detractors_and_is_null_without_answers() -> None:
    assert nps([10, 9, 8, 7, 6, 0]) == 0.0
    assert nps([10, 9, 7]) == 66.7
    assert nps([]) is None


def test_report_across_sites_matches_a_hand_computed_nps_and_withholds_below_k(
    tmp_path: Path, data_dir: Path, sqlite_site: str, receiver: Receiver
) -> None:
    state = f"sqlite:///{tmp_path / 'state.db'}"
    runner = CliRunner()
    send = ("--endpoint", receiver.url)
    for code in SITES:  # each registration makes the site its own pseudonymization secret
        _cli(runner, state, "site", "register", code, "--db", sqlite_site)
        _cli(runner, state, "join", code, "--yes", "--as-of", "2026-11-24")
    for code, score in zip(SITES, ("10", "8", "3"), strict=True):
        _cli(runner, state, "feedback", code, "--score", score, "--as-of", "2026-11-30")
    _cli(runner, state, "run", "--due", "--as-of", "2026-12-01", *send)
    # PS3 changes its answer and re-takes 2026-Q4: only the latest revision counts.
    _cli(runner, state, "feedback", "PS3", "--score", "9", "--as-of", "2026-12-02")
    _cli(runner, state, "run", "--period", "2026-Q4", "--site", "PS3", "--force", *send)
    _cli(runner, state, "feedback", "PS1", "--score", "6", "--as-of", "2027-01-01")
    _cli(runner, state, "run", "--due", "--as-of", "2027-01-01", *send)
    assert len(receiver.stored()) == 7

    db = receiver.engine.url.render_as_string(hide_password=False)
    report: dict[str, Any] = json.loads(
        _cli(runner, state, "receiver", "report", "--db", db, "--json", "--k", "3")
    )
    # Counted answers: PS1 10 (Q4) and 6 (Q1), PS2 8, PS3 9 (revision 1 replaces its 3):
    # promoters 2 of 4, detractors 1 of 4: NPS = 50 - 25 = 25.0.
    assert report["documents"] == 7 and report["sites"] == 3
    assert report["nps"] == {
        "value": 25.0,
        "sites": 3,
        "answers": 4,
        "promoters": 2,
        "passives": 1,
        "detractors": 1,
    }
    for name in ("os_releases", "sccm_versions", "top_software", "deployment_technologies"):
        figure = report[name]
        assert figure["sites"] == 3 and figure["value"], name
        assert abs(sum(i["share"] for i in figure["value"]) + figure["other_share"] - 1) < 0.01, name
    assert len(report["top_software"]["value"]) <= 10

    withheld: dict[str, Any] = json.loads(
        _cli(runner, state, "receiver", "report", "--db", db, "--json", "--k", "4")
    )
    assert withheld["documents"] == 7 and withheld["sites"] == 3
    for name in ("os_releases", "sccm_versions", "top_software", "deployment_technologies"):
        assert withheld[name] == {"value": None, "withheld": 4}
    assert withheld["nps"] == {"value": None, "withheld": 4, "answers": None}
    text = _cli(runner, state, "receiver", "report", "--db", db, "--k", "4")
    assert "nps: withheld" in text and "documents: 7; sites: 3" in text
