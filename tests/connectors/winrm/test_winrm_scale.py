"""On a 10,000-client site no site-server script prints a row per client: each prints at most one row
per baseline, package, deployment, role or site, and the WinRM connector still agrees with SQL."""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fixtures.synthetic_site import build_site
from sccm_cep import model as m
from sccm_cep.connector import CollectionRequest
from sccm_cep.export.derive import derive
from sccm_cep.export.pipeline import build_request
from sccm_cep.privacy.policy import load_policies
from sccm_cep_connectors.sccm_sql import SqlConnector
from sccm_cep_connectors.winrm import WinRMConnector
from sccm_cep_connectors.winrm.mapping import SITE_RECORDS
from sccm_cep_connectors.winrm.scripts import SITE_SCRIPTS, load_script
from tests.support.wsman import Lab, RecordedSite, SimulatedSite, record_site, serve
from tests.support.wsman.server import PASSWORD, USER

CLIENTS = 10_000

#: SMS Provider classes with an instance per client (or per client and item): a site script that
#: reads one would bring the whole site's clients into the script.
PER_CLIENT = re.compile(
    r"SMS_G_System_\w+|SMS_G_User_\w+|SMS_FullCollectionMembership|SMS_CM_RES_COLL_\w+|SMS_CombinedDeviceResources"
    r"|SMS_ClientSummary|SMS_AppDeploymentAssetDetails|SMS_DCMDeploymentCompliantAssetDetails"
    r"|SMS_DCMDeployment\w*AssetDetails|SMS_SUMDeploymentAssetDetails|SMS_ClientAdvertisementStatus",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def large_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RecordedSite]:
    folder = tmp_path_factory.mktemp("winrm-10k")
    db = folder / "site.db"
    build_site(f"sqlite:///{db}", CLIENTS, seed=14)
    return db, RecordedSite(record_site(SimulatedSite(str(db)), folder / "recording", clients=0))


def _count(db: Path, sql: str) -> int:
    with sqlite3.connect(db) as conn:
        (n,) = conn.execute(sql).fetchone()
    return int(n)


def test_no_site_script_returns_more_rows_than_baselines_packages_or_deployments(
    large_site: tuple[Path, RecordedSite],
) -> None:
    db, recording = large_site
    managed = _count(
        db,
        'select count(*) from "v_R_System" where Client0 = 1 and coalesce(Obsolete0, 0) = 0'
        " and coalesce(Decommissioned0, 0) = 0",
    )
    baselines = _count(
        db,
        'select count(*) from "v_ConfigurationItems" where CIType_ID = 2 and IsLatest = 1'
        " and coalesce(IsTombstoned, 0) = 0",
    )
    packages = _count(db, 'select count(*) from "v_Package"')
    deployments = _count(db, 'select count(*) from "v_DeploymentSummary"')
    roles = _count(db, 'select count(distinct RoleName) from "v_SystemResourceList"')
    sites = _count(db, 'select count(*) from "v_Site"')
    bound = {
        "provider": 1,
        "site": sites,
        "site_roles": roles,
        "site_clients": 1,
        "packages": packages,
        "deployments": deployments,
        "baselines": baselines,
    }
    assert set(bound) == set(SITE_SCRIPTS)
    assert managed >= 9_000 > 10 * max(bound.values())
    for script in SITE_SCRIPTS:
        rows = recording.document("site", script)
        assert 0 < len(rows) <= bound[script], script
    # The compliance counts stand for thousands of per-client reports without carrying them.
    summary = recording.document("site", "baselines")
    assert sum(int(str(r["Evaluated"])) for r in summary) > 100 * len(summary)
    assert json.loads(recording.site_output("site_clients"))[0]["Managed"] == managed


@pytest.mark.parametrize("script", SITE_SCRIPTS)
def test_no_site_script_reads_a_class_with_an_instance_per_client(script: str) -> None:
    text = load_script(script)
    assert not PER_CLIENT.findall(text)
    if script == "site_clients":
        # Systems are streamed and only counted: no instance is kept or printed.
        assert "FROM SMS_R_System" in text and "| ForEach-Object {" in text
        assert "foreach ($s in Get-CimInstance" not in text and "[pscustomobject]" in text
    else:
        assert "SMS_R_System" not in text


def test_the_per_client_class_check_catches_compliance_rows() -> None:
    assert PER_CLIENT.findall("SELECT ComplianceState FROM SMS_G_System_CI_ComplianceState")


@pytest.fixture(scope="module")
def large_lab(large_site: tuple[Path, RecordedSite]) -> Iterator[Lab]:
    running = serve(large_site[1])
    try:
        yield running
    finally:
        running.stop()


def _collect(connector: Any, request: CollectionRequest) -> dict[str, Counter[str]]:
    return {
        s.record_type.NAME: Counter(repr(derive(r)) for r in s.read()) for s in connector.streams(request)
    }


def test_on_a_large_site_both_connectors_agree_on_every_site_record(
    large_site: tuple[Path, RecordedSite], large_lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WINRM_SCALE_PASSWORD", PASSWORD)
    full = build_request(load_policies(), m.Level.ENHANCED)
    request = CollectionRequest(full.level, {k: v for k, v in full.fields.items() if k in SITE_RECORDS})
    sql = SqlConnector(f"sqlite:///{large_site[0]}")
    winrm = WinRMConnector(
        large_lab.site_server.address,
        username=USER,
        password="env:WINRM_SCALE_PASSWORD",
        auth="basic",
        ssl=False,
        encryption="never",
    )
    try:
        expected, got = _collect(sql, request), _collect(winrm, request)
    finally:
        sql.close()
        winrm.close()
    assert set(got) == set(expected) == set(SITE_RECORDS)
    for name in expected:
        assert got[name] == expected[name], name
