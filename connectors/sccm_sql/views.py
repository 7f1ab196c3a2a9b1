"""The documented SCCM views this connector reads, declared with only the columns it uses.

Names and columns are Microsoft's (``v_`` views of the ``CM_<SiteCode>`` database); a site
may add columns, and those are never read. ``REQUIRED`` views exist in every site database;
the others depend on which inventory classes and features a site has enabled.

Each view has *essential* columns (``key=True``): its key and the columns without which the view
means nothing. A view counts as present when they exist. Any other column may be missing on a
real site (inventory views only have the properties a site inventories, and view definitions
change between builds); the fields behind a missing column are then left out and named in the
connector's notes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, UnicodeText

__all__ = ["ESSENTIAL", "METADATA", "OPTIONAL", "REQUIRED", "VIEWS", "is_essential"]

METADATA = MetaData()


def _view(name: str, *columns: Column[object]) -> Table:
    return Table(name, METADATA, *columns)


def _col(name: str, kind: Any, key: bool) -> Column[object]:
    return Column(name, kind, info={"essential": key})


def _s(name: str, *, key: bool = False) -> Column[object]:
    return _col(name, UnicodeText, key)


def _i(name: str, *, key: bool = False) -> Column[object]:
    return _col(name, Integer, key)


def _d(name: str, *, key: bool = False) -> Column[object]:
    # Read as text on purpose: SQLite keeps datetimes as strings of any format, and one
    # odd value must not break a read. The mapper parses what it gets.
    return _col(name, UnicodeText, key)


R_SYSTEM = _view(
    "v_R_System",
    _i("ResourceID", key=True),
    _s("SMS_Unique_Identifier0"),
    _s("Netbios_Name0"),
    _s("User_Name0"),
    _s("Client_Version0"),
    # The managed-device filter (a client, neither obsolete nor decommissioned) everything uses.
    _i("Client0", key=True),
    _i("Active0"),
    _i("Obsolete0", key=True),
    _i("Decommissioned0", key=True),
    _i("Is_Virtual_Machine0"),
)
# Hardware inventory: only ResourceID is guaranteed; a v_GS_* view has the columns of the
# properties the site inventories (shared/reference/sccm-sql-views.md, "Corrections").
# Caption0, Version0, OSArchitecture0 and ProductType0 are properties of Win32_OperatingSystem
# (learn.microsoft.com/windows/win32/cimwin32prov/win32-operatingsystem); whether a site inventories
# the last two is its own choice (learn.microsoft.com/intune/configmgr/core/clients/manage/inventory/
# extend-hardware-inventory), so they are optional: without them the fields are named unavailable.
OPERATING_SYSTEM = _view(
    "v_GS_OPERATING_SYSTEM",
    _i("ResourceID", key=True),
    _s("Caption0"),
    _s("Version0"),
    _s("OSArchitecture0"),
    _i("ProductType0"),
)
COMPUTER_SYSTEM = _view(
    "v_GS_COMPUTER_SYSTEM",
    _i("ResourceID", key=True),
    _s("Manufacturer0"),
    _s("Model0"),
)
PROCESSOR = _view(
    "v_GS_PROCESSOR",
    _i("ResourceID", key=True),
    _s("Name0"),
    _i("NumberOfCores0"),
    _i("NumberOfLogicalProcessors0"),
)
MEMORY = _view("v_GS_X86_PC_MEMORY", _i("ResourceID", key=True), _col("TotalPhysicalMemory0", Integer, False))
BIOS = _view("v_GS_PC_BIOS", _i("ResourceID", key=True), _d("ReleaseDate0"))
LOGICAL_DISK = _view(
    "v_GS_LOGICAL_DISK",
    _i("ResourceID", key=True),
    # Without the drive letter and type there is no "system disk" to pick.
    _col("DeviceID0", String(255), True),
    _i("DriveType0", key=True),
    _col("Size0", Integer, False),
    _col("FreeSpace0", Integer, False),
)
ENCLOSURE = _view("v_GS_SYSTEM_ENCLOSURE", _i("ResourceID", key=True), _s("ChassisTypes0"))
ARP = _view(
    "v_Add_Remove_Programs",
    _i("ResourceID", key=True),
    _s("DisplayName0", key=True),
    _s("Publisher0"),
    _s("Version0"),
)
INSTALLED_SOFTWARE = _view(
    "v_GS_INSTALLED_SOFTWARE",
    _i("ResourceID", key=True),
    _s("ProductName0", key=True),
    _s("Publisher0"),
    _s("ProductVersion0"),
)
# Columns of the SMS_Site WMI class, which v_Site mirrors (learn.microsoft.com/mem/configmgr/develop/
# reference/core/servers/configure/sms_site-server-wmi-class: Type 1 SECONDARY, 2 PRIMARY, 4 CAS;
# Status 1 ACTIVE ... 5 UPGRADE, 6-9 secondary-site failures and recovery; mapped in connectors/rows.py).
SITE = _view(
    "v_Site",
    _col("SiteCode", String(3), True),
    _s("SiteName"),
    _s("ServerName"),
    _s("ReportingSiteCode"),
    _i("Type"),
    _s("Version"),
    _i("BuildNumber"),
    _i("Status"),
    _s("InstallDir"),
)
SYSTEM_RESOURCE_LIST = _view(
    "v_SystemResourceList",
    # RoleName values as sites report them, e.g. "SMS SRS Reporting Point" (public admin scripts:
    # "from v_SystemResourceList where RoleName = 'SMS SRS Reporting Point'", and the same name on
    # SMS_SCI_SysResUse in health-check scripts; found with the code index).
    _s("RoleName", key=True),
    _s("ServerName", key=True),
    _s("SiteCode"),
)
DEPLOYMENT_SUMMARY = _view(
    "v_DeploymentSummary",
    _i("AssignmentID", key=True),
    # The classic deployment's AdvertisementID for programs and task sequences (FeatureType 2, 7):
    # public deployment reports join v_DeploymentSummary.OfferID = v_Advertisement.AdvertisementID
    # (found with the code index; the WMI class calls the column DeploymentID).
    _s("OfferID"),
    _s("SoftwareName"),
    _s("CollectionName"),
    # FeatureType codes: SMS_DeploymentSummary WMI class (learn.microsoft.com/mem/configmgr/develop/
    # reference/apps/sms_deploymentsummary-server-wmi-class): 1 Application, 2 Program, 5
    # SoftwareUpdate, 6 Baseline, 7 TaskSequence, ...; needed to choose the deployment's key. The view
    # has one row per deployment of every kind, so application deployments (v_ApplicationAssignment;
    # the row's CI_ID is the application's latest-revision CI, "see SMS_ConfigurationItemLatestBaseClass"
    # in the same page) and software update group deployments are read here with no other view.
    # v_ApplicationAssignment (SMS_ApplicationAssignment, learn.microsoft.com/mem/configmgr/develop/
    # reference/apps/sms_applicationassignment-server-wmi-class) and v_UpdateGroupAssignment are not
    # read: their rows are the same deployments, and what they add (revision handling, user
    # experience and reboot settings, update group membership) is nothing the policies send; the
    # deadline and intent are here already. An application's revision is not sent either.
    _i("FeatureType", key=True),
    _i("DeploymentIntent"),
    # The view's target count is NumberTotal: public queries read NumberTotal from v_DeploymentSummary
    # (an all-deployments report: "DeploySummary.NumberTotal AS 'Targeted'") and from the view
    # behind it (Skatterbrainz/ud-cmwt, cmqueries/cmdepsummary.sql, dbo.vDeploymentSummary).
    # NumberTargeted is the SMS_DeploymentSummary WMI class's name for it, not the view's.
    _i("NumberTotal"),
    _i("NumberSuccess"),
    _i("NumberErrors"),
    _i("NumberInProgress"),
    _i("NumberUnknown"),
    _i("NumberOther"),
    _d("CreationTime"),
    _d("EnforcementDeadline"),
)
PACKAGE = _view(
    "v_Package",
    _col("PackageID", String(8), True),
    _s("Name"),
    _s("Manufacturer"),
    _s("Version"),
    _s("Description"),
    _s("PkgSourcePath"),
    # Every kind of package is a row of v_Package (no filter on PackageType). Codes: SMS_PackageBaseclass
    # WMI class, PackageType (learn.microsoft.com/mem/configmgr/develop/reference/core/servers/configure/
    # sms_packagebaseclass-server-wmi-class): 0 regular, 3 driver, 4 task sequence, 5 software update,
    # 6 device setting, 7 virtual application, 8 application (content), 257 image, 258 boot image,
    # 259 OS upgrade; mapped to names in connectors/rows.py (PACKAGE_TYPES).
    _i("PackageType"),
    _d("SourceDate"),
)
PROGRAM = _view("v_Program", _col("PackageID", String(8), True), _s("ProgramName", key=True))
ADVERTISEMENT = _view(
    "v_Advertisement",
    _col("AdvertisementID", String(8), True),
    _col("PackageID", String(8), True),
)
CONFIGURATION_ITEMS = _view(
    "v_ConfigurationItems",
    _i("CI_ID", key=True),
    # CIType_ID codes: SMS_ConfigurationItemLatestBaseClass WMI class (learn.microsoft.com/mem/
    # configmgr/develop/reference/compliance/sms_configurationitemlatestbaseclass-server-wmi-class):
    # 1 SoftwareUpdate, 2 Baseline, 3 OperatingSystem, 4 BusinessPolicy (General), 5 Application, ...
    _i("CIType_ID", key=True),
    _i("IsLatest", key=True),
    _i("IsUserDefined"),
    # Confirmed on CI_ConfigurationItems / v_SMSConfigurationItems, not documented for this view
    # (not a property of the WMI class either): used as a filter only where the column exists.
    _i("IsTombstoned"),
    _s("CreatedBy"),
    _d("DateCreated"),
)
LOCALIZED_CI = _view(
    "v_LocalizedCIProperties_SiteLoc",
    _i("CI_ID", key=True),
    _s("DisplayName"),
    _s("Description"),
)
# RelationType codes: SMS_CIRelation WMI class (learn.microsoft.com/mem/configmgr/develop/reference/
# sum/sms_cirelation-server-wmi-class): 1 Bundled, 2 Required, 3 Prohibited, 4 Optional, 5 Derived,
# 6 Superseded, 7 Self, 8 Reference, 9 AppToDTReference, ... (statements.RULE_RELATIONS).
CI_RELATION = _view(
    "v_CIRelation", _i("FromCIID", key=True), _i("ToCIID", key=True), _i("RelationType", key=True)
)
BASELINE_TARGETS = _view("v_BaselineTargetedComputers", _i("CI_ID", key=True), _i("ResourceID", key=True))
# ComplianceState: 0 unknown, 1 compliant, 2 non-compliant, 4 error; Microsoft lists no 3
# (SMS_G_System_CI_ComplianceState WMI class, learn.microsoft.com/mem/configmgr/develop/reference/
# compliance/sms_g_system_ci_compliancestate-server-wmi-class). Mapped in connectors/rows.py.
CI_COMPLIANCE = _view(
    "v_CICurrentComplianceStatus",
    _i("CI_ID", key=True),
    _i("ResourceID", key=True),
    _i("ComplianceState", key=True),
)

VIEWS: dict[str, Table] = {t.name: t for t in METADATA.sorted_tables}

#: Every site database has these; without one the database is not an SCCM site.
REQUIRED: tuple[str, ...] = (
    "v_R_System",
    "v_Site",
    "v_GS_OPERATING_SYSTEM",
    "v_GS_COMPUTER_SYSTEM",
    "v_Add_Remove_Programs",
    "v_DeploymentSummary",
    "v_Package",
)
#: Present when the matching inventory class or feature is enabled; missing ones are reported.
OPTIONAL: tuple[str, ...] = tuple(sorted(set(VIEWS) - set(REQUIRED)))


def is_essential(column: Column[Any]) -> bool:
    return bool(column.info.get("essential"))


#: view → the columns without which it counts as missing.
ESSENTIAL: dict[str, frozenset[str]] = {
    name: frozenset(c.name for c in t.columns if is_essential(c)) for name, t in VIEWS.items()
}
