"""The documented SCCM views this connector reads, declared with only the columns it uses.

Names and columns are Microsoft's (``v_`` views of the ``CM_<SiteCode>`` database); a site
may add columns, and those are never read. ``REQUIRED`` views exist in every site database;
the others depend on which inventory classes and features a site has enabled.
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table, UnicodeText

__all__ = ["METADATA", "OPTIONAL", "REQUIRED", "VIEWS"]

METADATA = MetaData()


def _view(name: str, *columns: Column[object]) -> Table:
    return Table(name, METADATA, *columns)


def _s(name: str) -> Column[object]:
    return Column(name, UnicodeText)


def _i(name: str) -> Column[object]:
    return Column(name, Integer)


def _d(name: str) -> Column[object]:
    # Read as text on purpose: SQLite keeps datetimes as strings of any format, and one
    # odd value must not break a read. The mapper parses what it gets.
    return Column(name, UnicodeText)


R_SYSTEM = _view(
    "v_R_System",
    _i("ResourceID"),
    _s("SMS_Unique_Identifier0"),
    _s("Netbios_Name0"),
    _s("User_Name0"),
    _s("Client_Version0"),
    _i("Client0"),
    _i("Active0"),
    _i("Obsolete0"),
    _i("Decommissioned0"),
    _i("Is_Virtual_Machine0"),
)
OPERATING_SYSTEM = _view(
    "v_GS_OPERATING_SYSTEM",
    _i("ResourceID"),
    _s("Caption0"),
    _s("Version0"),
    _s("OSArchitecture0"),
    _i("ProductType0"),
)
COMPUTER_SYSTEM = _view(
    "v_GS_COMPUTER_SYSTEM",
    _i("ResourceID"),
    _s("Manufacturer0"),
    _s("Model0"),
)
PROCESSOR = _view(
    "v_GS_PROCESSOR",
    _i("ResourceID"),
    _s("Name0"),
    _i("NumberOfCores0"),
    _i("NumberOfLogicalProcessors0"),
)
MEMORY = _view("v_GS_X86_PC_MEMORY", _i("ResourceID"), Column("TotalPhysicalMemory0", Integer))
BIOS = _view("v_GS_PC_BIOS", _i("ResourceID"), _d("ReleaseDate0"))
LOGICAL_DISK = _view(
    "v_GS_LOGICAL_DISK",
    _i("ResourceID"),
    Column("DeviceID0", String(255)),
    _i("DriveType0"),
    Column("Size0", Integer),
    Column("FreeSpace0", Integer),
)
ENCLOSURE = _view("v_GS_SYSTEM_ENCLOSURE", _i("ResourceID"), _s("ChassisTypes0"))
ARP = _view(
    "v_Add_Remove_Programs",
    _i("ResourceID"),
    _s("DisplayName0"),
    _s("Publisher0"),
    _s("Version0"),
)
INSTALLED_SOFTWARE = _view(
    "v_GS_INSTALLED_SOFTWARE",
    _i("ResourceID"),
    _s("ProductName0"),
    _s("Publisher0"),
    _s("ProductVersion0"),
)
SITE = _view(
    "v_Site",
    Column("SiteCode", String(3)),
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
    _s("RoleName"),
    _s("ServerName"),
    _s("SiteCode"),
)
DEPLOYMENT_SUMMARY = _view(
    "v_DeploymentSummary",
    _i("AssignmentID"),
    _s("SoftwareName"),
    _s("CollectionName"),
    _i("FeatureType"),
    _i("DeploymentIntent"),
    _i("NumberTargeted"),
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
    Column("PackageID", String(8)),
    _s("Name"),
    _s("Manufacturer"),
    _s("Version"),
    _s("Description"),
    _s("PkgSourcePath"),
    _i("PackageType"),
    _d("SourceDate"),
)
PROGRAM = _view("v_Program", Column("PackageID", String(8)), _s("ProgramName"))
ADVERTISEMENT = _view(
    "v_Advertisement",
    Column("AdvertisementID", String(8)),
    Column("PackageID", String(8)),
)
CONFIGURATION_ITEMS = _view(
    "v_ConfigurationItems",
    _i("CI_ID"),
    _i("CIType_ID"),
    _i("IsLatest"),
    _i("IsUserDefined"),
    _i("IsTombstoned"),
    _s("CreatedBy"),
    _d("DateCreated"),
)
LOCALIZED_CI = _view(
    "v_LocalizedCIProperties_SiteLoc",
    _i("CI_ID"),
    _s("DisplayName"),
    _s("Description"),
)
CI_RELATION = _view("v_CIRelation", _i("FromCIID"), _i("ToCIID"), _i("RelationType"))
BASELINE_TARGETS = _view("v_BaselineTargetedComputers", _i("CI_ID"), _i("ResourceID"))
CI_COMPLIANCE = _view(
    "v_CICurrentComplianceStatus",
    _i("CI_ID"),
    _i("ResourceID"),
    _i("ComplianceState"),
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
