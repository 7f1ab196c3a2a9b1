"""`sccm-cep site discover` and `site register --from-ad` end to end against a real slapd."""

from __future__ import annotations

import gzip
import json
import re
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from sccm_cep.cli import cli
from tests.services.ldap.slapd import COMPUTERS, SVC_DN, Slapd

CORP, EMEA = "DC=corp,DC=example", "DC=emea,DC=example"


def _directory_values() -> set[str]:
    """Every name, DN and attribute value the test directory holds (versions and numbers aside)."""
    values: set[str] = set()
    ldif = (Path(__file__).resolve().parents[3] / "fixtures" / "ldap" / "sites.ldif").read_text()
    for line in ldif.splitlines():
        if ":" in line and not line.startswith("#"):
            value = line.split(":", 1)[1].strip()
            # Names that identify something: DNs, host names, GUIDs (plain words like "System"
            # are also product vocabulary and may rightly appear).
            identifying = any(c in value for c in "=.{") and not re.fullmatch(r"[0-9.]+", value)
            if len(value) >= 6 and identifying and not value.startswith("<"):
                values.add(value)
    for domain, (count, _every) in COMPUTERS.items():
        for i in range(count):
            name = f"{domain.split(',')[0][3:].upper()}-PC{i:04d}"
            values |= {name, f"{name.lower()}.example", f"CN={name},CN=Computers,{domain}"}
    return values - {"objectClass", "top", "computer", "container", "mSSMSSite", "mSSMSManagementPoint"}


def _ldap_args(slapd: Slapd, password_ref: str) -> list[str]:
    return [
        "--ldap",
        slapd.ldaps_url,
        "--base",
        CORP,
        "--base",
        EMEA,
        "--bind-dn",
        SVC_DN,
        "--ldap-password",
        password_ref,
        "--ca-bundle",
        str(slapd.certs.ca),
    ]


def test_site_discover_lists_sites_and_management_points(
    slapd: Slapd, svc_password: str, tmp_path: Path, data_dir: Path
) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["site", "discover", *_ldap_args(slapd, svc_password), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["site_code"], r["domain"]) for r in rows] == [("PS1", CORP), ("EU2", EMEA)]
    table = runner.invoke(cli, ["site", "discover", *_ldap_args(slapd, svc_password)])
    assert table.exit_code == 0 and "cm01.corp.example (default)" in table.output
    assert slapd.password not in table.output + result.output


def test_register_from_ad_prefills_and_asks_only_for_the_database(
    slapd: Slapd, svc_password: str, tmp_path: Path, data_dir: Path, sqlite_site: str
) -> None:
    state = ["--state", f"sqlite:///{tmp_path / 'state.db'}"]
    runner = CliRunner()
    result = runner.invoke(
        cli,
        [*state, "site", "register", "PS1", "--from-ad", *_ldap_args(slapd, svc_password)],
        input=f"{sqlite_site}\n",
    )
    assert result.exit_code == 0, result.output
    assert "cm01.corp.example" in result.output and "Site database URL" in result.output
    shown = json.loads(runner.invoke(cli, [*state, "site", "show", "PS1", "--json"]).stdout)
    assert shown["active_directory"]["site_guid"] == "{5E3C1B9A-2D47-4C8E-9F10-6A2B3C4D5E6F}"
    assert runner.invoke(cli, [*state, "site", "check", "PS1"]).exit_code == 0


def test_register_from_ad_refuses_a_site_ad_does_not_publish(
    slapd: Slapd, svc_password: str, tmp_path: Path, data_dir: Path
) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "--state",
            f"sqlite:///{tmp_path / 'state.db'}",
            "site",
            "register",
            "ZZ9",
            "--from-ad",
            "--db",
            "sqlite:////nonexistent.db",
            *_ldap_args(slapd, svc_password),
        ],
    )
    assert result.exit_code == 3 and "publishes no site ZZ9" in result.output and "PS1" in result.output


def test_wrong_bind_password_exits_5(slapd: Slapd, tmp_path: Path, data_dir: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("WRONG_PW", "not-the-password-42")
    result = CliRunner().invoke(cli, ["site", "discover", *_ldap_args(slapd, "env:WRONG_PW")])
    assert result.exit_code == 5, result.output
    assert "not-the-password-42" not in result.output


def test_coverage_count_goes_out_as_bands_and_a_rate_only(
    slapd: Slapd, svc_password: str, tmp_path: Path, data_dir: Path, sqlite_site: str
) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "export",
            "--db",
            sqlite_site,
            "--coverage",
            *_ldap_args(slapd, svc_password),
            "--out",
            str(tmp_path / "out"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    text = Path(json.loads(result.stdout)["path"]).read_text()
    doc = json.loads(text)
    (row,) = doc["site_profile"]["directory_coverage"]
    assert set(row) == {"directory_computers", "managed_clients", "coverage"}
    assert row["directory_computers"] == "100-500" and isinstance(row["coverage"], float)
    assert doc["sources"]["site_profile"] == "ldap+sccm_sql"
    for leak in _directory_values():
        assert leak.lower() not in text.lower(), leak


def test_sites_registered_from_ad_carry_coverage_into_scheduled_runs(
    slapd: Slapd, svc_password: str, tmp_path: Path, data_dir: Path, sqlite_site: str
) -> None:
    state = ["--state", f"sqlite:///{tmp_path / 'state.db'}"]
    runner = CliRunner()
    reg = runner.invoke(
        cli,
        [
            *state,
            "site",
            "register",
            "PS1",
            "--from-ad",
            "--db",
            sqlite_site,
            *_ldap_args(slapd, svc_password),
        ],
    )
    assert reg.exit_code == 0, reg.output
    assert runner.invoke(cli, [*state, "join", "PS1", "--yes", "--as-of", "2026-11-24"]).exit_code == 0
    run = runner.invoke(cli, [*state, "run", "--due", "--as-of", "2026-12-01", "--json"])
    assert run.exit_code == 0 and json.loads(run.stdout)[0]["status"] == "taken", run.output
    assert slapd.password not in (tmp_path / "state.db").read_bytes().decode("latin-1")
    with sqlite3.connect(tmp_path / "state.db") as db:
        (body,) = db.execute("select body from outbox where kind = 'submission'").fetchone()
    (row,) = json.loads(gzip.decompress(body))["site_profile"]["directory_coverage"]
    assert row["directory_computers"] == "100-500"


def test_preview_of_a_site_registered_from_ad_is_the_document_its_run_queues(
    slapd: Slapd, svc_password: str, tmp_path: Path, data_dir: Path, sqlite_site: str
) -> None:
    from tests.e2e.preview_run import assert_same_document, preview_then_run

    state = tmp_path / "state.db"
    reg = CliRunner().invoke(
        cli,
        [
            "--state",
            f"sqlite:///{state}",
            "site",
            "register",
            "PS1",
            "--from-ad",
            "--db",
            sqlite_site,
            *_ldap_args(slapd, svc_password),
        ],
    )
    assert reg.exit_code == 0, reg.output
    shown, written = preview_then_run(state, "PS1")
    (row,) = shown["site_profile"]["directory_coverage"]
    assert row["directory_computers"] == "100-500" and shown["sources"]["site_profile"] == "ldap+sccm_sql"
    assert_same_document(shown, written)
