"""Mapping of SCCM rows (SQL view rows or WMI objects with the same property names) to canonical
records: SCCM's numeric codes to names, shares from counts, tolerant type coercion. Shared by the
SQL and WinRM connectors so both produce identical records for the same site.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import date, datetime
from functools import lru_cache
from typing import Any, get_type_hints

from sccm_cep import model as m

__all__ = [
    "CI_TYPES",
    "FEATURE_TYPES",
    "INTENTS",
    "PACKAGE_TYPES",
    "PRODUCT_TYPES",
    "SITE_STATUS",
    "SITE_TYPES",
    "as_int",
    "as_text",
    "deployment_key",
    "record_values",
    "type_hints",
]

# SMS_Site WMI class, Type and Status (learn.microsoft.com/mem/configmgr/develop/reference/core/
# servers/configure/sms_site-server-wmi-class). Closed sets: any other code comes out as "other".
SITE_TYPES = {1: "secondary", 2: "primary", 4: "central_administration"}
SITE_STATUS = {
    1: "active",
    2: "pending",
    3: "failed",
    4: "deleted",
    5: "upgrade",
    6: "secondary_deinstall_failed",
    7: "secondary_upgrade_failed",
    8: "secondary_recovery_in_progress",
    9: "secondary_recovery_failed",
}
# SMS_DeploymentSummary WMI class, FeatureType (learn.microsoft.com/mem/configmgr/develop/reference/
# apps/sms_deploymentsummary-server-wmi-class).
FEATURE_TYPES = {
    1: "application",
    2: "program",
    3: "mobile_program",
    4: "script",
    5: "software_update",
    6: "baseline",
    7: "task_sequence",
    8: "content_distribution",
    9: "dp_group",
    10: "dp_health",
    11: "configuration_policy",
    28: "abstract_ci",
}
INTENTS = {1: "required", 2: "available", 3: "simulate"}
# SMS_PackageBaseclass WMI class, PackageType (learn.microsoft.com/mem/configmgr/develop/reference/
# core/servers/configure/sms_packagebaseclass-server-wmi-class) lists 0-8 and 257-259; 8 is the
# content of an application. 260 (VHD) is not in Microsoft's table, only in public admin queries.
PACKAGE_TYPES = {
    0: "package",
    3: "driver",
    4: "task_sequence",
    5: "software_update",
    6: "device_setting",
    7: "virtual_application",
    8: "application_content",
    257: "os_image",
    258: "boot_image",
    259: "os_upgrade",
    260: "vhd",
}
PRODUCT_TYPES = {1: "workstation", 2: "domain_controller", 3: "server"}
# CIType_ID (SMS_ConfigurationItemLatestBaseClass WMI class): 2 Baseline, 4 BusinessPolicy
# (General), i.e. a settings configuration item; 3 is OperatingSystem.
CI_TYPES = {2: "configuration_baseline", 4: "configuration_item"}
# ComplianceState (SMS_G_System_CI_ComplianceState WMI class): 0 unknown, 1 compliant,
# 2 non-compliant, 4 error. Microsoft lists no 3: such rows count as evaluated, in no rate.
COMPLIANT, NONCOMPLIANT, COMPLIANCE_ERROR = 1, 2, 4
#: FeatureType of classic deployments (program 2, task sequence 7), keyed by their advertisement.
CLASSIC_FEATURES = (2, 7)


def type_hints(rt: type[m.Record]) -> dict[str, Any]:
    return get_type_hints(rt)


def record_values(
    rt: type[m.Record],
    hints: Mapping[str, Any],
    row: Mapping[str, Any],
    fields: frozenset[str],
    extra: Mapping[str, Mapping[Any, Any]],
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, kind in _wanted(rt, hints, fields):
        if name in row:
            value = row[name]
            out[name] = None if value is None else _COERCE[kind](value)
    name = rt.NAME
    if name == "site":
        if "site_type" in row:
            out["site_type"] = _closed(SITE_TYPES, row["site_type"])
        if "status" in row:
            out["status"] = _closed(SITE_STATUS, row["status"])
    elif name == "operating_system" and "product_type" in row:
        out["product_type"] = PRODUCT_TYPES.get(as_int(row["product_type"]) or -1)
    elif name == "deployment":
        out.update(_deployment_values(row, fields))
    elif name == "package" and "package_type" in row:
        out["package_type"] = PACKAGE_TYPES.get(as_int(row["package_type"]) or 0, "other")
    elif name == "configuration_item":
        out.update(_baseline_values(row, fields, extra))
    return {k: val for k, val in out.items() if k in fields or k == rt.WEIGHT}


def _closed(names: Mapping[int, str], code: Any) -> str | None:
    """The name of an SCCM code from a closed set; an unknown code is "other", NULL stays None."""
    if code is None:
        return None
    n = as_int(code)
    return "other" if n is None else names.get(n, "other")


def deployment_key(feature_type: Any, assignment_id: Any, offer_id: Any) -> str | None:
    """A deployment's identifier the way SCCM keys it: programs and task sequences by their
    advertisement (v_DeploymentSummary.OfferID = v_Advertisement.AdvertisementID; the WMI class
    calls it DeploymentID), everything else by its AssignmentID."""
    if as_int(feature_type) in CLASSIC_FEATURES:
        return as_text(offer_id)
    return as_text(assignment_id)


def _deployment_values(row: Mapping[str, Any], fields: frozenset[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "deployment_id" in fields and "_assignment_id" in row:
        out["deployment_id"] = deployment_key(
            row.get("_feature_type"), row["_assignment_id"], row.get("_offer_id")
        )
    if "feature_type" in row:
        out["feature_type"] = FEATURE_TYPES.get(as_int(row["feature_type"]) or -1, "other")
    if "intent" in row:
        out["intent"] = INTENTS.get(as_int(row["intent"]) or -1)
    if "has_deadline" in row:
        out["has_deadline"] = row["has_deadline"] is not None
    targeted = as_int(row.get("targeted"))
    for rate, column in (
        ("success_rate", "_success"),
        ("error_rate", "_errors"),
        ("in_progress_rate", "_in_progress"),
        ("unknown_rate", "_unknown"),
    ):
        if rate in fields:
            out[rate] = _share(as_int(row.get(column)), targeted)
    return out


def _baseline_values(
    row: Mapping[str, Any], fields: frozenset[str], extra: Mapping[str, Mapping[Any, Any]]
) -> dict[str, Any]:
    ci = row["ci_id"]
    out: dict[str, Any] = {"ci_id": as_text(ci)}
    if "ci_type" in row:
        out["ci_type"] = CI_TYPES.get(as_int(row["ci_type"]) or -1, "other")
    if "rule_count" in fields:
        out["rule_count"] = as_int(extra["rules"].get(ci)) or 0
    if "targeted" in fields:
        out["targeted"] = as_int(extra["targets"].get(ci)) or 0
    states: Mapping[int, int] = extra["states"].get(ci, {})
    evaluated = sum(states.values())
    if "evaluated" in fields:
        out["evaluated"] = evaluated
    out["compliant_rate"] = _share(states.get(COMPLIANT, 0), evaluated)
    out["noncompliant_rate"] = _share(states.get(NONCOMPLIANT, 0), evaluated)
    out["error_rate"] = _share(states.get(COMPLIANCE_ERROR, 0), evaluated)
    return out


def _share(part: int | None, whole: int | None) -> float | None:
    if not whole or part is None:
        return None
    return min(max(part / whole, 0.0), 1.0)


_FIELD_NAMES: dict[type[m.Record], tuple[str, ...]] = {}


def _field_names(rt: type[m.Record]) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(rt)
    if names is None:
        names = _FIELD_NAMES[rt] = tuple(f.name for f in dataclasses.fields(rt))
    return names


_WANTED: dict[tuple[type[m.Record], frozenset[str]], tuple[tuple[str, str], ...]] = {}


def _wanted(
    rt: type[m.Record], hints: Mapping[str, Any], fields: frozenset[str]
) -> tuple[tuple[str, str], ...]:
    """The record's fields a row may fill as they are (those asked for, and the weight), each
    with the kind its type hint asks for: worked out once per record type and field set."""
    key = (rt, fields)
    found = _WANTED.get(key)
    if found is None:
        names = [n for n in _field_names(rt) if n in fields or n == rt.WEIGHT]
        found = _WANTED[key] = tuple((n, _kind(hints[n])) for n in names)
    return found


@lru_cache(maxsize=256)
def _kind(hint: Any) -> str:
    """What a field's type hint asks for, worked out once per hint (not once per value)."""
    text = str(hint)
    return next((kind for kind in ("datetime", "bool", "float", "int") if kind in text), "text")


def _as_bool(value: Any) -> bool:
    return bool(as_int(value))


def _as_float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def as_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return int(value) if isinstance(value, bool) else None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    try:
        return datetime.fromisoformat(str(value).strip()[:32])
    except ValueError:
        return None


#: A non-NULL value as the kind of its field's type hint asks for (see ``_kind``).
_COERCE: dict[str, Callable[[Any], Any]] = {
    "text": as_text,
    "int": as_int,
    "datetime": _when,
    "bool": _as_bool,
    "float": _as_float,
}
