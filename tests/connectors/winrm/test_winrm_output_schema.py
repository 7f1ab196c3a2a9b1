"""What the scripts print is checked against the JSON Schema shipped with each (every recorded
document too); the SMS Provider must be on the host WinRM reaches; baselines.ps1 prints one row per
baseline from the provider's per-baseline summary, counting each targeted computer once."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from fixtures.synthetic_site import build_site
from sccm_cep import model as m
from sccm_cep.connector import CollectionRequest
from sccm_cep.errors import ConfigError, SourceQueryError
from sccm_cep.export.derive import derive
from sccm_cep.export.pipeline import build_request
from sccm_cep.privacy.policy import load_policies
from sccm_cep_connectors.sccm_sql import SqlConnector
from sccm_cep_connectors.winrm import WinRMConnector
from sccm_cep_connectors.winrm.connector import _parse
from sccm_cep_connectors.winrm.scripts import (
    CLIENT_SCRIPTS,
    SITE_SCRIPTS,
    load_schema,
    load_script,
    script_names,
)
from sccm_cep_connectors.winrm.settings import parse_host
from tests.support.wsman import Lab, RecordedSite, SimulatedSite, lab_connector, record_site, serve
from tests.support.wsman.server import PASSWORD

ADDRESS = parse_host("sccm01.corp.example")
SECRET = "Secret-Value-Never-Quoted"


@pytest.fixture
def password(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("WINRM_TEST_PASSWORD", PASSWORD)
    return "env:WINRM_TEST_PASSWORD"


def _connector(lab: Lab, password: str, clients: list[str] | None = None) -> WinRMConnector:
    return lab_connector(lab, password, clients, transport="psrp")


def _output(simulated: SimulatedSite, name: str) -> str:
    if name in CLIENT_SCRIPTS:
        return simulated.client_output(simulated.clients[0], name)
    return simulated.site_output(name)


# -- the schemas -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", script_names())
def test_every_script_ships_a_valid_schema_in_the_package_data(name: str) -> None:
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    assert schema["type"] == "array" and schema["items"]["additionalProperties"] is False
    pyproject = (Path(__file__).parents[3] / "pyproject.toml").read_text(encoding="utf-8")
    assert '"winrm/scripts/*.schema.json"' in pyproject


def test_every_recorded_document_validates_against_its_scripts_schema(recording: RecordedSite) -> None:
    seen: Counter[str] = Counter()
    for path in sorted(recording.folder.glob("*/*.json")):
        name = path.stem
        data = json.loads(path.read_text(encoding="utf-8"))
        Draft202012Validator(load_schema(name)).validate(data)
        assert _parse(json.dumps(data), name, ADDRESS) == data
        assert data, path
        seen[name] += 1
    assert set(seen) == set(script_names())
    assert seen["client_inventory"] == seen["client_software"] == len(recording.clients) > 40


@pytest.mark.parametrize("name", script_names())
def test_schema_keys_are_the_keys_the_script_prints(name: str) -> None:
    # Every top-level key the schema requires is named in the script (as a property it builds or
    # selects), so a schema cannot drift into describing another document.
    text = load_script(name)
    for key in load_schema(name)["items"]["required"]:
        assert re.search(rf"\b{key}\b", text), (name, key)


MALFORMED: list[tuple[str, Callable[[list[dict[str, Any]]], Any], str, str]] = [
    ("site", lambda d: [{**d[0], "BuildNumber": SECRET}], "$[0].BuildNumber", "expected integer or null"),
    ("site", lambda d: [{k: v for k, v in d[0].items() if k != "SiteCode"}], "$[0]", "missing SiteCode"),
    ("site", lambda d: [d], "$[0]", "expected object"),
    ("site", lambda d: d[0], "$", "expected array"),
    ("site", lambda d: [{**d[0], SECRET: 1}], "$[0]", "unexpected property"),
    ("baselines", lambda d: [{**d[0], "Compliant": -3}], "$[0].Compliant", "fails minimum"),
    ("baselines", lambda d: [{**d[0], "Targeted": [SECRET]}], "$[0].Targeted", "expected integer"),
    (
        "client_inventory",
        lambda d: [{**d[0], "OperatingSystem": [[{"Caption": SECRET}]]}],
        "$[0].OperatingSystem[0]",
        "expected object",
    ),
    ("client_software", lambda d: [{**d[0], "DisplayName": None}], "$[0].DisplayName", "expected string"),
    ("provider", lambda d: [{**d[0], "IsLocal": "True"}], "$[0].IsLocal", "expected boolean"),
]


@pytest.mark.parametrize(("name", "spoil", "path", "reason"), MALFORMED)
def test_a_malformed_document_is_refused_naming_script_and_path_but_no_value(
    simulated: SimulatedSite, name: str, spoil: Callable[[list[dict[str, Any]]], Any], path: str, reason: str
) -> None:
    bad = json.dumps(spoil(json.loads(_output(simulated, name))))
    with pytest.raises(SourceQueryError) as info:
        _parse(bad, name, ADDRESS)
    line = info.value.one_line()
    assert "\n" not in line
    assert f"{name}.ps1 on {ADDRESS}" in line and f"{name}.schema.json at {path}: {reason}" in line, line
    assert SECRET not in line and SECRET not in repr(info.value)


def test_malformed_output_from_the_site_server_is_a_query_error(lab: Lab, password: str) -> None:
    real = lab.site_server.output
    lab.site_server.output = lambda s: '[{"Bad": 1}]' if s == "site_clients" else real(s)
    connector = _connector(lab, password, clients=[])
    try:
        with pytest.raises(SourceQueryError) as info:
            connector.check()
    finally:
        connector.close()
    assert (
        "site_clients.ps1" in info.value.message and "site_clients.schema.json at $[0]" in info.value.message
    )


# -- the SMS Provider's location ---------------------------------------------------------------


def test_the_provider_script_reads_sms_provider_location_for_the_local_site() -> None:
    text = load_script("provider")
    assert "-ClassName 'SMS_ProviderLocation'" in text and "ProviderForLocalSite" in text
    for prop in ("SiteCode", "Machine", "NamespacePath"):
        assert f"$p.{prop}" in text
    assert SITE_SCRIPTS[0] == "provider"


def test_a_site_whose_provider_is_on_another_host_is_refused_naming_that_host(
    lab: Lab, password: str, winrm_site_db: Path
) -> None:
    elsewhere = SimulatedSite(str(winrm_site_db), provider_host="SMSPROV02.corp.example")
    real = lab.site_server.output
    lab.site_server.output = lambda s: elsewhere.site_output(s) if s == "provider" else real(s)
    connector = _connector(lab, password, clients=[])
    try:
        with pytest.raises(ConfigError) as info:
            connector.check()
        assert connector._server_session is None  # the session to the wrong host was closed
    finally:
        connector.close()
    line = info.value.one_line()
    assert "\n" not in line
    assert "SMS Provider of site PS1 is on SMSPROV02.corp.example" in line
    assert f"not on {lab.site_server.address}" in line and "--winrm SMSPROV02.corp.example" in line


def test_a_local_provider_is_checked_once_per_session(lab: Lab, password: str) -> None:
    seen: list[str] = []
    real = lab.site_server.output

    def counting(script: str) -> str:
        seen.append(script)
        return real(script)

    lab.site_server.output = counting
    connector = _connector(lab, password, clients=[])
    try:
        connector.check()
        connector.check()
    finally:
        connector.close()
    assert seen.count("provider") == 1 and seen[0] == "provider"
    assert seen.count("site") == 2


def test_a_host_listing_no_provider_for_its_site_is_refused(lab: Lab, password: str) -> None:
    real = lab.site_server.output
    lab.site_server.output = lambda s: "[]" if s == "provider" else real(s)
    connector = _connector(lab, password, clients=[])
    try:
        with pytest.raises(ConfigError) as info:
            connector.check()
    finally:
        connector.close()
    assert "no SMS Provider" in info.value.message and "--winrm" in (info.value.hint or "")


# -- baselines ---------------------------------------------------------------------------------


def _baseline_count(db: str) -> int:
    with sqlite3.connect(db) as conn:
        (n,) = conn.execute(
            'select count(*) from "v_ConfigurationItems" where CIType_ID = 2 and IsLatest = 1'
            " and coalesce(IsTombstoned, 0) = 0"
        ).fetchone()
        (reports,) = conn.execute('select count(*) from "v_CICurrentComplianceStatus"').fetchone()
    assert reports > n
    return int(n)


@pytest.fixture(scope="module")
def big_site_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("winrm-big") / "site.db"
    build_site(f"sqlite:///{path}", devices=2000, seed=11)
    return path


def test_baselines_prints_one_row_per_baseline_whatever_the_number_of_clients(
    simulated: SimulatedSite, winrm_site_db: Path, big_site_db: Path
) -> None:
    big = SimulatedSite(str(big_site_db))
    assert len(big.clients) >= 1500 > 100 > len(simulated.clients)
    for site, db in ((simulated, winrm_site_db), (big, big_site_db)):
        rows = json.loads(site.site_output("baselines"))
        Draft202012Validator(load_schema("baselines")).validate(rows)
        assert len(rows) == _baseline_count(str(db))
        assert len({r["CI_ID"] for r in rows}) == len(rows)
        assert sum(r["Evaluated"] for r in rows) > len(rows)
        assert all(r["Compliant"] + r["NonCompliant"] + r["Failed"] <= r["Evaluated"] for r in rows)


def test_baselines_script_reads_the_per_baseline_summary_never_per_client_compliance() -> None:
    text = load_script("baselines")
    assert text.count("[pscustomobject]") == 1
    assert text.index("foreach ($b in Get-CimInstance") < text.index("[pscustomobject]")
    assert "SMS_G_System_CI_ComplianceState" not in text and "SMS_DeploymentSummary" not in text
    for prop in ("AssignedCount", "ActivatedCount", "ComplianceCount", "NonComplianceCount", "FailureCount"):
        assert f"[int]$b.{prop}" in text, prop
    assert "FROM SMS_ConfigurationBaselineInfo WHERE IsLatest = 1" in text


def _overlapping_copy(src: Path, dst: Path) -> int:
    """A copy of the site where one baseline reaches its computers through a second deployment to an
    overlapping collection: each of its targeted computers is listed twice."""
    shutil.copy(src, dst)
    with sqlite3.connect(dst) as conn:
        (ci,) = conn.execute(
            'select CI_ID from "v_BaselineTargetedComputers" group by 1 order by count(*) desc limit 1'
        ).fetchone()
        conn.execute(
            'insert into "v_BaselineTargetedComputers" select * from "v_BaselineTargetedComputers"'
            " where CI_ID = ?",
            (ci,),
        )
    return int(ci)


def _collect(connector: Any, request: CollectionRequest) -> dict[str, Counter[str]]:
    out: dict[str, Counter[str]] = {}
    for stream in connector.streams(request):
        out[stream.record_type.NAME] = Counter(repr(derive(r)) for r in stream.read())
    return out


@pytest.fixture
def overlap_lab(winrm_site_db: Path, tmp_path: Path) -> Iterator[tuple[Lab, Path, int]]:
    db = tmp_path / "overlap.db"
    ci = _overlapping_copy(winrm_site_db, db)
    running = serve(RecordedSite(record_site(SimulatedSite(str(db)), tmp_path / "rec", clients=0)))
    try:
        yield running, db, ci
    finally:
        running.stop()


def test_overlapping_baseline_deployments_are_not_counted_twice_and_both_connectors_agree(
    overlap_lab: tuple[Lab, Path, int], recording: RecordedSite, password: str
) -> None:
    lab, db, ci = overlap_lab
    before = {r["CI_ID"]: r["Targeted"] for r in recording.document("site", "baselines")}
    after = {r["CI_ID"]: r["Targeted"] for r in json.loads(lab.site_server.output("baselines"))}
    assert after == before and after[ci] > 0
    request = build_request(load_policies(), m.Level.ENHANCED)
    only = CollectionRequest(request.level, {"configuration_item": request.fields["configuration_item"]})
    sql = SqlConnector(f"sqlite:///{db}")
    winrm = _connector(lab, password, clients=[])
    try:
        expected, got = _collect(sql, only), _collect(winrm, only)
    finally:
        sql.close()
        winrm.close()
    assert got == expected and got["configuration_item"]
