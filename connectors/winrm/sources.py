"""Where each canonical field comes from over WinRM, declared for the field catalog.

Read off the scripts under ``scripts/`` and ``mapping.py``: record → field → ``WMI Class.Property``
(SMS Provider classes in ``root\\SMS\\site_<code>``, client classes in ``root\\cimv2`` and
``root\\ccm``) or the registry's Uninstall keys. Fields the scripts do not provide are absent.
"""

from __future__ import annotations

__all__ = ["SOURCES"]

_CLIENTS = " (count of clients answering)"
_UNINSTALL = "registry Uninstall (HKLM, 64- and 32-bit views)"

SOURCES: dict[str, dict[str, str]] = {
    "site": {
        "site_code": "SMS_Site.SiteCode",
        "parent_site_code": "SMS_Site.ReportingSiteCode",
        "site_type": "SMS_Site.Type",
        "version": "SMS_Site.Version",
        "build_number": "SMS_Site.BuildNumber",
        "release": "derived from build_number and version",
        "status": "SMS_Site.Status (code to name; unknown codes: other)",
    },
    "site_role": {
        "role_name": "SMS_SystemResourceList.RoleName",
        "server_count": "SMS_SystemResourceList.ServerName (count of distinct servers per role)",
    },
    "client_version": {
        "client_version": "SMS_Client.ClientVersion (root\\ccm)",
        "release": "derived from client_version",
        "device_count": "SMS_Client" + _CLIENTS,
    },
    "client_totals": {
        "discovered": "SMS_R_System.Decommissioned (count of systems not decommissioned)",
        "managed": "SMS_R_System.Client, Obsolete, Decommissioned (count of managed clients)",
        "active": "SMS_R_System.Active (count of managed clients)",
        "virtual": "SMS_R_System.IsVirtualMachine (count of managed clients)",
    },
    "directory_coverage": {
        "managed_clients": "SMS_R_System.Client, Obsolete, Decommissioned (count of managed clients)",
    },
    "hardware_model": {
        "manufacturer": "Win32_ComputerSystem.Manufacturer",
        "model": "Win32_ComputerSystem.Model",
        "vendor": "derived from manufacturer",
        "model_family": "derived from manufacturer and model",
        "hypervisor": "derived from manufacturer and model",
        "is_virtual": "derived from manufacturer and model",
        "device_count": "Win32_ComputerSystem" + _CLIENTS,
    },
    "hardware_cpu": {
        "cpu_name": "Win32_Processor.Name (greatest over sockets)",
        "cpu_family": "derived from cpu_name",
        "cores": "Win32_Processor.NumberOfCores (sum over sockets)",
        "logical_processors": "Win32_Processor.NumberOfLogicalProcessors (sum over sockets)",
        "device_count": "Win32_Processor" + _CLIENTS,
    },
    "hardware_memory": {
        "memory_gb": "Win32_ComputerSystem.TotalPhysicalMemory (bytes rounded to GiB)",
        "device_count": "Win32_ComputerSystem" + _CLIENTS,
    },
    "hardware_disk": {
        "system_disk_gb": "Win32_LogicalDisk.Size (C:, whole GiB)",
        "free_percent": "Win32_LogicalDisk.FreeSpace / Size (C:, tens of percent)",
        "device_count": "Win32_LogicalDisk" + _CLIENTS,
    },
    "hardware_chassis": {
        "chassis_type": "Win32_SystemEnclosure.ChassisTypes (first)",
        "chassis": "derived from chassis_type",
        "form_factor": "derived from chassis_type",
        "device_count": "Win32_SystemEnclosure" + _CLIENTS,
    },
    "hardware_bios": {
        "release_year": "Win32_BIOS.ReleaseDate (year)",
        "device_count": "Win32_BIOS" + _CLIENTS,
    },
    "operating_system": {
        "caption": "Win32_OperatingSystem.Caption",
        "version": "Win32_OperatingSystem.Version",
        "architecture": "Win32_OperatingSystem.OSArchitecture",
        "product_type": "Win32_OperatingSystem.ProductType",
        "family": "derived from caption, version and product_type",
        "release": "derived from caption, version and product_type",
        "build": "derived from version",
        "edition": "derived from caption, version and product_type",
        "device_count": "Win32_OperatingSystem" + _CLIENTS,
    },
    "software": {
        "publisher": f"{_UNINSTALL} Publisher (normalized)",
        "product": f"{_UNINSTALL} DisplayName (normalized with version)",
        "version": f"{_UNINSTALL} DisplayVersion (normalized with product)",
        "installations": f"{_UNINSTALL} DisplayName" + _CLIENTS,
    },
    "deployment": {
        "deployment_id": "SMS_DeploymentSummary.AssignmentID (programs, task sequences: DeploymentID)",
        "feature_type": "SMS_DeploymentSummary.FeatureType (code to name)",
        "intent": "SMS_DeploymentSummary.DeploymentIntent",
        "targeted": "SMS_DeploymentSummary.NumberTargeted",
        "success_rate": "SMS_DeploymentSummary.NumberSuccess / NumberTargeted",
        "error_rate": "SMS_DeploymentSummary.NumberErrors / NumberTargeted",
        "in_progress_rate": "SMS_DeploymentSummary.NumberInProgress / NumberTargeted",
        "unknown_rate": "SMS_DeploymentSummary.NumberUnknown / NumberTargeted",
        "created": "SMS_DeploymentSummary.CreationTime",
        "has_deadline": "SMS_DeploymentSummary.EnforcementDeadline (is set)",
    },
    "package": {
        "package_id": "SMS_PackageBaseclass.PackageID",
        "package_type": "SMS_PackageBaseclass.PackageType",
        "program_count": "SMS_Program.PackageID (count per package)",
        "deployment_count": "SMS_Advertisement.PackageID (count per package)",
        "source_date": "SMS_PackageBaseclass.SourceDate",
    },
    "configuration_item": {
        "ci_id": "SMS_ConfigurationBaselineInfo.CI_ID",
        "ci_type": "SMS_ConfigurationBaselineInfo.CIType_ID (code to name)",
        "is_user_defined": "SMS_ConfigurationBaselineInfo.IsUserDefined",
        "rule_count": "SMS_CIRelation.ToCIID (distinct rules per baseline, RelationType 2, 3, 4)",
        "targeted": "SMS_ConfigurationBaselineInfo.AssignedCount (computers targeted, each once)",
        "evaluated": "SMS_ConfigurationBaselineInfo.ActivatedCount (computers that evaluated it)",
        "compliant_rate": "SMS_ConfigurationBaselineInfo.ComplianceCount / ActivatedCount",
        "noncompliant_rate": "SMS_ConfigurationBaselineInfo.NonComplianceCount / ActivatedCount",
        "error_rate": "SMS_ConfigurationBaselineInfo.FailureCount / ActivatedCount",
        "created": "SMS_ConfigurationBaselineInfo.DateCreated",
    },
    "device": {
        "device_id": "CCM_Client.ClientId (root\\ccm)",
        "os_caption": "Win32_OperatingSystem.Caption",
        "os_version": "Win32_OperatingSystem.Version",
        "os_family": "derived from os_caption and os_version",
        "os_release": "derived from os_caption and os_version",
        "os_edition": "derived from os_caption and os_version",
        "architecture": "Win32_OperatingSystem.OSArchitecture",
        "manufacturer": "Win32_ComputerSystem.Manufacturer",
        "model": "Win32_ComputerSystem.Model",
        "model_family": "derived from manufacturer and model",
        "hypervisor": "derived from manufacturer and model",
        "cpu_name": "Win32_Processor.Name (greatest over sockets)",
        "cpu_family": "derived from cpu_name",
        "cores": "Win32_Processor.NumberOfCores (sum over sockets)",
        "memory_gb": "Win32_ComputerSystem.TotalPhysicalMemory (bytes rounded to GiB)",
        "system_disk_gb": "Win32_LogicalDisk.Size (C:, whole GiB)",
        "chassis_type": "Win32_SystemEnclosure.ChassisTypes (first)",
        "chassis": "derived from chassis_type",
        "bios_release_year": "Win32_BIOS.ReleaseDate (year)",
        "client_version": "SMS_Client.ClientVersion (root\\ccm)",
        "software_count": f"{_UNINSTALL} DisplayName (count of entries per device)",
    },
}
