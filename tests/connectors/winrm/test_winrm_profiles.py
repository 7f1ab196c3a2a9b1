"""On every site profile of the synthetic site, the WinRM and SQL connectors give the same records of
every type WinRM can read; a site whose SMS Provider runs elsewhere is read on the provider's host."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import fixtures.synthetic_site as synthetic
from fixtures.synthetic_site import build_site
from sccm_cep import model as m
from sccm_cep.connector import CollectionRequest
from sccm_cep.errors import ConfigError
from sccm_cep.export.derive import derive
from sccm_cep.export.pipeline import build_request
from sccm_cep.privacy.policy import load_policies
from sccm_cep_connectors.sccm_sql import SqlConnector
from sccm_cep_connectors.winrm import WinRMConnector
from sccm_cep_connectors.winrm.mapping import CLIENT_RECORDS, SITE_RECORDS
from tests.support.wsman import Lab, RecordedSite, SimulatedSite, lab_connector, record_site, serve
from tests.support.wsman.server import PASSWORD

#: Every profile the synthetic site offers (only the full site before profiles existed).
PROFILE_NAMES: tuple[str, ...] = getattr(synthetic, "PROFILE_NAMES", ("full",))


@pytest.fixture
def password(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("WINRM_PROFILE_PASSWORD", PASSWORD)
    return "env:WINRM_PROFILE_PASSWORD"


def _collect(connector: Any, request: CollectionRequest) -> dict[str, Counter[str]]:
    return {
        s.record_type.NAME: Counter(repr(derive(r)) for r in s.read()) for s in connector.streams(request)
    }


def _winrm(lab: Lab, password: str) -> WinRMConnector:
    return lab_connector(lab, password)


@pytest.fixture
def served(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Path, Lab, str | None]]:
    db = tmp_path / "site.db"
    profile = {} if request.param == "full" else {"profile": request.param}
    site = build_site(f"sqlite:///{db}", 30, seed=21, **profile)
    provider_host: str | None = getattr(site, "provider_host", None)
    simulated = SimulatedSite(str(db), provider_host=provider_host)
    lab = serve(RecordedSite(record_site(simulated, tmp_path / "recording")))
    try:
        yield db, lab, provider_host
    finally:
        lab.stop()


@pytest.mark.parametrize("served", PROFILE_NAMES, indirect=True)
def test_both_connectors_agree_on_every_record_type_on_every_profile(
    served: tuple[Path, Lab, str | None], password: str, tmp_path: Path
) -> None:
    db, lab, provider_host = served
    if provider_host is not None:
        connector = _winrm(lab, password)
        with pytest.raises(ConfigError) as info:
            connector.check()
        connector.close()
        assert f"--winrm {provider_host}" in (info.value.hint or "")
        # The same site as its provider's host answers it (SMS_ProviderLocation says: here).
        lab.stop()
        lab = serve(RecordedSite(record_site(SimulatedSite(str(db)), tmp_path / "at-provider")))
    request = build_request(load_policies(), m.Level.ENHANCED)
    sql, winrm = SqlConnector(f"sqlite:///{db}"), _winrm(lab, password)
    try:
        expected, got = _collect(sql, request), _collect(winrm, request)
    finally:
        sql.close()
        winrm.close()
        if provider_host is not None:
            lab.stop()
    assert set(got) == set(expected) == set(SITE_RECORDS) | set(CLIENT_RECORDS)
    for name in expected:
        assert got[name] == expected[name], name
    assert got["deployment"] and got["package"] and got["configuration_item"] and got["software"]
