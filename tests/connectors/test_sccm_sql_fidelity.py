"""The SQL connector against what real sites have: Microsoft's codes and columns, and sites that
lack a column the connector would read (schema-adaptive: the field is left out with a note)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from fixtures.synthetic_site import build_site
from sccm_cep import model as m
from sccm_cep.connector import CollectionRequest
from sccm_cep.errors import NotAnSccmSite
from sccm_cep.export.pipeline import build_request, run_export
from sccm_cep.model import RECORD_TYPES, Level
from sccm_cep.privacy.anonymize import SiteSecret
from sccm_cep.privacy.policy import PolicySet, load_policies
from sccm_cep_connectors.rows import deployment_key, record_values, type_hints
from sccm_cep_connectors.sccm_sql import SqlConnector
from sccm_cep_connectors.sccm_sql import statements as st
from sccm_cep_connectors.sccm_sql import views as v
from sccm_cep_connectors.sccm_sql.columns import columns_read

ALL_FIELDS = {rt.NAME: frozenset(rt.__dataclass_fields__) for rt in RECORD_TYPES}
ALL = CollectionRequest(level=Level.ENHANCED, fields=ALL_FIELDS)
NO_EXTRA: dict[str, dict[object, object]] = {"rules": {}, "targets": {}, "states": {}}


def _site_values(**row: object) -> dict[str, object]:
    fields = frozenset({"site_code", "site_type", "status"})
    return record_values(m.Site, type_hints(m.Site), {"site_code": "PS1", **row}, fields, {})


# -- codes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "name"),
    [
        (1, "active"),
        (5, "upgrade"),
        (6, "secondary_deinstall_failed"),
        (7, "secondary_upgrade_failed"),
        (8, "secondary_recovery_in_progress"),
        (9, "secondary_recovery_failed"),
        (10, "other"),
        (0, "other"),
        ("x", "other"),
        (None, None),
    ],
)
def test_site_status_is_a_closed_set(code: object, name: str | None) -> None:
    assert _site_values(status=code, site_type=2)["status"] == name


def test_unknown_site_type_is_other() -> None:
    assert _site_values(status=1, site_type=3)["site_type"] == "other"
    assert _site_values(status=1, site_type=4)["site_type"] == "central_administration"


def test_compliance_state_3_is_evaluated_but_not_an_error() -> None:
    fields = frozenset({"ci_id", "evaluated", "compliant_rate", "noncompliant_rate", "error_rate"})
    extra = {"rules": {}, "targets": {}, "states": {7: {1: 5, 2: 2, 3: 2, 4: 1}}}
    out = record_values(m.ConfigurationItem, type_hints(m.ConfigurationItem), {"ci_id": 7}, fields, extra)
    assert out["evaluated"] == 10
    assert out["error_rate"] == pytest.approx(0.1)
    assert out["compliant_rate"] == pytest.approx(0.5)


def test_ci_types_follow_microsoft() -> None:
    fields = frozenset({"ci_id", "ci_type"})
    hints = type_hints(m.ConfigurationItem)
    kinds = {
        code: record_values(m.ConfigurationItem, hints, {"ci_id": 1, "ci_type": code}, fields, NO_EXTRA)[
            "ci_type"
        ]
        for code in (2, 3, 4)
    }
    assert kinds == {2: "configuration_baseline", 3: "other", 4: "configuration_item"}


def test_classic_deployments_are_keyed_by_their_advertisement() -> None:
    assert deployment_key(2, 16777220, "PS120001") == "PS120001"
    assert deployment_key(7, 16777221, "PS120002") == "PS120002"
    assert deployment_key(1, 16777222, "{0A1B}") == "16777222"
    assert deployment_key(6, 16777223, None) == "16777223"


# -- against the synthetic site ---------------------------------------------------------------


def _records(connector: SqlConnector, record: str) -> list[Any]:
    (stream,) = [s for s in connector.streams(ALL) if record == s.record_type.NAME]
    return list(stream.read())


def test_deployment_ids_and_targets_come_from_the_real_columns(sqlite_site: str) -> None:
    connector = SqlConnector(sqlite_site)
    records = _records(connector, "deployment")
    connector.close()
    db = sqlite3.connect(sqlite_site.removeprefix("sqlite:///"))
    adverts = {r[0] for r in db.execute('select AdvertisementID from "v_Advertisement"')}
    expected = {
        deployment_key(f, a, o): total
        for f, a, o, total in db.execute(
            'select FeatureType, AssignmentID, OfferID, NumberTotal from "v_DeploymentSummary"'
        )
    }
    db.close()
    got = {r.deployment_id: r.targeted for r in records}
    assert got == expected
    classic = {r.deployment_id for r in records if r.feature_type in ("program", "task_sequence")}
    assert classic and classic <= adverts


def test_rule_count_ignores_relations_that_are_not_rules(private_sqlite_site: str) -> None:
    before = SqlConnector(private_sqlite_site)
    counts = {r.ci_id: r.rule_count for r in _records(before, "configuration_item")}
    before.close()
    path = private_sqlite_site.removeprefix("sqlite:///")
    db = sqlite3.connect(path)
    baseline, other = [r[0] for r in db.execute('select CI_ID from "v_ConfigurationItems" limit 2')]
    ids = [int(c) for c in counts]
    for ci in ids:
        db.execute('insert into "v_CIRelation" (FromCIID, ToCIID, RelationType) values (?, ?, 7)', (ci, ci))
        db.execute(
            'insert into "v_CIRelation" (FromCIID, ToCIID, RelationType) values (?, ?, 0)', (ci, other)
        )
        db.execute(
            'insert into "v_CIRelation" (FromCIID, ToCIID, RelationType) values (?, ?, 6)', (ci, baseline)
        )
    db.commit()
    db.close()
    after = SqlConnector(private_sqlite_site)
    assert {r.ci_id: r.rule_count for r in _records(after, "configuration_item")} == counts
    after.close()


# -- schema-adaptive --------------------------------------------------------------------------

OPTIONAL_COLUMNS = [(name, c.name) for name, t in v.VIEWS.items() for c in t.columns if not v.is_essential(c)]


@pytest.fixture(scope="module")
def tiny_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tiny") / "site.db"
    build_site(f"sqlite:///{path}", devices=40, seed=5, asset_intelligence=True)
    return path


@pytest.fixture(scope="module")
def policies() -> PolicySet:
    """The shipped policies, read once for the export of every column's case."""
    return load_policies()


def _without(site: Path, tmp: Path, view: str, column: str) -> str:
    """A copy of ``site`` whose ``view`` (table or view) lacks ``column``."""
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / "site.db"
    shutil.copy(site, path)
    db = sqlite3.connect(path)
    kind = db.execute("select type from sqlite_master where name = ?", (view,)).fetchone()[0]
    keep = [r[1] for r in db.execute(f'pragma table_info("{view}")') if r[1] != column]
    assert len(keep) < len(list(db.execute(f'pragma table_info("{view}")')))
    cols = ", ".join(f'"{c}"' for c in keep)
    db.execute(f'create table "__copy" as select {cols} from "{view}"')
    db.execute(f'drop {kind} "{view}"')
    db.execute(f'alter table "__copy" rename to "{view}"')
    db.commit()
    db.close()
    return f"sqlite:///{path}"


def test_essential_columns_are_the_keys_and_filters() -> None:
    assert v.ESSENTIAL["v_DeploymentSummary"] == {"AssignmentID", "FeatureType"}
    assert "IsTombstoned" not in v.ESSENTIAL["v_ConfigurationItems"]
    assert all(v.ESSENTIAL[name] for name in v.VIEWS)


@pytest.mark.parametrize(("view", "column"), OPTIONAL_COLUMNS, ids=[f"{a}.{b}" for a, b in OPTIONAL_COLUMNS])
def test_export_succeeds_without_each_optional_column(
    tiny_site: Path, policies: PolicySet, tmp_path: Path, view: str, column: str
) -> None:
    url = _without(tiny_site, tmp_path, view, column)
    connector = SqlConnector(url)
    assert connector.present_views()[view]
    assert f"{view}.{column}" in connector.absent_columns()
    request = build_request(policies, Level.ENHANCED)
    result = run_export(
        connector,
        policies,
        level=Level.ENHANCED,
        period="2026-Q4",
        secret_for=lambda code: SiteSecret(bytes(range(32)), site=code),
        out_dir=tmp_path / "out",
        site_code="PS1",
    )
    assert list((tmp_path / "out").glob("*.json"))
    # Every field the request wanted that reads the column is left out, and a note names it.
    dropped = {
        (record, f)
        for record, fields in request.fields.items()
        if record in st.PLANS
        for f in fields
        if f"{view}.{column}" in _reads(record, f, connector.absent_columns())
    }
    for stream in connector.streams(request):
        assert not {f for r, f in dropped if r == stream.record_type.NAME} & stream.fields
    if dropped:
        assert any(f"{view}.{column}" in note for note in result.notes), result.notes
    connector.close()


def _reads(record: str, field: str, absent: frozenset[str]) -> frozenset[str]:
    """The columns the statements for ``field`` read when built for a site lacking ``absent``:
    a column used only as an optional filter (IsTombstoned) is then not among them."""
    return columns_read(st.PLANS[record], field, absent)


def test_an_essential_column_missing_makes_the_view_missing(tiny_site: Path, tmp_path: Path) -> None:
    url = _without(tiny_site, tmp_path, "v_CIRelation", "RelationType")
    connector = SqlConnector(url)
    assert not connector.present_views()["v_CIRelation"]
    notes = connector.skipped(ALL)
    assert any("v_CIRelation is missing" in n for n in notes)
    connector.close()
    with pytest.raises(NotAnSccmSite):
        SqlConnector(_without(tiny_site, tmp_path / "b", "v_DeploymentSummary", "FeatureType")).check()


def test_without_is_tombstoned_baselines_are_still_collected(tiny_site: Path, tmp_path: Path) -> None:
    full = SqlConnector(f"sqlite:///{tiny_site}")
    expected = len(_records(full, "configuration_item"))
    full.close()
    connector = SqlConnector(_without(tiny_site, tmp_path, "v_ConfigurationItems", "IsTombstoned"))
    assert expected and len(_records(connector, "configuration_item")) == expected
    assert not any("IsTombstoned" in n for n in connector.skipped(ALL))
    connector.close()
