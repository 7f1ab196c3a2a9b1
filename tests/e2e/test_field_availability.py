"""A site that lacks a column or a view: the export still succeeds, never queries what is not
there, and says which fields it could not give, in the submission, the export and run summaries,
``site check``, ``fields --site`` and the HTML report."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import event

from fixtures.synthetic_site import build_site
from fixtures.synthetic_site.profiles import PROFILE_NAMES
from sccm_cep.cli import cli
from sccm_cep.connector import CollectionRequest, Unavailable, UnavailableReason
from sccm_cep.contract.submission import load_schema
from sccm_cep.export.pipeline import build_request, collect
from sccm_cep.model import Level
from sccm_cep.privacy.anonymize import SiteSecret
from sccm_cep.privacy.policy import load_policies
from sccm_cep_connectors.sccm_sql import SqlConnector

ARCHITECTURE = {
    "record": "operating_system",
    "field": "architecture",
    "reason": "column_missing",
    "missing": ["v_GS_OPERATING_SYSTEM.OSArchitecture0"],
}


@pytest.fixture(scope="module")
def full_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("full") / "site.db"
    build_site(f"sqlite:///{path}", devices=60, seed=11, asset_intelligence=True)
    return path


def _degrade(site: Path, target: Path) -> str:
    """A copy of ``site`` inventorying no OS architecture and no BIOS (as a real site may)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(site, target)
    db = sqlite3.connect(target)
    view = "v_GS_OPERATING_SYSTEM"
    kind = db.execute("select type from sqlite_master where name = ?", (view,)).fetchone()[0]
    keep = [r[1] for r in db.execute(f'pragma table_info("{view}")') if r[1] != "OSArchitecture0"]
    cols = ", ".join(f'"{c}"' for c in keep)
    db.execute(f'create table "__copy" as select {cols} from "{view}"')
    db.execute(f'drop {kind} "{view}"')
    db.execute(f'alter table "__copy" rename to "{view}"')
    kind = db.execute("select type from sqlite_master where name = 'v_GS_PC_BIOS'").fetchone()[0]
    db.execute(f'drop {kind} "v_GS_PC_BIOS"')
    db.commit()
    db.close()
    return f"sqlite:///{target}"


@pytest.fixture(scope="module")
def degraded_site(full_site: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    return _degrade(full_site, tmp_path_factory.mktemp("degraded") / "site.db")


def _cli(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


def _export(url: str, out: Path, *more: str) -> tuple[Result, dict[str, Any]]:
    result = _cli("export", "--db", url, "--out", str(out), "--period", "2026-Q4", *more)
    (path,) = out.glob("*.json")
    return result, json.loads(path.read_text(encoding="utf-8"))


def test_the_submission_names_each_field_the_site_cannot_give(
    degraded_site: str, data_dir: Path, tmp_path: Path
) -> None:
    printed, doc = _export(degraded_site, tmp_path / "out", "--level", "enhanced")
    jsonschema.validate(doc, load_schema())
    notes = {(u["record"], u["field"]): u for u in doc["unavailable"]}
    assert notes[("operating_system", "architecture")] == ARCHITECTURE
    assert notes[("device", "architecture")]["missing"] == ["v_GS_OPERATING_SYSTEM.OSArchitecture0"]
    bios = notes[("hardware_bios", "release_year")]
    assert bios["reason"] == "view_missing" and bios["missing"] == ["v_GS_PC_BIOS"]
    assert notes[("device", "bios_release_year")]["reason"] == "view_missing"
    # Absent from the sections: no OS row carries an architecture, no BIOS row is sent.
    assert doc["operating_systems"]["operating_system"]
    assert all(row.get("architecture") is None for row in doc["operating_systems"]["operating_system"])
    assert doc["hardware"]["hardware_bios"] == []
    # Fields that were given are not named; a field the policies do not know is never named.
    assert ("operating_system", "family") not in notes and ("software", "product") not in notes
    policies = load_policies()
    assert all(f in policies[r].fields for r, f in notes)
    # The export summary shows them.
    assert "Not available on this site" in printed.output
    assert "v_GS_OPERATING_SYSTEM.OSArchitecture0" in printed.output


def test_a_complete_site_says_nothing_is_unavailable(full_site: Path, data_dir: Path, tmp_path: Path) -> None:
    printed, doc = _export(f"sqlite:///{full_site}", tmp_path / "out", "--json")
    assert doc["unavailable"] == []
    assert json.loads(printed.stdout)["unavailable"] == []


def test_a_column_that_is_not_there_is_never_queried(degraded_site: str) -> None:
    connector = SqlConnector(degraded_site)
    seen: list[str] = []

    @event.listens_for(connector._engine, "before_cursor_execute")
    def _record(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    request = build_request(load_policies(), Level.ENHANCED)
    for stream in connector.streams(request):
        for _ in stream.read():
            pass
    connector.close()
    selects = [s for s in seen if s.lstrip().upper().startswith("SELECT")]
    assert any("v_GS_OPERATING_SYSTEM" in s for s in selects)
    assert not [s for s in selects if "OSArchitecture0" in s or "v_GS_PC_BIOS" in s]


@pytest.fixture
def registered(degraded_site: str, tmp_path: Path, data_dir: Path) -> str:
    state = f"sqlite:///{tmp_path / 'state.db'}"
    _cli("--state", state, "site", "register", "PS1", "--db", degraded_site)
    return state


def test_site_check_names_the_fields_the_site_cannot_give(registered: str) -> None:
    shown = _cli("--state", registered, "site", "check", "PS1").output
    assert "field(s) this site cannot give at level basic" in shown
    assert "operating_system.architecture: column v_GS_OPERATING_SYSTEM.OSArchitecture0 is missing" in shown
    assert "hardware_bios.release_year: view v_GS_PC_BIOS is missing" in shown
    (report,) = json.loads(_cli("--state", registered, "site", "check", "PS1", "--json").stdout)
    assert ARCHITECTURE in report["unavailable"]
    # At level basic the device table is not read, so its fields are not named.
    assert not [u for u in report["unavailable"] if u["record"] == "device"]
    (enhanced,) = json.loads(
        _cli("--state", registered, "site", "check", "PS1", "--level", "enhanced", "--json").stdout
    )
    assert any(u["record"] == "device" for u in enhanced["unavailable"])


def test_fields_with_site_shows_the_sites_view(registered: str) -> None:
    body = json.loads(_cli("--state", registered, "fields", "--site", "PS1", "--format", "json").stdout)
    on_site = {f"{f['record']}.{f['field']}": f["on_site"] for f in body["fields"]}
    assert on_site["operating_system.architecture"] == (
        "sccm_sql: column v_GS_OPERATING_SYSTEM.OSArchitecture0 is missing"
    )
    assert on_site["hardware_bios.release_year"] == "sccm_sql: view v_GS_PC_BIOS is missing"
    assert on_site["operating_system.family"] == "yes" and on_site["software.product"] == "yes"
    table = _cli("--state", registered, "fields", "--site", "PS1").output
    assert "not available" in table and "v_GS_PC_BIOS" in table


def test_run_and_report_show_the_fields_the_site_cannot_give(registered: str, tmp_path: Path) -> None:
    _cli("--state", registered, "join", "PS1", "--yes", "--as-of", "2026-10-01")
    taken = _cli("--state", registered, "run", "--site", "PS1", "--period", "2026-Q4").output
    assert "field(s) this site cannot give, absent from the submission" in taken
    assert "operating_system.architecture: column missing v_GS_OPERATING_SYSTEM.OSArchitecture0" in taken
    out = tmp_path / "report.html"
    _cli("--state", registered, "report", "PS1", "--out", str(out))
    html = out.read_text(encoding="utf-8")
    assert 'id="fields-not-available"' in html
    assert "<code>v_GS_OPERATING_SYSTEM.OSArchitecture0</code>" in html


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_every_site_profile_exports_and_names_what_it_lacks(
    profile: str, tmp_path: Path, data_dir: Path
) -> None:
    path = tmp_path / "site.db"
    build_site(f"sqlite:///{path}", devices=40, seed=7, profile=profile)
    connector = SqlConnector(f"sqlite:///{path}")
    request = build_request(load_policies(), Level.ENHANCED)
    said = {(u.record, u.field) for u in connector.unavailable(request)}
    connector.close()
    _, doc = _export(f"sqlite:///{path}", tmp_path / "out", "--level", "enhanced")
    jsonschema.validate(doc, load_schema())
    assert {(u["record"], u["field"]) for u in doc["unavailable"]} == said
    if profile == "default_inventory":
        # Only the default hardware inventory classes: no OS architecture (views.OPERATING_SYSTEM).
        assert ("operating_system", "architecture") in said
    if profile == "full":
        assert said == set()


class _Overclaiming(SqlConnector):  # type: ignore[misc]
    """A source that also names a field no policy knows and a device field at level basic."""

    def unavailable(self, request: CollectionRequest) -> list[Unavailable]:
        return [
            *super().unavailable(request),
            Unavailable("software", "made_up", UnavailableReason.COLUMN_MISSING, ("v_X.Y",)),
            Unavailable("device", "memory_gb", UnavailableReason.VIEW_MISSING, ("v_GS_X86_PC_MEMORY",)),
        ]


def test_only_fields_the_policies_name_at_the_level_are_noted(degraded_site: str) -> None:
    connector = _Overclaiming(degraded_site)
    collected = collect(
        connector,
        load_policies(),
        level=Level.BASIC,
        period="2026-Q4",
        secret=SiteSecret(bytes(range(32)), site="PS1"),
        site_code="PS1",
    )
    connector.close()
    named = {(u.record, u.field) for u in collected.submission.unavailable}
    assert ("operating_system", "architecture") in named
    assert ("software", "made_up") not in named
    assert not any(record == "device" for record, _ in named)
