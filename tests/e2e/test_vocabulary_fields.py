"""Low-cardinality text fields leave only as values of their closed vocabularies (issue 13).

A copy of the synthetic site gets hostile values planted in the columns behind OS
architecture, chassis type, client version, site version, site-system role name, and (SQLite
keeps text in an integer column) site type and status. Both levels are exported: each planted
value leaves as ``other``, nothing of it appears in the submission, and the real values of the
site still map onto their vocabularies. Aggregate rows on too few devices may be folded into
the ``other`` row by the anonymizer as well, so aggregates are checked against the vocabulary
(and the planted markers against the whole document), the values of the raw columns one by one.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sccm_cep.cli import cli
from sccm_cep.normalize import vocabulary
from sccm_cep.privacy.vocabularies import MAPPERS

DEVICES = 12
ARCH = "64-bit (jdoe)"
CHASSIS = "10 (jdoe)"
CLIENT = "5.00.9132.1011 (jdoe)"
ROLE = "SMS Management Point (mp03.corp.example)"
SITE_VERSION = "5.00.9141.1000 (jdoe)"
SITE_TYPE = "primary (jdoe)"
SITE_STATUS = "active (mp03.corp.example)"
MARKERS = ("jdoe", "mp03", "corp.example")
FIELDS = [
    ("site_profile", "site_role", "role_name", "site_role"),
    ("site_profile", "client_version", "client_version", "sccm_version"),
    ("operating_systems", "operating_system", "architecture", "os_architecture"),
    ("hardware", "hardware_chassis", "chassis_type", "chassis_code"),
]


def _plant(url: str) -> None:
    db = sqlite3.connect(url.removeprefix("sqlite:///"))
    ids = [
        r[0] for r in db.execute("select ResourceID from v_R_System where Client0 = 1 order by ResourceID")
    ]
    assert len(ids) >= 3 * DEVICES
    groups = [ids[i * DEVICES : (i + 1) * DEVICES] for i in range(3)]
    for (table, column, value), chosen in zip(
        (
            ("v_GS_OPERATING_SYSTEM", "OSArchitecture0", ARCH),
            ("v_GS_SYSTEM_ENCLOSURE", "ChassisTypes0", CHASSIS),
            ("v_R_System", "Client_Version0", CLIENT),
        ),
        groups,
        strict=True,
    ):
        marks = ",".join("?" * len(chosen))
        db.execute(f"update {table} set {column} = ? where ResourceID in ({marks})", (value, *chosen))
    site_code, server = db.execute("select SiteCode, ServerName from v_SystemResourceList limit 1").fetchone()
    db.execute(
        "insert into v_SystemResourceList (RoleName, ServerName, SiteCode) values (?, ?, ?)",
        (ROLE, server, site_code),
    )
    db.execute("update v_Site set Version = ?, Type = ?, Status = ?", (SITE_VERSION, SITE_TYPE, SITE_STATUS))
    db.commit()
    db.close()


def _export(url: str, out: Path, level: str) -> dict[str, Any]:
    result = CliRunner().invoke(
        cli,
        ["export", "--db", url, "--out", str(out), "--period", "2026-Q4", "--level", level],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    (path,) = sorted(out.glob("*.json"))
    return dict(json.loads(path.read_text(encoding="utf-8")))


def _values(doc: dict[str, Any], section: str, record: str, field: str) -> set[Any]:
    return {row.get(field) for row in doc[section][record]} - {None}


@pytest.mark.parametrize("level", ["basic", "enhanced"])
def test_planted_values_leave_as_other(
    private_sqlite_site: str, data_dir: Path, tmp_path: Path, level: str
) -> None:
    _plant(private_sqlite_site)
    doc = _export(private_sqlite_site, tmp_path / "out", level)
    text = json.dumps(doc, ensure_ascii=False).casefold()
    assert not [m for m in MARKERS if m in text]

    (site,) = doc["site_profile"]["site"]
    assert (site["site_type"], site["status"], site["version"]) == ("other", "other", "other")
    assert site["release"] == "2509"  # from the build number, which is intact
    for section, record, field, vocab in FIELDS:
        assert _values(doc, section, record, field) <= set(vocabulary(vocab)), (record, field)
    if level == "enhanced":
        devices = doc["devices"]["device"]
        for field, vocab in (("architecture", "os_architecture"), ("client_version", "sccm_version")):
            sent = {d.get(field) for d in devices} - {None}
            assert "other" in sent and sent <= set(vocabulary(vocab))


def test_real_values_of_the_site_map_onto_their_vocabularies(
    sqlite_site: str, data_dir: Path, tmp_path: Path
) -> None:
    db = sqlite3.connect(sqlite_site.removeprefix("sqlite:///"))
    try:
        raw = {
            "site_role": [r[0] for r in db.execute("select distinct RoleName from v_SystemResourceList")],
            "os_architecture": [
                r[0] for r in db.execute("select distinct OSArchitecture0 from v_GS_OPERATING_SYSTEM")
            ],
            "chassis_code": [
                r[0] for r in db.execute("select distinct ChassisTypes0 from v_GS_SYSTEM_ENCLOSURE")
            ],
            "sccm_version": [r[0] for r in db.execute("select distinct Client_Version0 from v_R_System")],
        }
    finally:
        db.close()
    assert len(raw["site_role"]) >= 10
    for name, values in raw.items():
        mapped = {v: MAPPERS[name](v) for v in values if v is not None}
        assert mapped and "other" not in mapped.values(), name
    assert {MAPPERS["site_role"](r) for r in raw["site_role"]} == set(raw["site_role"])

    doc = _export(sqlite_site, tmp_path / "out", "basic")
    (site,) = doc["site_profile"]["site"]
    assert (site["site_type"], site["status"], site["version"]) == ("primary", "active", "2509")
    assert "2509" in _values(doc, "site_profile", "client_version", "client_version")
    assert "x64" in _values(doc, "operating_systems", "operating_system", "architecture")
    assert "10" in _values(doc, "hardware", "hardware_chassis", "chassis_type")
    for section, record, field, vocab in FIELDS:
        assert _values(doc, section, record, field) <= set(vocabulary(vocab)), (record, field)
