"""`sccm-cep export` end to end: canaries never leave, rare titles stay hidden, exits are distinct."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from fixtures.synthetic_site import CANARIES
from sccm_cep.cli import cli
from sccm_cep.contract.submission import load_schema
from sccm_cep.model import SECTIONS, record_type
from sccm_cep.normalize import split_product

LEVELS = ["basic", "enhanced"]


@pytest.fixture(params=["full", "default_inventory"])
def export_site(request: pytest.FixtureRequest, sqlite_site: str, site_profile: Callable[[str], str]) -> str:
    """The session site as every profile's baseline (full) and as a site that inventories only
    the default hardware classes and properties (issue 14): the main export tests run on both."""
    return sqlite_site if request.param == "full" else site_profile(request.param)


def _export(url: str, out: Path, *args: str) -> tuple[int, str, Path | None]:
    result = CliRunner().invoke(
        cli,
        ["-v", "export", "--db", url, "--out", str(out), "--period", "2026-Q4", *args],
        catch_exceptions=False,
    )
    text = result.output  # stdout and stderr interleaved, as a terminal shows them
    files = sorted(out.glob("*.json")) if out.exists() else []
    return result.exit_code, text, files[0] if files else None


def _assert_no_canary(haystack: str, where: str) -> None:
    low = haystack.lower()
    leaked = [(kind, value) for kind, values in CANARIES.items() for value in values if value.lower() in low]
    assert not leaked, f"canaries in {where}: {leaked}"


def test_generator_plants_enough_canary_kinds() -> None:
    assert len(CANARIES) >= 15
    assert all(len(v) >= 6 for values in CANARIES.values() for v in values)


@pytest.mark.parametrize("level", LEVELS)
def test_no_canary_reaches_any_output_sqlite(
    export_site: str, data_dir: Path, tmp_path: Path, level: str
) -> None:
    code, printed, path = _export(export_site, tmp_path / "out", "--level", level)
    assert code == 0, printed
    assert path is not None
    document = path.read_text(encoding="utf-8")
    jsonschema.validate(json.loads(document), load_schema())
    _assert_no_canary(document, f"the {level} submission")
    _assert_no_canary(printed, "what the CLI printed and logged")
    # The log file is one of the files searched below; the export left its line in it.
    logged = (data_dir / "logs" / "sccm-cep.log").read_text()
    assert "sccm_cep.ops: export: site PS1" in logged and "; exit 0" in logged
    for stored in data_dir.rglob("*"):
        if stored.is_file():
            _assert_no_canary(stored.read_text(errors="replace"), str(stored))


@pytest.mark.postgres
@pytest.mark.parametrize("level", LEVELS)
def test_no_canary_reaches_any_output_postgres(
    pg_site: str, data_dir: Path, tmp_path: Path, level: str
) -> None:
    code, printed, path = _export(pg_site, tmp_path / "out", "--level", level)
    assert code == 0, printed
    assert path is not None
    _assert_no_canary(path.read_text(encoding="utf-8"), f"the {level} submission (PostgreSQL)")
    _assert_no_canary(printed, "what the CLI printed and logged (PostgreSQL)")


def test_all_sections_are_present_and_filled(export_site: str, data_dir: Path, tmp_path: Path) -> None:
    code, printed, path = _export(export_site, tmp_path / "out")
    assert code == 0, printed
    assert path is not None
    doc = json.loads(path.read_text())
    for section in (
        "site_profile",
        "hardware",
        "operating_systems",
        "software",
        "deployments",
        "configuration_policies",
    ):
        rows = sum(len(v) for v in doc[section].values())
        assert rows > 0, section
    assert "devices" not in doc
    assert doc["schema_version"] == "1.0" and doc["period"] == "2026-Q4"


def test_rare_titles_never_appear_verbatim(export_site: str, data_dir: Path, tmp_path: Path) -> None:
    devices: dict[str, set[int]] = defaultdict(set)
    raw_names: dict[str, set[str]] = defaultdict(set)
    db = sqlite3.connect(export_site.removeprefix("sqlite:///"))
    for rid, name, version in db.execute(
        'select ResourceID, DisplayName0, Version0 from "v_Add_Remove_Programs"'
    ):
        product = split_product(name, version).product
        if product:
            devices[product].add(rid)
            raw_names[product].add(name)
    rare = {p for p, ids in devices.items() if len(ids) < 5}
    assert rare, "the synthetic site has a long tail of rare titles"
    code, _, path = _export(export_site, tmp_path / "out")
    assert code == 0 and path is not None
    doc = json.loads(path.read_text())
    sent = {row["product"] for row in doc["software"]["software"]}
    assert not (sent & rare)
    text = path.read_text().lower()
    for product in rare:
        for name in raw_names[product]:
            assert json.dumps(name).lower() not in text


def test_same_site_twice_gives_same_ids(sqlite_site: str, data_dir: Path, tmp_path: Path) -> None:
    ids = []
    for run in ("a", "b"):
        code, _, path = _export(sqlite_site, tmp_path / run)
        assert code == 0 and path is not None
        doc = json.loads(path.read_text())
        ids.append((doc["document_id"], doc["content_digest"]))
    assert ids[0] == ids[1]


def test_hostile_site_exports(hostile_site: str, data_dir: Path, tmp_path: Path) -> None:
    for level in LEVELS:
        code, printed, path = _export(hostile_site, tmp_path / level, "--level", level)
        assert code == 0, printed
        assert path is not None and path.stat().st_size < 5_000_000
        _assert_no_canary(path.read_text(), f"the hostile {level} submission")


def test_not_an_sccm_database_exits_6(tmp_path: Path, data_dir: Path) -> None:
    path = tmp_path / "other.db"
    sqlite3.connect(path).execute("create table customers (id int)").connection.close()
    code, printed, out = _export(f"sqlite:///{path}", tmp_path / "out")
    assert code == 6 and out is None
    assert "v_R_System" in printed and "Traceback" not in printed
    assert len([ln for ln in printed.splitlines() if ln.startswith("error:")]) == 1


def test_missing_database_file_exits_4(tmp_path: Path, data_dir: Path) -> None:
    code, printed, _ = _export(f"sqlite:///{tmp_path / 'missing.db'}", tmp_path / "out")
    assert code == 4 and "Traceback" not in printed


def test_broken_policy_exits_3(sqlite_site: str, tmp_path: Path, data_dir: Path) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "software.yaml").write_text("record: software\nfields: [\n")
    code, printed, out = _export(sqlite_site, tmp_path / "out", "--policies", str(policies))
    assert code == 3 and out is None
    assert "software.yaml" in printed and "policy lint" in printed


@pytest.mark.postgres
def test_wrong_credentials_exit_5_without_the_password(
    pg_base: str, tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SITE_DB_PASSWORD", "S3cret-Value-Never-Printed")
    url = pg_base.replace("postgres@", "no_such_role_y@")
    code, printed, _ = _export(url, tmp_path / "out", "--password", "env:SITE_DB_PASSWORD")
    assert code == 5, printed
    assert "S3cret-Value-Never-Printed" not in printed


@pytest.mark.postgres
def test_unreachable_server_exits_4(pg_base: str, tmp_path: Path, data_dir: Path) -> None:
    code, printed, _ = _export(pg_base.replace(":5432", ":1"), tmp_path / "out")
    assert code == 4, printed


def test_policy_lint_command(tmp_path: Path) -> None:
    ok = CliRunner().invoke(cli, ["policy", "lint"])
    assert ok.exit_code == 0 and "ok (sha256:" in ok.output
    bad = tmp_path / "p"
    bad.mkdir()
    (bad / "software.yaml").write_text("record: software\nfields:\n  publisher:\n    action: keep\n")
    result = CliRunner().invoke(cli, ["policy", "lint", "--policies", str(bad)])
    assert result.exit_code == 3
    assert re.search(r"no purpose", result.output)


def test_console_script_runs_in_a_fresh_process(sqlite_site: str, tmp_path: Path) -> None:
    env = {**os.environ, "SCCM_CEP_DATA_DIR": str(tmp_path / "data")}
    exe = Path(sys.executable).with_name("sccm-cep")
    proc = subprocess.run(
        [str(exe), "export", "--db", sqlite_site, "--out", str(tmp_path / "out"), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert Path(result["path"]).is_file()
    _assert_no_canary(proc.stdout + proc.stderr, "the console script's output")


def test_a_data_folder_that_cannot_be_made_is_a_clear_error(
    sqlite_site: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("SCCM_CEP_DATA_DIR", str(blocker / "data"))
    code, printed, _ = _export(sqlite_site, tmp_path / "out")
    assert code == 3 and "--data-dir" in printed and "internal error" not in printed
    result = CliRunner().invoke(cli, ["status"])
    assert result.exit_code == 3 and "state store" in result.output


def _count_fields(doc: dict[str, object]) -> list[tuple[str, str, object]]:
    """Every count a submission publishes: each record's weight and every ``*_count`` field."""
    found = []
    for section in SECTIONS:
        parts = doc.get(section)
        if not isinstance(parts, dict):
            continue
        for record, rows in parts.items():
            weight = record_type(record).WEIGHT
            for row in rows:
                found += [(record, k, v) for k, v in row.items() if k == weight or k.endswith("_count")]
    return found


def test_basic_level_publishes_no_small_cells(export_site: str, data_dir: Path, tmp_path: Path) -> None:
    # Issue 13: every count is at least k (5) and a multiple of 5, so sums recover no total.
    code, printed, path = _export(export_site, tmp_path / "out")
    assert code == 0 and path is not None, printed
    doc = json.loads(path.read_text())
    counts = _count_fields(doc)
    assert {r for r, _, _ in counts} >= {"operating_system", "software", "hardware_cpu", "package"}
    for record, field, value in counts:
        if isinstance(value, str):
            assert value == "<5", (record, field, value)  # a site object's count below k
            continue
        assert isinstance(value, int) and value >= 5, (record, field, value)
        assert value % 5 == 0, (record, field, value)
    db = sqlite3.connect(export_site.removeprefix("sqlite:///"))
    (managed,) = db.execute(
        'select count(*) from "v_R_System" where coalesce("Client0", 0) = 1'
        ' and coalesce("Obsolete0", 0) = 0 and coalesce("Decommissioned0", 0) = 0'
    ).fetchone()
    os_total = sum(r["device_count"] for r in doc["operating_systems"]["operating_system"])
    if managed % 5:
        assert os_total != managed
    assert abs(os_total - managed) <= 2 * len(doc["operating_systems"]["operating_system"]) + 4
