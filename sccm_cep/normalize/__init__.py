"""Normalization of raw SCCM inventory values into canonical, comparable ones: publishers,
product names and versions, Windows releases, ConfigMgr versions and hardware, and the closed
vocabularies of low-cardinality fields (architecture, site roles, site type and status).

Every function is pure (the only I/O is reading the catalogs in ``data/`` once), accepts
None and hostile text without raising, and cuts overlong input before parsing it.
"""

from __future__ import annotations

from sccm_cep.normalize.cpu import cpu_family, cpu_model
from sccm_cep.normalize.hardware import (
    FORM_FACTORS,
    chassis_name,
    form_factor,
    hardware_model_name,
    hardware_vendor,
    hypervisor,
    model_family,
)
from sccm_cep.normalize.product import ProductName, split_product
from sccm_cep.normalize.publisher import normalize_publisher, publisher_key
from sccm_cep.normalize.sccm import sccm_build, sccm_release
from sccm_cep.normalize.stats import NormalizationStats, NormalizationSummary
from sccm_cep.normalize.version import clean_version, major_minor
from sccm_cep.normalize.vocabulary import (
    OTHER,
    chassis_code,
    os_architecture,
    sccm_version,
    site_role,
    site_status,
    site_type,
    vocabulary,
)
from sccm_cep.normalize.windows import OsRelease, windows_release

__all__ = [
    "FORM_FACTORS",
    "OTHER",
    "NormalizationStats",
    "NormalizationSummary",
    "OsRelease",
    "ProductName",
    "chassis_code",
    "chassis_name",
    "clean_version",
    "cpu_family",
    "cpu_model",
    "form_factor",
    "hardware_model_name",
    "hardware_vendor",
    "hypervisor",
    "major_minor",
    "model_family",
    "normalize_publisher",
    "os_architecture",
    "publisher_key",
    "sccm_build",
    "sccm_release",
    "sccm_version",
    "site_role",
    "site_status",
    "site_type",
    "split_product",
    "vocabulary",
    "windows_release",
]
