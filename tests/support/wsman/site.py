"""What each collection script would print on a simulated site server and its clients, computed from a
synthetic site's database: the source ``record.record_site`` builds recordings from, offline."""

from __future__ import annotations

import json
import re
import sqlite3
from collections import defaultdict
from typing import Any

from sccm_cep_connectors.winrm.scripts import load_script

__all__ = ["PACKAGE_CLASSES", "SimulatedSite"]

#: The PackageType values a WQL query on each package class returns (None: all of them), as on a
#: real SMS Provider. SMS_PackageBaseclass is the abstract base of every package class
#: (learn.microsoft.com/mem/configmgr/develop/reference/core/servers/configure/
#: sms_packagebaseclass-server-wmi-class); SMS_Package holds the regular packages, while e.g.
#: driver, software update, image and boot image packages are instances of its sibling classes
#: (SMS_DriverPackage, SMS_SoftwareUpdatesPackage, SMS_ImagePackage, SMS_BootImagePackage, each
#: documented as ": SMS_PackageBaseclass"). Any other class returns nothing.
PACKAGE_CLASSES: dict[str, tuple[int, ...] | None] = {"SMS_PackageBaseclass": None, "SMS_Package": (0,)}


def _queried_class(script: str, first_property: str) -> str:
    """The class the script's WQL query reads that selects ``first_property`` first."""
    found = re.search(rf"SELECT {first_property}\b[^']*? FROM (\w+)", load_script(script), re.IGNORECASE)
    return found.group(1) if found else ""


def _iso(value: Any) -> str | None:
    return None if value is None else str(value).replace(" ", "T")[:19]


class _Row(dict[str, Any]):
    """A database row whose missing columns read as None."""

    def __init__(self, row: sqlite3.Row) -> None:
        super().__init__(zip(row.keys(), tuple(row), strict=True))

    def __missing__(self, key: str) -> None:
        return None


class SimulatedSite:
    """Script outputs (JSON text) of one synthetic site database: the site server and each managed client.

    ``provider_host``: None when the SMS Provider runs on the site server the endpoint plays; a
    host name to play a site whose provider is on that other machine.
    """

    #: SMS_ProviderLocation.Machine when the provider is local (the simulated site server itself).
    LOCAL_MACHINE = "LOOPBACK-SITE"

    def __init__(self, db_path: str, provider_host: str | None = None) -> None:
        self.provider_host = provider_host
        self.db = sqlite3.connect(db_path, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.clients: list[int] = [
            r[0]
            for r in self.db.execute(
                'select ResourceID from "v_R_System" where Client0 = 1 and coalesce(Obsolete0, 0) = 0'
                " and coalesce(Decommissioned0, 0) = 0 order by ResourceID"
            )
        ]

    def _rows(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        return list(self.db.execute(sql, args))

    # -- site server ------------------------------------------------------------------------------

    def site_output(self, script: str) -> str:
        return json.dumps(getattr(self, f"_{script}")(), separators=(",", ":"))

    def _provider(self) -> list[dict[str, Any]]:
        code = self._rows('select SiteCode from "v_Site" order by SiteCode')[0][0]
        machine = self.provider_host or self.LOCAL_MACHINE
        return [
            {
                "SiteCode": code,
                "Machine": machine,
                "NamespacePath": f"\\\\{machine}\\root\\sms\\site_{code}",
                "IsLocal": self.provider_host is None,
            }
        ]

    def _site(self) -> list[dict[str, Any]]:
        return [
            {
                "SiteCode": r["SiteCode"],
                "ReportingSiteCode": r["ReportingSiteCode"],
                "Type": r["Type"],
                "Version": r["Version"],
                "BuildNumber": r["BuildNumber"],
                "Status": r["Status"],
            }
            for r in self._rows('select * from "v_Site"')
        ]

    def _site_roles(self) -> list[dict[str, Any]]:
        return [
            {"RoleName": r[0], "ServerCount": r[1]}
            for r in self._rows(
                'select RoleName, count(distinct ServerName) from "v_SystemResourceList" group by 1'
            )
        ]

    def _site_clients(self) -> list[dict[str, Any]]:
        r = self._rows(
            "select sum(coalesce(Decommissioned0,0)=0), sum(m), sum(m and Active0=1), sum(m and Is_Virtual_Machine0=1)"
            " from (select *, (Client0=1 and coalesce(Obsolete0,0)=0 and coalesce(Decommissioned0,0)=0) as m"
            ' from "v_R_System")'
        )[0]
        return [{"Discovered": r[0], "Managed": r[1], "Active": r[2], "Virtual": r[3]}]

    def _packages(self) -> list[dict[str, Any]]:
        programs = dict(self._rows('select PackageID, count(*) from "v_Program" group by 1'))
        adverts = dict(self._rows('select PackageID, count(*) from "v_Advertisement" group by 1'))
        cls = _queried_class("packages", "PackageID, PackageType")
        types = PACKAGE_CLASSES.get(cls, ())
        return [
            {
                "PackageID": r["PackageID"],
                "PackageType": r["PackageType"],
                "SourceDate": _iso(r["SourceDate"]),
                "ProgramCount": programs.get(r["PackageID"], 0),
                "DeploymentCount": adverts.get(r["PackageID"], 0),
            }
            for r in self._rows('select * from "v_Package"')
            if types is None or r["PackageType"] in types
        ]

    def _deployments(self) -> list[dict[str, Any]]:
        return [
            {
                "AssignmentID": r["AssignmentID"],
                "DeploymentID": r["DeploymentID"],
                "FeatureType": r["FeatureType"],
                "DeploymentIntent": r["DeploymentIntent"],
                # The WMI class's NumberTargeted is the view's NumberTotal.
                "NumberTargeted": r["NumberTotal"],
                "NumberSuccess": r["NumberSuccess"],
                "NumberErrors": r["NumberErrors"],
                "NumberInProgress": r["NumberInProgress"],
                "NumberUnknown": r["NumberUnknown"],
                "CreationTime": _iso(r["CreationTime"]),
                "HasDeadline": r["EnforcementDeadline"] is not None,
            }
            for r in self._rows('select * from "v_DeploymentSummary"')
        ]

    def _baselines(self) -> list[dict[str, Any]]:
        rules = dict(
            self._rows(
                'select FromCIID, count(distinct ToCIID) from "v_CIRelation" where RelationType in (2, 3, 4)'
                " group by 1"
            )
        )
        # SMS_ConfigurationBaselineInfo.AssignedCount: computers targeted, each counted once.
        targets = dict(
            self._rows(
                'select CI_ID, count(distinct ResourceID) from "v_BaselineTargetedComputers" group by 1'
            )
        )
        # ActivatedCount, ComplianceCount, NonComplianceCount, FailureCount: the provider's summary
        # of the per-client compliance rows (states 1, 2 and 4; every report counts as evaluated).
        states: dict[int, dict[int, int]] = defaultdict(dict)
        for ci, state, n in self._rows(
            'select CI_ID, ComplianceState, count(*) from "v_CICurrentComplianceStatus" group by 1, 2'
        ):
            states[ci][int(state)] = n
        return [
            {
                "CI_ID": r["CI_ID"],
                "CIType_ID": r["CIType_ID"],
                "IsUserDefined": bool(r["IsUserDefined"]),
                "DateCreated": _iso(r["DateCreated"]),
                "RuleCount": rules.get(r["CI_ID"], 0),
                "Targeted": targets.get(r["CI_ID"], 0),
                "Evaluated": sum(states[r["CI_ID"]].values()),
                "Compliant": states[r["CI_ID"]].get(1, 0),
                "NonCompliant": states[r["CI_ID"]].get(2, 0),
                "Failed": states[r["CI_ID"]].get(4, 0),
            }
            for r in self._rows(
                'select * from "v_ConfigurationItems" where CIType_ID = 2 and IsLatest = 1'
                " and coalesce(IsTombstoned, 0) = 0"
            )
        ]

    # -- clients ----------------------------------------------------------------------------------

    def client_output(self, rid: int, script: str) -> str:
        data = self._inventory(rid) if script == "client_inventory" else self._software(rid)
        return json.dumps(data, separators=(",", ":"))

    def _inventory(self, rid: int) -> list[dict[str, Any]]:
        def rows(view: str) -> list[_Row]:
            # A site profile may lack a view or a column; the client's WMI is read as if the
            # value were unknown there too, so both connectors see the same site.
            try:
                return [_Row(r) for r in self._rows(f'select * from "{view}" where ResourceID = ?', rid)]
            except sqlite3.OperationalError:
                return []

        version, client_id = self._rows(
            'select Client_Version0, SMS_Unique_Identifier0 from "v_R_System" where ResourceID = ?', rid
        )[0]
        memory = [r["TotalPhysicalMemory0"] for r in rows("v_GS_X86_PC_MEMORY")]
        kb = max((m for m in memory if m is not None), default=None)
        return [
            {
                "ClientId": client_id,
                "ClientVersion": version,
                "OperatingSystem": [
                    {
                        "Caption": r["Caption0"],
                        "Version": r["Version0"],
                        "OSArchitecture": r["OSArchitecture0"],
                        "ProductType": r["ProductType0"],
                    }
                    for r in rows("v_GS_OPERATING_SYSTEM")
                ],
                "ComputerSystem": [
                    {
                        "Manufacturer": r["Manufacturer0"],
                        "Model": r["Model0"],
                        "TotalPhysicalMemory": None if kb is None else kb * 1024,
                    }
                    for r in rows("v_GS_COMPUTER_SYSTEM")
                ],
                "Processors": [
                    {
                        "Name": r["Name0"],
                        "NumberOfCores": r["NumberOfCores0"],
                        "NumberOfLogicalProcessors": r["NumberOfLogicalProcessors0"],
                    }
                    for r in rows("v_GS_PROCESSOR")
                ],
                "SystemDisk": [
                    {
                        "Size": None if r["Size0"] is None else r["Size0"] * 2**20,
                        "FreeSpace": None if r["FreeSpace0"] is None else r["FreeSpace0"] * 2**20,
                    }
                    for r in rows("v_GS_LOGICAL_DISK")
                    if r["DeviceID0"] == "C:" and r["DriveType0"] == 3
                ],
                "Enclosures": [
                    {"ChassisTypes": [] if r["ChassisTypes0"] is None else [int(r["ChassisTypes0"])]}
                    for r in rows("v_GS_SYSTEM_ENCLOSURE")
                ],
                "Bios": [{"ReleaseDate": _iso(r["ReleaseDate0"])} for r in rows("v_GS_PC_BIOS")],
            }
        ]

    def _software(self, rid: int) -> list[dict[str, Any]]:
        return [
            {"DisplayName": r["DisplayName0"], "Publisher": r["Publisher0"], "DisplayVersion": r["Version0"]}
            for r in self._rows('select * from "v_Add_Remove_Programs" where ResourceID = ?', rid)
        ]
