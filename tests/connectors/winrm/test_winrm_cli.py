"""The WinRM path through the command line: one-off export and a registered site's run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fixtures.synthetic_site import CANARIES
from sccm_cep.cli import cli
from tests.support.wsman import Lab
from tests.support.wsman.server import PASSWORD, USER


def _server_args(lab: Lab, password_ref: str) -> list[str]:
    """Options reaching the loopback site server with Basic auth over HTTP (loopback only)."""
    return [
        "--winrm",
        lab.site_server.address,
        "--winrm-user",
        USER,
        "--winrm-password",
        password_ref,
        "--winrm-auth",
        "basic",
        "--winrm-http",
    ]


@pytest.fixture
def winrm_args(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setenv("WINRM_CLI_PASSWORD", PASSWORD)
    args = _server_args(lab, "env:WINRM_CLI_PASSWORD")
    for client in lab.clients:
        args += ["--winrm-client", client.address]
    return args


def _no_canary(text: str) -> None:
    low = text.lower()
    assert not [v for values in CANARIES.values() for v in values if v.lower() in low]


@pytest.mark.parametrize("transport", ["psrp", "winrm"])
def test_export_over_winrm_writes_a_clean_submission(
    winrm_args: list[str], tmp_path: Path, data_dir: Path, transport: str
) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "-v",
            "export",
            *winrm_args,
            "--winrm-transport",
            transport,
            "--out",
            str(tmp_path / "out"),
            "--period",
            "2026-Q4",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    doc = json.loads(Path(report["path"]).read_text())
    assert set(doc["sources"].values()) == {"winrm"}
    assert doc["software"]["software"] and doc["operating_systems"]["operating_system"]
    _no_canary(Path(report["path"]).read_text() + result.output)
    assert PASSWORD not in result.output


def test_registered_winrm_site_runs_on_schedule(
    winrm_args: list[str], tmp_path: Path, data_dir: Path
) -> None:
    state = ["--state", f"sqlite:///{tmp_path / 'state.db'}"]
    runner = CliRunner()
    reg = runner.invoke(cli, [*state, "site", "register", "PS1", *winrm_args])
    assert reg.exit_code == 0, reg.output
    shown = runner.invoke(cli, [*state, "site", "show", "PS1", "--json"]).stdout
    assert PASSWORD not in shown and "env:WINRM_CLI_PASSWORD" not in json.loads(shown)["winrm_hosts"]
    check = runner.invoke(cli, [*state, "site", "check", "PS1", "--json"])
    assert check.exit_code == 0, check.output
    assert [(r["source"], r["site_code"]) for r in json.loads(check.stdout)] == [("winrm", "PS1")]
    assert runner.invoke(cli, [*state, "join", "PS1", "--yes", "--as-of", "2026-11-24"]).exit_code == 0
    run = runner.invoke(cli, [*state, "run", "--due", "--as-of", "2026-12-01", "--json"])
    assert run.exit_code == 0, run.output
    assert json.loads(run.stdout)[0]["status"] == "taken"


def test_wrong_winrm_password_exits_5(
    lab: Lab, tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WINRM_BAD", "definitely-wrong-77")
    result = CliRunner().invoke(
        cli,
        ["export", *_server_args(lab, "env:WINRM_BAD"), "--out", str(tmp_path / "out")],
    )
    assert result.exit_code == 5, result.output
    assert "definitely-wrong-77" not in result.output


def test_with_both_sources_the_policy_decides_per_section(
    winrm_args: list[str], winrm_site_db: Path, tmp_path: Path, data_dir: Path
) -> None:
    import shutil

    from sccm_cep.privacy.policy import default_policy_dir

    def export(policies: Path | None, out: str) -> dict[str, Any]:
        extra = ["--policies", str(policies)] if policies else []
        result = CliRunner().invoke(
            cli,
            [
                "export",
                "--db",
                f"sqlite:///{winrm_site_db}",
                *winrm_args,
                *extra,
                "--out",
                str(tmp_path / out),
                "--period",
                "2026-Q4",
                "--json",
            ],
        )
        assert result.exit_code == 0, result.output
        doc: dict[str, Any] = json.loads(Path(json.loads(result.stdout)["path"]).read_text())
        return doc

    default = export(None, "a")
    assert set(default["sources"].values()) == {"sccm_sql"}
    prefer = tmp_path / "policies"
    shutil.copytree(default_policy_dir(), prefer)
    text = (prefer / "sources.yaml").read_text()
    (prefer / "sources.yaml").write_text(
        text.replace("software: [sccm_sql, winrm]", "software: [winrm, sccm_sql]").replace(
            "hardware: [sccm_sql, winrm]", "hardware: [winrm, sccm_sql]"
        )
    )
    mixed = export(prefer, "b")
    assert mixed["sources"]["software"] == "winrm" and mixed["sources"]["hardware"] == "winrm"
    assert mixed["sources"]["deployments"] == "sccm_sql"
    # Same site through either source: the software section is the same.
    assert mixed["software"] == default["software"]
    assert mixed["policy_digest"] != default["policy_digest"]


def test_an_export_over_50_clients_with_5_unreachable_still_writes_and_reports_them(
    lab: Lab, tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.connectors.winrm.test_winrm_connector import _closed_ports

    monkeypatch.setenv("WINRM_CLI_PASSWORD", PASSWORD)
    args = [
        "export",
        *_server_args(lab, "env:WINRM_CLI_PASSWORD"),
        "--out",
        str(tmp_path / "out"),
        "--period",
        "2026-Q4",
    ]
    for client in [c.address for c in lab.clients[:45]] + [f"127.0.0.1:{p}" for p in _closed_ports(5)]:
        args += ["--winrm-client", client]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "clients: 5 of 50 not collected (5 unreachable)" in result.output
    assert list((tmp_path / "out").glob("*.json"))


def test_site_check_reports_a_refused_winrm_login(
    lab: Lab, tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WINRM_BAD", "definitely-wrong-78")
    state = ["--state", f"sqlite:///{tmp_path / 'state.db'}"]
    reg = CliRunner().invoke(
        cli,
        [*state, "site", "register", "PS1", *_server_args(lab, "env:WINRM_BAD")],
    )
    assert reg.exit_code == 0, reg.output
    check = CliRunner().invoke(cli, [*state, "site", "check", "PS1"])
    assert check.exit_code == 5 and "definitely-wrong-78" not in check.output


def test_preview_of_a_winrm_site_is_the_document_its_run_queues(
    winrm_args: list[str], tmp_path: Path, data_dir: Path
) -> None:
    from tests.e2e.preview_run import assert_same_document, preview_then_run

    state = tmp_path / "state.db"
    reg = CliRunner().invoke(cli, ["--state", f"sqlite:///{state}", "site", "register", "PS1", *winrm_args])
    assert reg.exit_code == 0, reg.output
    shown, written = preview_then_run(state, "PS1")
    assert set(shown["sources"].values()) == {"winrm"} and shown["software"]["software"]
    assert_same_document(shown, written)
