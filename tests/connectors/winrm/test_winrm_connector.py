"""The WinRM connector over real HTTP against the loopback endpoint: same records as SQL, faults, canaries."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from fixtures.synthetic_site import CANARIES
from sccm_cep import model as m
from sccm_cep.connector import CollectionRequest
from sccm_cep.errors import ConfigError, SourceAuthError, SourceError, SourceQueryError, SourceUnreachable
from sccm_cep.export.derive import derive
from sccm_cep.export.pipeline import build_request, run_export
from sccm_cep.privacy.anonymize import SiteSecret
from sccm_cep.privacy.policy import load_policies
from sccm_cep_connectors.sccm_sql import SqlConnector
from sccm_cep_connectors.winrm import WinRMConnector
from sccm_cep_connectors.winrm.mapping import CLIENT_RECORDS, SITE_RECORDS
from tests.support.wsman import Lab, SimulatedSite, lab_connector
from tests.support.wsman.server import PASSWORD

TRANSPORTS = ["psrp", "winrm"]


@pytest.fixture
def password(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("WINRM_TEST_PASSWORD", PASSWORD)
    return "env:WINRM_TEST_PASSWORD"


def _request(level: m.Level = m.Level.BASIC) -> CollectionRequest:
    return build_request(load_policies(), level)


def _connector(
    lab: Lab, password: str, transport: str, clients: list[str] | None = None, **kw: Any
) -> WinRMConnector:
    return lab_connector(lab, password, clients, transport=transport, **kw)


def _collect(connector: Any, request: CollectionRequest) -> dict[str, Counter[str]]:
    out: dict[str, Counter[str]] = {}
    for stream in connector.streams(request):
        out[stream.record_type.NAME] = Counter(repr(derive(r)) for r in stream.read())
    return out


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_winrm_sections_equal_the_sql_connectors(
    lab: Lab, password: str, winrm_site_db: Path, transport: str
) -> None:
    request = _request(m.Level.ENHANCED)
    sql = SqlConnector(f"sqlite:///{winrm_site_db}")
    winrm = _connector(lab, password, transport)
    try:
        expected, got = _collect(sql, request), _collect(winrm, request)
    finally:
        sql.close()
        winrm.close()
    # Every record type the WinRM connector can give, compared row for row with SQL's.
    assert set(got) == set(expected) == set(SITE_RECORDS) | set(CLIENT_RECORDS)
    for name in expected:
        assert got[name] == expected[name], name
        assert got[name], name
    assert sum(got["software"].values()) > 100
    assert sum(got["device"].values()) == len(lab.clients)
    assert all("device_id='GUID:" in r and "software_count=None" not in r for r in got["device"])
    assert any("targeted=0" not in r for r in got["configuration_item"])


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("auth", SourceAuthError),
        ("fault", SourceQueryError),
        ("hang", SourceUnreachable),
        ("drop", SourceUnreachable),
        ("badjson", SourceQueryError),
    ],
)
def test_each_injected_fault_gives_its_error_class(
    lab: Lab, password: str, transport: str, fault: str, error: type[SourceError]
) -> None:
    lab.site_server.fault = fault
    connector = _connector(lab, password, transport, clients=[], script_timeout=1.5)
    try:
        with pytest.raises(error) as info:
            connector.check()
    finally:
        connector.close()
    assert type(info.value) is error
    assert PASSWORD not in str(info.value) and lab.site_server.address in info.value.message
    assert info.value.hint


def test_wrong_password_is_an_auth_error_without_the_password(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WINRM_WRONG", "Wr0ng-Secret-Never-Shown")
    connector = _connector(lab, "env:WINRM_WRONG", "psrp", clients=[])
    with pytest.raises(SourceAuthError) as info:
        connector.check()
    assert "Wr0ng-Secret-Never-Shown" not in info.value.one_line()


def test_fifty_clients_with_five_unreachable_still_yield_records_and_a_note(lab: Lab, password: str) -> None:
    clients = [c.address for c in lab.clients[:45]] + [f"127.0.0.1:{p}" for p in _closed_ports(5)]
    request = _request()
    connector = _connector(lab, password, "psrp", clients=clients, connection_timeout=2)
    try:
        models = list(next(s for s in connector.streams(request) if s.record_type is m.HardwareModel).read())
        notes = connector.skipped(request)
    finally:
        connector.close()
    assert sum(r.device_count for r in models if isinstance(r, m.HardwareModel)) == 45
    assert "clients: 5 of 50 not collected (5 unreachable)" in notes


def test_every_client_failing_is_fatal(lab: Lab, password: str) -> None:
    connector = _connector(lab, password, "psrp", clients=[f"127.0.0.1:{p}" for p in _closed_ports(2)])
    stream = next(s for s in connector.streams(_request()) if s.record_type is m.OperatingSystem)
    with pytest.raises(SourceUnreachable):
        list(stream.read())


def test_no_canary_reaches_the_submission_or_the_notes_and_errors(
    lab: Lab, password: str, tmp_path: Path
) -> None:
    connector = _connector(lab, password, "psrp")
    seen: list[str] = [repr(connector.check())]
    try:
        for level in (m.Level.BASIC, m.Level.ENHANCED):
            result = run_export(
                connector,
                load_policies(),
                level=level,
                period="2026-Q4",
                secret_for=lambda code: SiteSecret(b"k" * 32, site=code),
                out_dir=tmp_path / level.value,
                site_code="PS1",
            )
            seen += [Path(result.written.path).read_text(encoding="utf-8"), *result.notes]
        lab.site_server.fault = "badjson"
        with pytest.raises(SourceError) as info:
            connector.check()
        seen += [info.value.one_line(), repr(info.value)]
    finally:
        connector.close()
    text = "\n".join(seen).lower()
    leaked = [v for values in CANARIES.values() for v in values if v.lower() in text]
    assert not leaked


def test_plain_http_with_basic_auth_is_refused_off_loopback() -> None:
    with pytest.raises(ConfigError):
        WinRMConnector("sccm01.corp.example", auth="basic", ssl=False, encryption="never")
    with pytest.raises(ConfigError):
        WinRMConnector("sccm01.corp.example", auth="ntlm", ssl=False, encryption="never")
    WinRMConnector("sccm01.corp.example", auth="ntlm", ssl=False)  # message encryption: accepted


def test_defaults_are_https_5986_with_certificate_validation() -> None:
    connector = WinRMConnector("sccm01.corp.example")
    settings = connector._settings
    assert settings.ssl and settings.cert_validation is True and settings.auth == "negotiate"
    assert settings.port_for(connector._server) == 5986  # type: ignore[arg-type]


def test_connector_is_found_through_the_entry_point() -> None:
    from importlib.metadata import entry_points

    (found,) = [ep for ep in entry_points(group="sccm_cep.connectors") if ep.name == "winrm"]
    assert found.load() is WinRMConnector


def _closed_ports(n: int) -> list[int]:
    import socket

    ports = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        ports.append(s.getsockname()[1])
        s.close()
    return ports


#: Every package kind the synthetic site has (v_Package.PackageType 0, 3, 4, 5, 8, 257, 258, 259).
PACKAGE_KINDS = {
    "package",
    "driver",
    "task_sequence",
    "software_update",
    "application_content",
    "os_image",
    "boot_image",
    "os_upgrade",
}


def test_both_connectors_read_applications_update_groups_and_every_package_kind(
    lab: Lab, password: str, winrm_site_db: Path
) -> None:
    request = _request()
    sql = SqlConnector(f"sqlite:///{winrm_site_db}")
    winrm = _connector(lab, password, "psrp")
    try:
        for connector in (sql, winrm):
            kinds: dict[str, set[Any]] = {}
            for stream in connector.streams(request):
                if stream.record_type in (m.Deployment, m.Package):
                    field = "feature_type" if stream.record_type is m.Deployment else "package_type"
                    kinds[stream.record_type.NAME] = {getattr(r, field) for r in stream.read()}
            assert {"application", "software_update", "program", "task_sequence", "baseline"} <= kinds[
                "deployment"
            ]
            assert kinds["package"] >= PACKAGE_KINDS, type(connector).__name__
    finally:
        sql.close()
        winrm.close()


def test_a_script_reading_sms_package_would_miss_every_kind_but_regular_packages(
    simulated: SimulatedSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tests.support.wsman.site as site

    before = {r["PackageType"] for r in json.loads(simulated.site_output("packages"))}
    assert before >= {0, 3, 4, 5, 8, 257, 258, 259}
    real = site.load_script
    monkeypatch.setattr(
        site, "load_script", lambda n: real(n).replace("FROM SMS_PackageBaseclass", "FROM SMS_Package")
    )
    assert {r["PackageType"] for r in json.loads(simulated.site_output("packages"))} == {0}


def test_the_endpoint_answers_a_script_by_its_header_name_not_by_its_code(
    lab: Lab, password: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sccm_cep_connectors.winrm.connector as connector_module

    real = connector_module.load_script
    monkeypatch.setattr(
        connector_module, "load_script", lambda n: real(n).splitlines()[0] + "\n'any other code'\n"
    )
    connector = _connector(lab, password, "psrp", clients=[])
    try:
        assert connector.check().site_code == "PS1"
        monkeypatch.setattr(connector_module, "load_script", lambda n: real(n).split("\n", 1)[1])
        with pytest.raises(SourceQueryError) as info:
            connector.check()
    finally:
        connector.close()
    assert "site.ps1" in info.value.message and "did not print valid JSON" in info.value.message
