"""The field catalog: complete for every level, one source of truth, docs in step, changes marked."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sccm_cep import model as m
from sccm_cep.cli import cli
from sccm_cep.connector import DERIVED_INPUTS
from sccm_cep.privacy.catalog import build_catalog, compare, filter_level, load_sources, render_markdown
from sccm_cep.privacy.policy import load_policies
from sccm_cep_connectors.sccm_sql import views
from sccm_cep_connectors.sccm_sql.sources import SOURCES as SQL_SOURCES
from sccm_cep_connectors.sccm_sql.statements import PLANS
from sccm_cep_connectors.winrm.mapping import CLIENT_RECORDS, SITE_RECORDS
from sccm_cep_connectors.winrm.sources import SOURCES as WINRM_SOURCES

DOCS = Path(__file__).resolve().parents[2] / "docs" / "fields.md"
REGENERATE = ".venv/bin/sccm-cep fields --format markdown > docs/fields.md"


def _key_paths(doc: dict[str, Any]) -> set[str]:
    """record.field for every value a submission holds (envelope keys as document.KEY)."""
    paths: set[str] = set()
    for key, value in doc.items():
        if key in m.SECTIONS:
            for record, rows in value.items():
                paths |= {f"{record}.{f}" for row in rows for f in row}
        elif key == "feedback":
            paths |= {f"feedback.{f}" for f in value}
        else:
            paths.add(f"document.{key}")
    return paths


@pytest.mark.parametrize("level", ["basic", "enhanced"])
def test_catalog_covers_every_key_path_a_submission_holds(
    sqlite_site: str, data_dir: Path, tmp_path: Path, level: str
) -> None:
    out = tmp_path / "out"
    args = ["export", "--db", sqlite_site, "--out", str(out), "--period", "2026-Q4", "--level", level]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    doc = json.loads(next(out.glob("*.json")).read_text(encoding="utf-8"))
    rows = filter_level(build_catalog(load_policies()), m.Level(level))
    missing = _key_paths(doc) - {r.key for r in rows}
    assert not missing, f"fields sent at level {level} but not in the catalog: {sorted(missing)}"


def test_no_catalog_entry_lacks_purpose_category_or_description() -> None:
    for row in build_catalog(load_policies()):
        assert row.purpose.strip() and row.category and row.description.strip(), row.key
        assert row.sources, f"{row.key} has no declared source"


def test_source_maps_declare_only_model_fields_and_sql_covers_its_records() -> None:
    for declared in load_sources().values():
        for record, fields in declared.items():
            assert set(fields) <= set(m.field_descriptions(m.record_type(record))), record
    for record in PLANS:
        assert set(SQL_SOURCES[record]) == set(m.field_descriptions(m.record_type(record))), record


def test_sql_sources_name_only_views_and_columns_the_statements_read() -> None:
    for record, fields in SQL_SOURCES.items():
        plan_views = set(PLANS[record].views) if record in PLANS else set(views.METADATA.tables)
        for field, source in fields.items():
            if source.startswith("derived from "):
                assert field in DERIVED_INPUTS.get(record, {}), f"{record}.{field} is not derived"
                continue
            view, _, column = source.split(" ")[0].partition(".")
            assert view in plan_views, f"{record}.{field}: {view} is not read for {record}"
            assert column.rstrip(",") in views.METADATA.tables[view].c, f"{record}.{field}: {view}.{column}"


def test_winrm_sources_cover_exactly_what_its_scripts_provide() -> None:
    provided = {r: set(f) for r, (_script, f) in SITE_RECORDS.items()}
    provided.update({r: set(f) for r, f in CLIENT_RECORDS.items()})
    for record, fields in WINRM_SOURCES.items():
        raw = {f for f, s in fields.items() if not s.startswith("derived from ")}
        weight = m.record_type(record).WEIGHT
        if record in provided:  # other records are counted by the connector's check()
            assert raw - {weight} <= provided[record], record


def test_sources_come_from_the_entry_points_not_imports() -> None:
    assert set(load_sources()) >= {"sccm_sql", "winrm", "ldap"}


def test_committed_docs_fields_md_is_current() -> None:
    policies = load_policies()
    expected = render_markdown(build_catalog(policies), policies.digest) + "\n"
    assert DOCS.read_text(encoding="utf-8") == expected, f"docs/fields.md is stale; regenerate: {REGENERATE}"


def test_against_marks_new_changed_and_removed_fields(policy_copy: Path) -> None:
    current = build_catalog(load_policies())
    software = policy_copy / "software.yaml"
    text = software.read_text(encoding="utf-8").replace(
        "k: 5\n    category: free_text", "k: 10\n    category: free_text", 1
    )
    software.write_text(text, encoding="utf-8")
    older = [r for r in build_catalog(load_policies(policy_copy)) if r.key != "software.installations"]
    older.append(older[0].__class__(**{**older[0].as_json(), "field": "retired_field"}))
    marked = {r.key: r for r in compare(current, older)}
    assert marked["software.installations"].change == "new"
    assert marked["software.publisher"].change == "changed"
    assert "k=10" in (marked["software.publisher"].was or "")
    assert marked["document.retired_field"].change == "removed"
    assert marked["software.version"].change is None


def test_comments_and_layout_are_not_a_change(policy_copy: Path, data_dir: Path) -> None:
    site = policy_copy / "site.yaml"
    site.write_text(
        "# reviewed again, no change\n" + site.read_text(encoding="utf-8") + "\n\n", encoding="utf-8"
    )
    result = CliRunner().invoke(
        cli,
        [
            "fields",
            "--format",
            "csv",
            "--policies",
            str(policy_copy),
            "--against",
            str(policy_copy.parent.parent / "x"),
        ],
    )
    assert result.exit_code == 3  # a missing baseline is a policy problem, not a crash
    result = CliRunner().invoke(cli, ["fields", "--format", "csv", "--against", str(policy_copy)])
    assert result.exit_code == 0, result.output
    changes = [r["change"] for r in csv.DictReader(io.StringIO(result.stdout))]
    assert not any(changes)


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "markdown"])
def test_fields_command_prints_every_format(fmt: str) -> None:
    result = CliRunner().invoke(cli, ["fields", "--format", fmt, "--level", "basic"])
    assert result.exit_code == 0, result.output
    assert "software" in result.stdout
    if fmt == "json":
        keys = {f"{r['record']}.{r['field']}" for r in json.loads(result.stdout)["fields"]}
        assert "device.device_id" not in keys  # enhanced only
        assert "site.site_name" not in keys  # dropped
