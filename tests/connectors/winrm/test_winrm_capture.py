"""``sccm-cep doctor --winrm HOST --capture DIR``: every script's output, checked against its schema
and treated for leaving the site, saved so that it can be served back as a recording."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from fixtures.synthetic_site import CANARIES
from sccm_cep import model as m
from sccm_cep.cli import cli
from sccm_cep.collector.doctor_files import _public_program
from sccm_cep.export.derive import derive
from sccm_cep.export.pipeline import build_request
from sccm_cep.privacy.identifiers import has_identifier
from sccm_cep.privacy.policy import load_policies
from sccm_cep_connectors.winrm.capture import TREATMENTS, WITHHELD, Capturer
from sccm_cep_connectors.winrm.scripts import load_schema, script_names
from tests.support.wsman import Lab, RecordedSite, lab_connector, serve
from tests.support.wsman.server import PASSWORD, USER

#: Fields the policies pseudonymize: a capture holds other pseudonyms for them (a key of its own).
KEYED = {"site_code", "parent_site_code", "package_id", "deployment_id", "ci_id", "device_id"}


@pytest.fixture
def password(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("WINRM_CAPTURE_PASSWORD", PASSWORD)
    return "env:WINRM_CAPTURE_PASSWORD"


def _doctor(lab: Lab, password: str, *more: str, clients: bool = True) -> tuple[int, list[dict[str, Any]]]:
    args = ["doctor", "--json", "--winrm", lab.site_server.address, "--winrm-user", USER]
    args += ["--winrm-password", password, "--winrm-auth", "basic", "--winrm-http", *more]
    for client in lab.clients if clients else []:
        args += ["--winrm-client", client.address]
    result = CliRunner().invoke(cli, args)
    assert PASSWORD not in result.output
    checks = json.loads(result.stdout) if result.stdout.startswith("[") else []
    return result.exit_code, checks


def _records(lab: Lab, password: str) -> dict[str, Counter[str]]:
    connector = lab_connector(lab, password)
    request = build_request(load_policies(), m.Level.ENHANCED)
    out: dict[str, Counter[str]] = {}
    try:
        for stream in connector.streams(request):
            rows = [derive(r) for r in stream.read()]
            out[stream.record_type.NAME] = Counter(
                repr(dataclasses.replace(r, **{f: None for f in KEYED if hasattr(r, f)})) for r in rows
            )
    finally:
        connector.close()
    return out


@pytest.fixture(scope="module")
def captured(recording: RecordedSite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lab, Path]]:
    """One capture of the whole recorded site (site server and every client) for this module."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WINRM_CAPTURE_PASSWORD", PASSWORD)
        patch.setenv("SCCM_CEP_DATA_DIR", str(tmp_path_factory.mktemp("data") / "data"))
        running = serve(recording)
        try:
            folder = tmp_path_factory.mktemp("capture") / "capture"
            code, checks = _doctor(running, "env:WINRM_CAPTURE_PASSWORD", "--capture", str(folder))
            winrm = [c for c in checks if c["name"].startswith("winrm")]
            assert code == 0 and winrm and all(c["ok"] for c in winrm), winrm
            assert {c["name"] for c in winrm} == {f"winrm:{s}" for s in script_names()} | {"winrm-capture"}
            yield running, folder
        finally:
            running.stop()


def test_a_capture_holds_one_valid_document_per_script_and_host_and_a_manifest(
    captured: tuple[Lab, Path], recording: RecordedSite
) -> None:
    captured_dir = captured[1]
    manifest = json.loads((captured_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format"] == "sccm-cep-winrm-capture" and manifest["complete"] is True
    assert manifest["treatments"] == TREATMENTS
    listed = {(d["host"], d["script"]) for d in manifest["documents"]}
    assert len(listed) == len(manifest["documents"]) == 7 + 2 * len(recording.clients)
    for doc in manifest["documents"]:
        data = json.loads((captured_dir / doc["host"] / f"{doc['script']}.json").read_text(encoding="utf-8"))
        Draft202012Validator(load_schema(doc["script"])).validate(data)
        assert len(data) == doc["rows"]


def test_a_capture_holds_no_personal_value_nor_an_identifier_of_the_site(
    captured: tuple[Lab, Path], recording: RecordedSite
) -> None:
    folder = captured[1]
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*.json"))).lower()
    assert not [v for values in CANARIES.values() for v in values if v.lower() in text]
    originals = [str(r["PackageID"]) for r in recording.document("site", "packages")]
    originals += [
        str(r["ClientId"]) for c in recording.clients for r in recording.document(c, "client_inventory")
    ]
    originals += [str(r["Machine"]) for r in recording.document("site", "provider")]
    assert originals and not [o for o in originals if o.lower() in text]
    site = recording.document("site", "site")[0]["SiteCode"]
    assert json.loads((folder / "site" / "site.json").read_text())[0]["SiteCode"] != site
    software = json.loads((folder / "client-001" / "client_software.json").read_text())
    assert any(r["DisplayName"] == WITHHELD for r in software)
    assert any(r["DisplayName"] != WITHHELD for r in software)


def test_a_capture_served_back_gives_the_same_records_but_for_keyed_ids_and_withheld_programs(
    captured: tuple[Lab, Path], password: str
) -> None:
    lab, folder = captured
    before = _records(lab, password)
    replay = serve(RecordedSite(folder))
    try:
        after = _records(replay, password)
    finally:
        replay.stop()
    assert set(after) == set(before)
    for name in before:
        if name != "software":
            assert after[name] == before[name], name
    assert len(after["software"]) > 100


def test_a_captured_program_is_the_recorded_one_or_withheld_field_by_field(
    captured: tuple[Lab, Path], recording: RecordedSite
) -> None:
    kept = withheld = 0
    for client in recording.clients:
        original = recording.document(client, "client_software")
        saved = json.loads((captured[1] / client / "client_software.json").read_text(encoding="utf-8"))
        assert len(saved) == len(original)
        for was, now in zip(original, saved, strict=True):
            assert all(now[k] in (was[k], WITHHELD) for k in was), (was, now)
            kept += now["DisplayName"] != WITHHELD
            withheld += now["DisplayName"] == WITHHELD
    assert kept > withheld > 0


def test_capture_refuses_a_folder_that_is_not_empty(
    lab: Lab, password: str, tmp_path: Path, data_dir: Path
) -> None:
    folder = tmp_path / "used"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    code, checks = _doctor(lab, password, "--capture", str(folder), clients=False)
    (check,) = [c for c in checks if c["name"] == "winrm-capture"]
    assert code == 3 and not check["ok"] and "not empty" in check["detail"]
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


def test_a_failing_site_server_is_an_error_check_and_nothing_is_saved(
    lab: Lab, password: str, tmp_path: Path, data_dir: Path
) -> None:
    lab.site_server.fault = "badjson"
    code, checks = _doctor(lab, password, "--capture", str(tmp_path / "cap"), clients=False)
    failed = {c["name"]: c for c in checks if not c["ok"]}
    assert code == 3 and "provider.ps1" in failed["winrm:provider"]["detail"]
    assert failed["winrm-capture"]["detail"] == "nothing was captured"
    assert not (tmp_path / "cap").exists()


def test_capture_without_a_site_server_is_a_usage_error(tmp_path: Path, data_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["doctor", "--capture", str(tmp_path / "x")])
    assert result.exit_code == 2 and "--winrm HOST" in result.output


def _schema_properties(schema: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, sub in schema["properties"].items():
        items = sub.get("items")
        out[key] = _schema_properties(items) if isinstance(items, dict) and "properties" in items else None
    return out


def _rule_shape(rules: dict[str, Any]) -> dict[str, Any]:
    return {k: _rule_shape(v) if isinstance(v, dict) else None for k, v in rules.items()}


@pytest.mark.parametrize("name", script_names())
def test_every_property_of_every_script_has_a_capture_treatment(name: str) -> None:
    assert _rule_shape(TREATMENTS[name]) == _schema_properties(load_schema(name)["items"])


def test_pseudonyms_are_consistent_within_a_capture_and_unlinkable_across_captures() -> None:
    rows = [
        {
            "PackageID": "PS100012",
            "PackageType": 0,
            "SourceDate": None,
            "ProgramCount": 1,
            "DeploymentCount": 0,
        }
    ]
    first, second = Capturer(has_identifier, _public_program), Capturer(has_identifier, _public_program)
    a, _ = first.treat("packages", rows)
    assert first.treat("packages", rows)[0] == a
    assert a[0]["PackageID"] != "PS100012" and len(a[0]["PackageID"]) == 8
    assert second.treat("packages", rows)[0] != a
    site, _ = first.treat("site", [{"SiteCode": "PS1", "ReportingSiteCode": "PS1"}])
    assert site[0]["SiteCode"] == site[0]["ReportingSiteCode"] == a[0]["PackageID"][:3]


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            {
                "DisplayName": "Mozilla Firefox (x64 en-US)",
                "Publisher": "Mozilla",
                "DisplayVersion": "128.0.3",
            },
            {
                "DisplayName": "Mozilla Firefox (x64 en-US)",
                "Publisher": "Mozilla",
                "DisplayVersion": "128.0.3",
            },
        ),
        (
            {
                "DisplayName": "Zoom (j.doe)",
                "Publisher": "Zoom Video Communications, Inc.",
                "DisplayVersion": "5.17",
            },
            {
                "DisplayName": WITHHELD,
                "Publisher": "Zoom Video Communications, Inc.",
                "DisplayVersion": WITHHELD,
            },
        ),
        (
            {"DisplayName": "Contoso Payroll", "Publisher": "Contoso Ltd", "DisplayVersion": "2.1"},
            {"DisplayName": WITHHELD, "Publisher": WITHHELD, "DisplayVersion": WITHHELD},
        ),
        (
            {
                "DisplayName": "Microsoft Edge",
                "Publisher": "Microsoft Corporation",
                "DisplayVersion": "see C:\\x",
            },
            {
                "DisplayName": "Microsoft Edge",
                "Publisher": "Microsoft Corporation",
                "DisplayVersion": WITHHELD,
            },
        ),
    ],
)
def test_a_program_is_kept_only_when_it_is_public(row: dict[str, Any], expected: dict[str, Any]) -> None:
    out, withheld = Capturer(has_identifier, _public_program).treat("client_software", [row])
    assert out == [expected] and withheld == list(expected.values()).count(WITHHELD)


def test_a_kept_string_with_an_identifier_is_withheld() -> None:
    row = {"Manufacturer": "Dell Inc.", "Model": "Owned by jane.doe@contoso.com", "TotalPhysicalMemory": 1}
    doc = [
        {"ClientId": None, "ClientVersion": "5.00.9128.1000", "OperatingSystem": [], "ComputerSystem": [row]}
    ]
    out, withheld = Capturer(has_identifier, _public_program).treat("client_inventory", doc)
    assert out[0]["ComputerSystem"] == [{**row, "Model": WITHHELD}] and withheld == 1
