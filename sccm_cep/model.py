"""The canonical records a submission is about, every field with a one-line description.

Connectors fill these records from their sources (raw values, possibly personal);
``normalize`` fills the derived fields; the policies name each field with an action, and
the anonymizer turns them into what is sent. The field catalog is generated from here.

Record kinds:

* ``aggregate``: one row per distinct combination of values, with a device count computed
  by the source (GROUP BY on the server). Memory grows with distinct values, not devices.
* ``object``: one row per site object (a site, a deployment, a package, a baseline).
* ``device``: one row per managed device (level ``enhanced`` only), streamed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

__all__ = [
    "RECORD_TYPES",
    "SECTIONS",
    "ClientTotals",
    "ClientVersion",
    "ConfigurationItem",
    "Deployment",
    "Device",
    "DirectoryCoverage",
    "HardwareBios",
    "HardwareChassis",
    "HardwareCpu",
    "HardwareDisk",
    "HardwareMemory",
    "HardwareModel",
    "Level",
    "OperatingSystem",
    "Package",
    "Record",
    "RecordKind",
    "Site",
    "SiteRole",
    "Software",
    "describe",
    "field_descriptions",
    "record_type",
]


class Level(StrEnum):
    """How much a site shares: ``basic`` aggregates only; ``enhanced`` adds device rows."""

    BASIC = "basic"
    ENHANCED = "enhanced"

    def includes(self, other: Level) -> bool:
        """True when a field of level ``other`` is collected at this level."""
        return LEVEL_ORDER[self] >= LEVEL_ORDER[other]


LEVEL_ORDER = {Level.BASIC: 0, Level.ENHANCED: 1}


class RecordKind(StrEnum):
    AGGREGATE = "aggregate"
    OBJECT = "object"
    DEVICE = "device"


def describe(text: str, *, derived: bool = False, vocabulary: str | None = None) -> Any:
    """A record field with its one-line description; ``derived`` marks fields normalize fills.

    ``vocabulary`` binds a field to a closed vocabulary (``sccm_cep/privacy/vocabularies.py``):
    the export maps it onto that set, anything else is "other", and the policy linter refuses
    to send the field unless the export maps it.
    """
    meta: dict[str, Any] = {"description": text, "derived": derived}
    if vocabulary is not None:
        meta["vocabulary"] = vocabulary
    return dataclasses.field(default=None, metadata=meta)


@dataclass(frozen=True, slots=True)
class Record:
    """Base of every canonical record."""

    NAME: ClassVar[str] = ""
    SECTION: ClassVar[str] = ""
    KIND: ClassVar[RecordKind] = RecordKind.OBJECT
    LEVEL: ClassVar[Level] = Level.BASIC
    #: For aggregates: the field holding the number of devices the row stands for.
    WEIGHT: ClassVar[str | None] = None
    #: For aggregates: True when each device is counted in at most one row, so summing rows
    #: that anonymize to the same values gives an exact device count.
    DISJOINT: ClassVar[bool] = True
    DESCRIPTION: ClassVar[str] = ""


# --- site_profile ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Site(Record):
    NAME = "site"
    SECTION = "site_profile"
    KIND = RecordKind.OBJECT
    DESCRIPTION = "One Configuration Manager site of the hierarchy."

    site_code: str | None = describe("Three-character site code (an organization identifier).")
    site_name: str | None = describe("Display name of the site, often a city or team.")
    server_name: str | None = describe("Host name of the site server.")
    parent_site_code: str | None = describe("Site code of the parent (reporting) site.")
    site_type: str | None = describe(
        "Kind of site: one of primary, secondary, central_administration, other.",
        vocabulary="site_type",
    )
    version: str | None = describe(
        "Product version of the site (5.00.9128.1000) as its current-branch release (2403);"
        " a build not in the official table is other (vocabulary sccm_version).",
        vocabulary="sccm_version",
    )
    build_number: int | None = describe("Product build number, e.g. 9128.")
    release: str | None = describe("Current-branch release the build is, e.g. 2403.", derived=True)
    status: str | None = describe(
        "Operational status of the site: one of active, pending, failed, deleted, upgrade,"
        " secondary_deinstall_failed, secondary_upgrade_failed, secondary_recovery_in_progress,"
        " secondary_recovery_failed, other.",
        vocabulary="site_status",
    )
    install_dir: str | None = describe("Installation folder of the site server.")


@dataclass(frozen=True, slots=True)
class SiteRole(Record):
    NAME = "site_role"
    SECTION = "site_profile"
    KIND = RecordKind.AGGREGATE
    WEIGHT = "server_count"
    DESCRIPTION = "How many servers hold each site-system role."

    role_name: str | None = describe(
        "Site-system role as ConfigMgr names it, e.g. SMS Management Point; a name not in the"
        " site_role vocabulary (27 role names) is other.",
        vocabulary="site_role",
    )
    server_count: int = dataclasses.field(
        default=0, metadata={"description": "Number of servers holding the role."}
    )


@dataclass(frozen=True, slots=True)
class ClientVersion(Record):
    NAME = "client_version"
    SECTION = "site_profile"
    KIND = RecordKind.AGGREGATE
    WEIGHT = "device_count"
    DESCRIPTION = "Distribution of Configuration Manager client versions over managed devices."

    client_version: str | None = describe(
        "Configuration Manager client version (5.00.9132.1011) as its current-branch release"
        " (2409); a build not in the official table is other (vocabulary sccm_version).",
        vocabulary="sccm_version",
    )
    release: str | None = describe("Current-branch release of the client build.", derived=True)
    device_count: int = dataclasses.field(
        default=0, metadata={"description": "Managed devices running that client version."}
    )


@dataclass(frozen=True, slots=True)
class ClientTotals(Record):
    NAME = "client_totals"
    SECTION = "site_profile"
    KIND = RecordKind.OBJECT
    DESCRIPTION = "Size of the site: how many systems are discovered, managed and active."

    discovered: int | None = describe("Systems the site knows of, client or not, not decommissioned.")
    managed: int | None = describe("Systems with a Configuration Manager client.")
    active: int | None = describe("Managed systems the site considers active.")
    virtual: int | None = describe("Managed systems that are virtual machines.")


@dataclass(frozen=True, slots=True)
class DirectoryCoverage(Record):
    NAME = "directory_coverage"
    SECTION = "site_profile"
    KIND = RecordKind.OBJECT
    DESCRIPTION = (
        "Management coverage: SCCM clients next to the enabled computers in Active Directory (optional)."
    )

    directory_computers: int | None = describe("Enabled computer objects in the searched AD domains.")
    managed_clients: int | None = describe("Systems with a Configuration Manager client.")
    coverage: float | None = describe("Managed clients divided by enabled directory computers.")


# --- hardware ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HardwareModel(Record):
    NAME = "hardware_model"
    SECTION = "hardware"
    KIND = RecordKind.AGGREGATE
    WEIGHT = "device_count"
    DESCRIPTION = "Computer manufacturers and models of managed devices."

    manufacturer: str | None = describe("Computer manufacturer as inventoried, e.g. Dell Inc.")
    model: str | None = describe("Computer model as inventoried, e.g. Latitude 5440.")
    vendor: str | None = describe("Normalized manufacturer, e.g. Dell.", derived=True)
    model_family: str | None = describe("Product line, e.g. Dell Latitude.", derived=True)
    hypervisor: str | None = describe("Hypervisor for virtual machines, none for physical.", derived=True)
    is_virtual: bool | None = describe("Whether the device is a virtual machine.", derived=True)
    device_count: int = dataclasses.field(
        default=0, metadata={"description": "Managed devices of that model."}
    )


@dataclass(frozen=True, slots=True)
class HardwareCpu(Record):
    NAME = "hardware_cpu"
    SECTION = "hardware"
    KIND = RecordKind.AGGREGATE
    WEIGHT = "device_count"
    DESCRIPTION = "Processors of managed devices: model, total cores and logical processors."

    cpu_name: str | None = describe("Processor name as inventoried (first socket).")
    cpu_family: str | None = describe("Processor family, e.g. Intel Core i5 (13th Gen).", derived=True)
    cores: int | None = describe("Physical cores summed over sockets.")
    logical_processors: int | None = describe("Logical processors summed over sockets.")
    device_count: int = dataclasses.field(
        default=0, metadata={"description": "Managed devices with that processor configuration."}
    )


@dataclass(frozen=True, slots=True)
class HardwareMemory(Record):
    NAME = "hardware_memory"
    SECTION = "hardware"
    KIND = RecordKind.AGGREGATE
    WEIGHT = "device_count"
    DESCRIPTION = "Installed physical memory of managed devices."

    memory_gb: int | None = describe("Physical memory, rounded to whole GiB.")
    device_count: int = dataclasses.field(
        default=0, metadata={"description": "Managed devices with that much memory."}
    )


@dataclass(frozen=True, slots=True)
class HardwareDisk(Record):
    NAME = "hardware_disk"
    SECTION = "hardware"
    KIND = RecordKind.AGGREGATE
    WEIGHT = "device_count"
    DESCRIPTION = "Size and fill of the system drive (C:) of managed devices."

    system_disk_gb: int | None = describe("Size of the C: volume, whole GiB.")
    free_percent: int | None = describe("Free space on C:, whole percent.")
    device_count: int = dataclasses.field(
        default=0, metadata={"description": "Managed devices with that system drive."}
    )


@dataclass(frozen=True, slots=True)
class HardwareChassis(Record):
    NAME = "hardware_chassis"
    SECTION = "hardware"
    KIND = RecordKind.AGGREGATE
    WEIGHT = "device_count"
    DESCRIPTION = "Chassis types (SMBIOS) of managed devices."

    chassis_type: str | None = describe(
        "SMBIOS chassis type code, one of 1-36 (10 from 10, {10} or 3,10), or other"
        " (vocabulary chassis_code).",
        vocabulary="chassis_code",
    )
    chassis: str | None = describe("Chassis type name, e.g. Notebook.", derived=True)
    form_factor: str | None = describe("Coarse form: desktop, laptop, tablet, server, other.", derived=True)
    device_count: int = dataclasses.field(
        default=0, metadata={"description": "Managed devices of that chassis type."}
    )


@dataclass(frozen=True, slots=True)
class HardwareBios(Record):
    NAME = "hardware_bios"
    SECTION = "hardware"
    KIND = RecordKind.AGGREGATE
    WEIGHT = "device_count"
    DESCRIPTION = "Age of the firmware (BIOS/UEFI) of managed devices."

    release_year: int | None = describe("Year the firmware was released.")
    device_count: int = dataclasses.field(
        default=0, metadata={"description": "Managed devices with firmware of that year."}
    )


# --- operating_systems -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OperatingSystem(Record):
    NAME = "operating_system"
    SECTION = "operating_systems"
    KIND = RecordKind.AGGREGATE
    WEIGHT = "device_count"
    DESCRIPTION = "Operating systems of managed devices."

    caption: str | None = describe("OS caption as inventoried, e.g. Microsoft Windows 11 Enterprise.")
    version: str | None = describe("OS version as inventoried, e.g. 10.0.22631.")
    architecture: str | None = describe(
        "OS architecture: one of x64, x86, arm64, other (64-bit, 64 bits, x64-based PC → x64).",
        vocabulary="os_architecture",
    )
    product_type: str | None = describe("workstation, server or domain controller.")
    family: str | None = describe("OS family, e.g. Windows 11, Windows Server 2022.", derived=True)
    release: str | None = describe("Feature release, e.g. 23H2.", derived=True)
    build: str | None = describe("OS build number, e.g. 22631.", derived=True)
    edition: str | None = describe("Edition, e.g. Enterprise, Pro, Datacenter.", derived=True)
    device_count: int = dataclasses.field(
        default=0, metadata={"description": "Managed devices running that operating system."}
    )


# --- software ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Software(Record):
    NAME = "software"
    SECTION = "software"
    KIND = RecordKind.AGGREGATE
    WEIGHT = "installations"
    # One device can hold several raw entries that normalize to one title (x86 and x64
    # builds, both uninstall views), and the database counts devices per raw entry: the
    # sum over entries is an installation count, and suppression uses a lower bound.
    DISJOINT = False
    DESCRIPTION = "Installed software titles (Programs and Features), normalized."

    publisher: str | None = describe("Publisher: as inventoried, then normalized (Microsoft).")
    product: str | None = describe(
        "Product name: as inventoried, then without version, architecture and language tags."
    )
    version: str | None = describe("Product version: as inventoried, then normalized.")
    installations: int = dataclasses.field(
        default=0,
        metadata={
            "description": "Devices with the title, counted once per inventoried variant"
            " (x86 and x64 builds count separately)."
        },
    )


# --- deployments ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Deployment(Record):
    NAME = "deployment"
    SECTION = "deployments"
    KIND = RecordKind.OBJECT
    DESCRIPTION = "One deployment of any kind (application, program, update, baseline, task sequence)."

    deployment_id: str | None = describe("Deployment (assignment) identifier.")
    deployment_name: str | None = describe("Name of the deployed software or object (free text).")
    collection_name: str | None = describe("Name of the target collection (free text).")
    feature_type: str | None = describe(
        "What is deployed: application, program, software_update, baseline, task_sequence, ..."
    )
    intent: str | None = describe("required, available or simulate.")
    targeted: int | None = describe("Devices or users targeted.")
    success_rate: float | None = describe("Share of targets that succeeded (0-1).")
    error_rate: float | None = describe("Share of targets that failed (0-1).")
    in_progress_rate: float | None = describe("Share of targets in progress (0-1).")
    unknown_rate: float | None = describe("Share of targets with no status yet (0-1).")
    created: datetime | None = describe("When the deployment was created.")
    has_deadline: bool | None = describe("Whether an enforcement deadline is set.")


@dataclass(frozen=True, slots=True)
class Package(Record):
    NAME = "package"
    SECTION = "deployments"
    KIND = RecordKind.OBJECT
    DESCRIPTION = "One content package (classic package, driver, task sequence, image, ...)."

    package_id: str | None = describe("Package identifier, e.g. PS100012.")
    name: str | None = describe("Package name (free text).")
    manufacturer: str | None = describe("Manufacturer entered by the admin (free text).")
    version: str | None = describe("Version entered by the admin (free text).")
    description: str | None = describe("Description entered by the admin (free text).")
    source_path: str | None = describe("Content source path (UNC).")
    package_type: str | None = describe("package, driver, task_sequence, software_update, ...")
    program_count: int | None = describe("Programs defined for the package.")
    deployment_count: int | None = describe("Deployments (advertisements) of the package.")
    source_date: datetime | None = describe("When the package source was last updated.")


# --- configuration_policies ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConfigurationItem(Record):
    NAME = "configuration_item"
    SECTION = "configuration_policies"
    KIND = RecordKind.OBJECT
    DESCRIPTION = "One configuration baseline with its rules and compliance."

    ci_id: str | None = describe("Configuration item identifier (CI_ID).")
    name: str | None = describe("Display name of the baseline (free text).")
    description: str | None = describe("Description of the baseline (free text).")
    created_by: str | None = describe("Account of the administrator who created it.")
    ci_type: str | None = describe("configuration_baseline or configuration_item.")
    is_user_defined: bool | None = describe("Whether an administrator created it (not built in).")
    rule_count: int | None = describe("Configuration items (rules) inside the baseline.")
    targeted: int | None = describe("Devices the baseline is deployed to.")
    evaluated: int | None = describe("Devices that reported a compliance state.")
    compliant_rate: float | None = describe("Share of evaluated devices compliant (0-1).")
    noncompliant_rate: float | None = describe("Share of evaluated devices non-compliant (0-1).")
    error_rate: float | None = describe("Share of evaluated devices in error or conflict (0-1).")
    created: datetime | None = describe("When the baseline was created.")


# --- devices (level enhanced) ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Device(Record):
    NAME = "device"
    SECTION = "devices"
    KIND = RecordKind.DEVICE
    LEVEL = Level.ENHANCED
    DESCRIPTION = "One managed device, under a keyed pseudonym (level enhanced only)."

    device_id: str | None = describe("The client's SMS unique identifier (GUID:...).")
    host_name: str | None = describe("NetBIOS name of the computer.")
    user_name: str | None = describe("Last logged-on user.")
    os_caption: str | None = describe("OS caption as inventoried.")
    os_version: str | None = describe("OS version as inventoried.")
    os_family: str | None = describe("OS family, e.g. Windows 11.", derived=True)
    os_release: str | None = describe("Feature release, e.g. 23H2.", derived=True)
    os_edition: str | None = describe("Edition, e.g. Enterprise.", derived=True)
    architecture: str | None = describe(
        "OS architecture: one of x64, x86, arm64, other (64-bit, 64 bits, x64-based PC → x64).",
        vocabulary="os_architecture",
    )
    manufacturer: str | None = describe("Computer manufacturer as inventoried.")
    model: str | None = describe("Computer model as inventoried.")
    model_family: str | None = describe("Product line, e.g. Dell Latitude.", derived=True)
    hypervisor: str | None = describe("Hypervisor for virtual machines.", derived=True)
    cpu_name: str | None = describe("Processor name as inventoried.")
    cpu_family: str | None = describe("Processor family.", derived=True)
    cores: int | None = describe("Physical cores summed over sockets.")
    memory_gb: int | None = describe("Physical memory, whole GiB.")
    system_disk_gb: int | None = describe("Size of the C: volume, whole GiB.")
    chassis_type: str | None = describe(
        "SMBIOS chassis type code, one of 1-36, or other (vocabulary chassis_code).",
        vocabulary="chassis_code",
    )
    chassis: str | None = describe("Chassis type name.", derived=True)
    bios_release_year: int | None = describe("Year the firmware was released.")
    client_version: str | None = describe(
        "Configuration Manager client version as its current-branch release, or other"
        " (vocabulary sccm_version).",
        vocabulary="sccm_version",
    )
    software_count: int | None = describe("Installed-software entries on the device.")


RECORD_TYPES: tuple[type[Record], ...] = (
    Site,
    SiteRole,
    ClientVersion,
    ClientTotals,
    DirectoryCoverage,
    HardwareModel,
    HardwareCpu,
    HardwareMemory,
    HardwareDisk,
    HardwareChassis,
    HardwareBios,
    OperatingSystem,
    Software,
    Deployment,
    Package,
    ConfigurationItem,
    Device,
)

#: Submission sections in document order, with the record types each is made of.
SECTIONS: dict[str, tuple[type[Record], ...]] = {}
for _rt in RECORD_TYPES:
    SECTIONS.setdefault(_rt.SECTION, ())
    SECTIONS[_rt.SECTION] = (*SECTIONS[_rt.SECTION], _rt)


def record_type(name: str) -> type[Record]:
    """The record type called ``name`` (KeyError when there is none)."""
    for rt in RECORD_TYPES:
        if name == rt.NAME:
            return rt
    raise KeyError(name)


def field_descriptions(rt: type[Record]) -> dict[str, str]:
    """Field name → one-line description, in declaration order."""
    return {f.name: str(f.metadata["description"]) for f in dataclasses.fields(rt)}
