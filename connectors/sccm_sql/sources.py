"""Where each canonical field comes from in the site database, declared for the field catalog.

Read off ``statements.py`` (and the derivations in ``sccm_cep.export.derive``): record → field →
``v_View.Column``, or ``derived from …`` for values computed from other fields. Declaring the
map here changes nothing the connector reads; a test keeps it in step with the statements.
"""

from __future__ import annotations

__all__ = ["SOURCES"]

_MANAGED = " (managed clients of v_R_System)"

SOURCES: dict[str, dict[str, str]] = {
    "site": {
        "site_code": "v_Site.SiteCode",
        "site_name": "v_Site.SiteName",
        "server_name": "v_Site.ServerName",
        "parent_site_code": "v_Site.ReportingSiteCode",
        "site_type": "v_Site.Type",
        "version": "v_Site.Version",
        "build_number": "v_Site.BuildNumber",
        "release": "derived from build_number and version",
        "status": "v_Site.Status (code to name; unknown codes: other)",
        "install_dir": "v_Site.InstallDir",
    },
    "site_role": {
        "role_name": "v_SystemResourceList.RoleName",
        "server_count": "v_SystemResourceList.ServerName (count of distinct servers per role)",
    },
    "client_version": {
        "client_version": "v_R_System.Client_Version0",
        "release": "derived from client_version",
        "device_count": "v_R_System.ResourceID (count of managed clients)",
    },
    "client_totals": {
        "discovered": "v_R_System.Decommissioned0 (count of systems not decommissioned)",
        "managed": "v_R_System.Client0, Obsolete0, Decommissioned0 (count of managed clients)",
        "active": "v_R_System.Active0 (count of managed clients)",
        "virtual": "v_R_System.Is_Virtual_Machine0 (count of managed clients)",
    },
    "directory_coverage": {
        "managed_clients": "v_R_System.Client0, Obsolete0, Decommissioned0 (count of managed clients)",
    },
    "hardware_model": {
        "manufacturer": "v_GS_COMPUTER_SYSTEM.Manufacturer0",
        "model": "v_GS_COMPUTER_SYSTEM.Model0",
        "vendor": "derived from manufacturer",
        "model_family": "derived from manufacturer and model",
        "hypervisor": "derived from manufacturer and model",
        "is_virtual": "derived from manufacturer and model",
        "device_count": "v_GS_COMPUTER_SYSTEM.ResourceID (count of distinct devices)" + _MANAGED,
    },
    "hardware_cpu": {
        "cpu_name": "v_GS_PROCESSOR.Name0 (first socket)",
        "cpu_family": "derived from cpu_name",
        "cores": "v_GS_PROCESSOR.NumberOfCores0 (sum over sockets)",
        "logical_processors": "v_GS_PROCESSOR.NumberOfLogicalProcessors0 (sum over sockets)",
        "device_count": "v_GS_PROCESSOR.ResourceID (count of distinct devices)" + _MANAGED,
    },
    "hardware_memory": {
        "memory_gb": "v_GS_X86_PC_MEMORY.TotalPhysicalMemory0 (KiB rounded to GiB)",
        "device_count": "v_GS_X86_PC_MEMORY.ResourceID (count of distinct devices)" + _MANAGED,
    },
    "hardware_disk": {
        "system_disk_gb": "v_GS_LOGICAL_DISK.Size0 (C:, MiB to GiB)",
        "free_percent": "v_GS_LOGICAL_DISK.FreeSpace0 / Size0 (C:, tens of percent)",
        "device_count": "v_GS_LOGICAL_DISK.ResourceID (count of distinct devices)" + _MANAGED,
    },
    "hardware_chassis": {
        "chassis_type": "v_GS_SYSTEM_ENCLOSURE.ChassisTypes0",
        "chassis": "derived from chassis_type",
        "form_factor": "derived from chassis_type",
        "device_count": "v_GS_SYSTEM_ENCLOSURE.ResourceID (count of distinct devices)" + _MANAGED,
    },
    "hardware_bios": {
        "release_year": "v_GS_PC_BIOS.ReleaseDate0 (year)",
        "device_count": "v_GS_PC_BIOS.ResourceID (count of distinct devices)" + _MANAGED,
    },
    "operating_system": {
        "caption": "v_GS_OPERATING_SYSTEM.Caption0",
        "version": "v_GS_OPERATING_SYSTEM.Version0",
        "architecture": "v_GS_OPERATING_SYSTEM.OSArchitecture0",
        "product_type": "v_GS_OPERATING_SYSTEM.ProductType0",
        "family": "derived from caption, version and product_type",
        "release": "derived from caption, version and product_type",
        "build": "derived from version",
        "edition": "derived from caption, version and product_type",
        "device_count": "v_GS_OPERATING_SYSTEM.ResourceID (count of distinct devices)" + _MANAGED,
    },
    "software": {
        "publisher": "v_Add_Remove_Programs.Publisher0 (normalized)",
        "product": "v_Add_Remove_Programs.DisplayName0 (normalized with version)",
        "version": "v_Add_Remove_Programs.Version0 (normalized with product)",
        "installations": "v_Add_Remove_Programs.ResourceID (count of distinct devices)" + _MANAGED,
    },
    "deployment": {
        "deployment_id": "v_DeploymentSummary.AssignmentID (programs, task sequences: OfferID)",
        "deployment_name": "v_DeploymentSummary.SoftwareName",
        "collection_name": "v_DeploymentSummary.CollectionName",
        "feature_type": "v_DeploymentSummary.FeatureType (code to name)",
        "intent": "v_DeploymentSummary.DeploymentIntent",
        "targeted": "v_DeploymentSummary.NumberTotal",
        "success_rate": "v_DeploymentSummary.NumberSuccess / NumberTotal",
        "error_rate": "v_DeploymentSummary.NumberErrors / NumberTotal",
        "in_progress_rate": "v_DeploymentSummary.NumberInProgress / NumberTotal",
        "unknown_rate": "v_DeploymentSummary.NumberUnknown / NumberTotal",
        "created": "v_DeploymentSummary.CreationTime",
        "has_deadline": "v_DeploymentSummary.EnforcementDeadline (is set)",
    },
    "package": {
        "package_id": "v_Package.PackageID",
        "name": "v_Package.Name",
        "manufacturer": "v_Package.Manufacturer",
        "version": "v_Package.Version",
        "description": "v_Package.Description",
        "source_path": "v_Package.PkgSourcePath",
        "package_type": "v_Package.PackageType",
        "program_count": "v_Program.PackageID (count per package)",
        "deployment_count": "v_Advertisement.PackageID (count per package)",
        "source_date": "v_Package.SourceDate",
    },
    "configuration_item": {
        "ci_id": "v_ConfigurationItems.CI_ID",
        "name": "v_LocalizedCIProperties_SiteLoc.DisplayName",
        "description": "v_LocalizedCIProperties_SiteLoc.Description",
        "created_by": "v_ConfigurationItems.CreatedBy",
        "ci_type": "v_ConfigurationItems.CIType_ID (code to name)",
        "is_user_defined": "v_ConfigurationItems.IsUserDefined",
        "rule_count": "v_CIRelation.ToCIID (distinct rules per baseline, RelationType 2, 3, 4)",
        "targeted": "v_BaselineTargetedComputers.ResourceID (count of distinct devices)",
        "evaluated": "v_CICurrentComplianceStatus.ComplianceState (count of reports)",
        "compliant_rate": "v_CICurrentComplianceStatus.ComplianceState (share of state 1)",
        "noncompliant_rate": "v_CICurrentComplianceStatus.ComplianceState (share of state 2)",
        "error_rate": "v_CICurrentComplianceStatus.ComplianceState (share of state 4)",
        "created": "v_ConfigurationItems.DateCreated",
    },
    "device": {
        "device_id": "v_R_System.SMS_Unique_Identifier0",
        "host_name": "v_R_System.Netbios_Name0",
        "user_name": "v_R_System.User_Name0",
        "os_caption": "v_GS_OPERATING_SYSTEM.Caption0",
        "os_version": "v_GS_OPERATING_SYSTEM.Version0",
        "os_family": "derived from os_caption and os_version",
        "os_release": "derived from os_caption and os_version",
        "os_edition": "derived from os_caption and os_version",
        "architecture": "v_GS_OPERATING_SYSTEM.OSArchitecture0",
        "manufacturer": "v_GS_COMPUTER_SYSTEM.Manufacturer0",
        "model": "v_GS_COMPUTER_SYSTEM.Model0",
        "model_family": "derived from manufacturer and model",
        "hypervisor": "derived from manufacturer and model",
        "cpu_name": "v_GS_PROCESSOR.Name0",
        "cpu_family": "derived from cpu_name",
        "cores": "v_GS_PROCESSOR.NumberOfCores0 (sum over sockets)",
        "memory_gb": "v_GS_X86_PC_MEMORY.TotalPhysicalMemory0 (KiB rounded to GiB)",
        "system_disk_gb": "v_GS_LOGICAL_DISK.Size0 (C:, MiB to GiB)",
        "chassis_type": "v_GS_SYSTEM_ENCLOSURE.ChassisTypes0",
        "chassis": "derived from chassis_type",
        "bios_release_year": "v_GS_PC_BIOS.ReleaseDate0 (year)",
        "client_version": "v_R_System.Client_Version0",
        "software_count": "v_Add_Remove_Programs.ResourceID (count of entries per device)",
    },
}
