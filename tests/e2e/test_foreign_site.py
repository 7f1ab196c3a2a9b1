"""A site database the tests did not generate: hand-written DDL with columns in another order,
columns the connector never reads, NULLs wherever SCCM allows them, and only the required views.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from sccm_cep.cli import cli

DDL = """
create table v_R_System (Name0 nvarchar(256), ResourceType int, ResourceID int not null,
  Client0 int, Obsolete0 int, Decommissioned0 int, Active0 int, Client_Version0 nvarchar(256),
  Is_Virtual_Machine0 bit, Netbios_Name0 nvarchar(256), User_Name0 nvarchar(256),
  SMS_Unique_Identifier0 nvarchar(255), OSBranch01 nvarchar(256), CloudPCInfo text);
create table v_Site (SiteCode nvarchar(3), Type int, SiteName nvarchar(200), Version nvarchar(32),
  BuildNumber int, ReportingSiteCode nvarchar(3), ServerName nvarchar(256), Status int,
  RequestedStatus int, InstallDir nvarchar(256), TimeZoneInfo nvarchar(256));
create table v_GS_OPERATING_SYSTEM (ResourceID int not null, GroupID int not null, RevisionID int,
  AgentID int, TimeStamp datetime not null, Version0 nvarchar(255), Caption0 nvarchar(255),
  OSArchitecture0 nvarchar(255), ProductType0 int, RegisteredUser0 nvarchar(255));
create table v_GS_COMPUTER_SYSTEM (ResourceID int not null, GroupID int not null, RevisionID int,
  AgentID int, TimeStamp datetime not null, Model0 nvarchar(255), Manufacturer0 nvarchar(255),
  UserName0 nvarchar(255));
create table v_Add_Remove_Programs (ResourceID int not null, GroupID int not null, RevisionID int,
  AgentID int, TimeStamp datetime not null, ProdID0 nvarchar(255), DisplayName0 nvarchar(255),
  InstallDate0 nvarchar(255), Publisher0 nvarchar(255), Version0 nvarchar(255));
create table v_DeploymentSummary (AssignmentID int not null, SoftwareName nvarchar(512),
  CollectionName nvarchar(255), FeatureType int, DeploymentIntent int, NumberTotal int,
  NumberSuccess int, NumberErrors int, NumberInProgress int, NumberUnknown int, NumberOther int,
  CreationTime datetime, EnforcementDeadline datetime, ModelName nvarchar(512));
create table v_Package (PackageID nvarchar(8), Name nvarchar(256), Version nvarchar(64),
  Manufacturer nvarchar(256), Description nvarchar(512), PkgSourcePath nvarchar(512),
  PackageType int, SourceDate datetime, ShareName nvarchar(256));
"""


def _site(path: Path) -> None:
    db = sqlite3.connect(path)
    db.executescript(DDL)
    db.execute(
        "insert into v_Site values ('XY1', 2, 'Somewhere', '5.00.9135.1000', 9135, NULL,"
        " 'cm01.corp.example', 1, 1, NULL, NULL)"
    )
    db.execute("insert into v_Site values (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)")
    for rid in range(16777217, 16777217 + 40):
        client = None if rid % 13 == 0 else 1
        db.execute(
            "insert into v_R_System (ResourceID, Client0, Obsolete0, Decommissioned0,"
            " Client_Version0, Netbios_Name0) values (?, ?, NULL, 0, ?, ?)",
            (rid, client, None if rid % 7 == 0 else "5.00.9135.1000", f"PC{rid}"),
        )
        db.execute(
            "insert into v_GS_OPERATING_SYSTEM (ResourceID, GroupID, TimeStamp, Version0,"
            " Caption0, OSArchitecture0, ProductType0) values (?, 1, '2026-10-01', ?, ?, ?, ?)",
            (
                rid,
                None if rid % 5 == 0 else "10.0.22631",
                "Microsoft Windows 11 Pro",
                None,
                None if rid % 3 == 0 else 1,
            ),
        )
        db.execute(
            "insert into v_GS_COMPUTER_SYSTEM (ResourceID, GroupID, TimeStamp, Model0,"
            " Manufacturer0) values (?, 1, '2026-10-01', NULL, ?)",
            (rid, None if rid % 2 else "LENOVO"),
        )
        for i, (pub, name, ver) in enumerate(
            [
                ("Microsoft Corporation", "Microsoft Edge", "130.0.2849.80"),
                (None, None, None),
                ("  ", "", "v2"),
                ("Mozilla", "Mozilla Firefox (x64 en-US)", None),
            ]
        ):
            db.execute(
                "insert into v_Add_Remove_Programs (ResourceID, GroupID, TimeStamp, DisplayName0,"
                " Publisher0, Version0) values (?, ?, '2026-10-01', ?, ?, ?)",
                (rid, i, name, pub, ver),
            )
    db.execute("insert into v_DeploymentSummary (AssignmentID) values (16777300)")
    db.execute("insert into v_Package (PackageID, PackageType) values ('XY100001', NULL)")
    db.commit()
    db.close()


def test_export_of_a_minimal_foreign_site(tmp_path: Path, data_dir: Path) -> None:
    path = tmp_path / "foreign.db"
    _site(path)
    result = CliRunner().invoke(
        cli,
        [
            "export",
            "--db",
            f"sqlite:///{path}",
            "--out",
            str(tmp_path / "out"),
            "--period",
            "2026-Q4",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    doc = json.loads(Path(report["path"]).read_text())
    software = {(r["publisher"], r["product"]) for r in doc["software"]["software"]}
    assert ("Microsoft", "Microsoft Edge") in software
    assert ("Mozilla", "Mozilla Firefox") in software
    assert doc["site_profile"]["site"][0]["release"] == "2503"
    assert doc["hardware"]["hardware_bios"] == []
    notes = " ".join(report["notes"])
    assert "v_GS_PC_BIOS" in notes and "v_GS_PROCESSOR" in notes
    assert "PC16777217" not in Path(report["path"]).read_text()
