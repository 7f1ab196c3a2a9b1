"""Script JSON into canonical records: object rows from the site server, aggregates counted over clients.

Rows are shaped like the SQL connector's statement rows and mapped by its row mapper, so both
sources give the same records for the same site. Clients are counted in memory that grows with
distinct values, not with clients; only ``device`` records (level enhanced) keep one row per client.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sccm_cep import model as m

from ..rows import record_values, type_hints

__all__ = ["CLIENT_RECORDS", "SITE_RECORDS", "ClientCounts", "site_rows"]

Row = dict[str, Any]

# -- site server (object records) -----------------------------------------------------------------

#: record → (script, raw fields the script can provide).
SITE_RECORDS: dict[str, tuple[str, frozenset[str]]] = {
    "site": (
        "site",
        frozenset({"site_code", "parent_site_code", "site_type", "version", "build_number", "status"}),
    ),
    "site_role": ("site_roles", frozenset({"role_name"})),
    "client_totals": ("site_clients", frozenset({"discovered", "managed", "active", "virtual"})),
    "package": (
        "packages",
        frozenset({"package_id", "package_type", "source_date", "program_count", "deployment_count"}),
    ),
    "deployment": (
        "deployments",
        frozenset(
            {
                "deployment_id",
                "feature_type",
                "intent",
                "targeted",
                "created",
                "has_deadline",
                "success_rate",
                "error_rate",
                "in_progress_rate",
                "unknown_rate",
            }
        ),
    ),
    "configuration_item": (
        "baselines",
        frozenset(
            {
                "ci_id",
                "ci_type",
                "is_user_defined",
                "created",
                "rule_count",
                "targeted",
                "evaluated",
                "compliant_rate",
                "noncompliant_rate",
                "error_rate",
            }
        ),
    ),
}


def _site(o: Mapping[str, Any]) -> Row:
    return {
        "site_code": o.get("SiteCode"),
        "parent_site_code": o.get("ReportingSiteCode"),
        "site_type": o.get("Type"),
        "version": o.get("Version"),
        "build_number": o.get("BuildNumber"),
        "status": o.get("Status"),
    }


def _site_role(o: Mapping[str, Any]) -> Row:
    return {"role_name": o.get("RoleName"), "server_count": o.get("ServerCount")}


def _client_totals(o: Mapping[str, Any]) -> Row:
    return {
        "discovered": o.get("Discovered"),
        "managed": o.get("Managed"),
        "active": o.get("Active"),
        "virtual": o.get("Virtual"),
    }


def _package(o: Mapping[str, Any]) -> Row:
    return {
        "package_id": o.get("PackageID"),
        "package_type": o.get("PackageType"),
        "source_date": o.get("SourceDate"),
        "program_count": o.get("ProgramCount"),
        "deployment_count": o.get("DeploymentCount"),
    }


def _deployment(o: Mapping[str, Any]) -> Row:
    return {
        "_assignment_id": o.get("AssignmentID"),
        "_offer_id": o.get("DeploymentID"),
        "_feature_type": o.get("FeatureType"),
        "feature_type": o.get("FeatureType"),
        "intent": o.get("DeploymentIntent"),
        "targeted": o.get("NumberTargeted"),
        "created": o.get("CreationTime"),
        "has_deadline": True if o.get("HasDeadline") else None,
        "_success": o.get("NumberSuccess"),
        "_errors": o.get("NumberErrors"),
        "_in_progress": o.get("NumberInProgress"),
        "_unknown": o.get("NumberUnknown"),
    }


def _baseline(o: Mapping[str, Any]) -> Row:
    return {
        "ci_id": o.get("CI_ID"),
        "ci_type": o.get("CIType_ID"),
        "is_user_defined": o.get("IsUserDefined"),
        "created": o.get("DateCreated"),
    }


def _baseline_states(o: Mapping[str, Any]) -> dict[int, int]:
    """Reports per ComplianceState (0 unknown, 1 compliant, 2 non-compliant, 4 error) from the
    provider's per-baseline summary: computers that evaluated it and are in none of the three
    counted states are unknown, as rows of state 0 are in the SQL view."""
    counts = {
        1: _int(o.get("Compliant")) or 0,
        2: _int(o.get("NonCompliant")) or 0,
        4: _int(o.get("Failed")) or 0,
    }
    unknown = (_int(o.get("Evaluated")) or 0) - sum(counts.values())
    return {**({0: unknown} if unknown > 0 else {}), **{k: v for k, v in counts.items() if v}}


_SITE_MAPPERS: dict[str, Callable[[Mapping[str, Any]], Row]] = {
    "site": _site,
    "site_role": _site_role,
    "client_totals": _client_totals,
    "package": _package,
    "deployment": _deployment,
    "configuration_item": _baseline,
}


def site_rows(
    rt: type[m.Record], objects: Sequence[Mapping[str, Any]], fields: frozenset[str]
) -> Iterator[m.Record]:
    """Records of ``rt`` from a site-server script's objects, reduced to ``fields``."""
    hints = type_hints(rt)
    usable = fields & SITE_RECORDS[rt.NAME][1]
    extra: dict[str, dict[Any, Any]] = {"rules": {}, "targets": {}, "states": {}}
    if rt is m.ConfigurationItem:
        for o in objects:
            ci = o.get("CI_ID")
            extra["rules"][ci] = o.get("RuleCount")
            extra["targets"][ci] = o.get("Targeted")
            extra["states"][ci] = _baseline_states(o)
    mapper = _SITE_MAPPERS[rt.NAME]
    for o in objects:
        yield rt(**record_values(rt, hints, mapper(o), usable, extra))


# -- clients (aggregate records) ------------------------------------------------------------------

#: record → raw fields clients can provide.
CLIENT_RECORDS: dict[str, frozenset[str]] = {
    "client_version": frozenset({"client_version"}),
    "hardware_model": frozenset({"manufacturer", "model"}),
    "hardware_cpu": frozenset({"cpu_name", "cores", "logical_processors"}),
    "hardware_memory": frozenset({"memory_gb"}),
    "hardware_disk": frozenset({"system_disk_gb", "free_percent"}),
    "hardware_chassis": frozenset({"chassis_type"}),
    "hardware_bios": frozenset({"release_year"}),
    "operating_system": frozenset({"caption", "version", "architecture", "product_type"}),
    "software": frozenset({"publisher", "product", "version"}),
    "device": frozenset(
        {
            "device_id",
            "os_caption",
            "os_version",
            "architecture",
            "manufacturer",
            "model",
            "cpu_name",
            "cores",
            "memory_gb",
            "system_disk_gb",
            "chassis_type",
            "bios_release_year",
            "client_version",
            "software_count",
        }
    ),
}


def _list(value: Any) -> list[Mapping[str, Any]]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [i for i in items if isinstance(i, Mapping)]


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _year(value: Any) -> int | None:
    try:
        return datetime.fromisoformat(str(value)[:19]).year if value else None
    except ValueError:
        return None


def _inventory_rows(inv: Mapping[str, Any]) -> dict[str, list[Row]]:
    """One device's distinct raw rows per record, as the SQL statements would group them."""
    out: dict[str, list[Row]] = {"client_version": [{"client_version": inv.get("ClientVersion")}]}
    out["operating_system"] = [
        {
            "caption": o.get("Caption"),
            "version": o.get("Version"),
            "architecture": o.get("OSArchitecture"),
            "product_type": o.get("ProductType"),
        }
        for o in _list(inv.get("OperatingSystem"))
    ]
    systems = _list(inv.get("ComputerSystem"))
    out["hardware_model"] = [
        {"manufacturer": c.get("Manufacturer"), "model": c.get("Model")} for c in systems
    ]
    memory = [_int(c.get("TotalPhysicalMemory")) for c in systems]
    out["hardware_memory"] = [
        {"memory_gb": None if b is None else (b // 1024 + 524288) // 1048576} for b in memory
    ]
    cpus = _list(inv.get("Processors"))
    if cpus:
        names = [str(c["Name"]) for c in cpus if c.get("Name") is not None]
        cores = [v for v in (_int(c.get("NumberOfCores")) for c in cpus) if v is not None]
        logical = [v for v in (_int(c.get("NumberOfLogicalProcessors")) for c in cpus) if v is not None]
        out["hardware_cpu"] = [
            {
                "cpu_name": max(names) if names else None,
                "cores": sum(cores) if cores else None,
                "logical_processors": sum(logical) if logical else None,
            }
        ]
    disks = []
    for d in _list(inv.get("SystemDisk")):
        size, free = _int(d.get("Size")), _int(d.get("FreeSpace"))
        pct = (free * 10 // size) * 10 if size and free is not None and size > 0 else None
        disks.append({"system_disk_gb": None if size is None else size // 2**30, "free_percent": pct})
    out["hardware_disk"] = disks
    chassis = []
    for e in _list(inv.get("Enclosures")):
        types = e.get("ChassisTypes")
        first = types[0] if isinstance(types, list) and types else types
        chassis.append({"chassis_type": None if first is None or first == [] else str(first)})
    out["hardware_chassis"] = chassis
    out["hardware_bios"] = [{"release_year": _year(b.get("ReleaseDate"))} for b in _list(inv.get("Bios"))]
    return out


def _most(values: Iterable[Any]) -> Any:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _device_row(inv: Mapping[str, Any] | None, software: Sequence[Mapping[str, Any]] | None) -> Row:
    """One device's record row, aggregated as the SQL connector's per-device statement does."""
    inv = inv or {}
    os_ = _list(inv.get("OperatingSystem"))
    cs = _list(inv.get("ComputerSystem"))
    cpus = _list(inv.get("Processors"))
    cores = [v for v in (_int(c.get("NumberOfCores")) for c in cpus) if v is not None]
    memory = _most(_int(c.get("TotalPhysicalMemory")) for c in cs)
    size = _most(_int(d.get("Size")) for d in _list(inv.get("SystemDisk")))
    chassis = []
    for e in _list(inv.get("Enclosures")):
        types = e.get("ChassisTypes")
        first = types[0] if isinstance(types, list) and types else types
        if first is not None and first != []:
            chassis.append(str(first))
    bios = _most(str(b["ReleaseDate"])[:19] for b in _list(inv.get("Bios")) if b.get("ReleaseDate"))
    return {
        "device_id": inv.get("ClientId"),
        "os_caption": _most(o.get("Caption") for o in os_),
        "os_version": _most(o.get("Version") for o in os_),
        "architecture": _most(o.get("OSArchitecture") for o in os_),
        "manufacturer": _most(c.get("Manufacturer") for c in cs),
        "model": _most(c.get("Model") for c in cs),
        "cpu_name": _most(c.get("Name") for c in cpus),
        "cores": sum(cores) if cores else None,
        "memory_gb": None if memory is None else (memory // 1024 + 524288) // 1048576,
        "system_disk_gb": None if size is None else size // 2**30,
        "chassis_type": min(chassis) if chassis else None,
        "bios_release_year": _year(bios),
        "client_version": inv.get("ClientVersion"),
        "software_count": len(software) if software else None,
    }


def _software_rows(items: Iterable[Mapping[str, Any]]) -> list[Row]:
    return [
        {"publisher": s.get("Publisher"), "product": s.get("DisplayName"), "version": s.get("DisplayVersion")}
        for s in items
    ]


class ClientCounts:
    """Device counts per distinct value combination, one counter per aggregate record."""

    def __init__(self, request_fields: Mapping[str, frozenset[str]]) -> None:
        self.keys: dict[str, tuple[str, ...]] = {
            name: tuple(sorted(request_fields.get(name, frozenset()) & raw))
            for name, raw in CLIENT_RECORDS.items()
            if request_fields.get(name) and name != "device"
        }
        self.counts: dict[str, Counter[tuple[Any, ...]]] = {name: Counter() for name in self.keys}
        self.device_fields = request_fields.get("device", frozenset()) & CLIENT_RECORDS["device"]
        self.devices: list[Row] = []
        self.clients = 0

    def add(self, inventory: Mapping[str, Any] | None, software: Sequence[Mapping[str, Any]] | None) -> None:
        """Count one device (each distinct key once, as COUNT(DISTINCT ResourceID) does)."""
        self.clients += 1
        if self.device_fields:
            row = _device_row(inventory, software)
            self.devices.append({k: v for k, v in row.items() if k in self.device_fields})
        rows = _inventory_rows(inventory) if inventory is not None else {}
        if software is not None:
            rows["software"] = _software_rows(software)
        for name, key in self.keys.items():
            distinct = {tuple(_hashable(r.get(f)) for f in key) for r in rows.get(name, [])}
            self.counts[name].update(distinct)

    def records(self, rt: type[m.Record], fields: frozenset[str]) -> Iterator[m.Record]:
        """Records of ``rt`` reduced to ``fields``: one per device, or one per distinct key with its count."""
        hints = type_hints(rt)
        if rt is m.Device:
            for device in self.devices:
                yield rt(**record_values(rt, hints, device, fields, {}))
            return
        key = self.keys.get(rt.NAME, ())
        weight = rt.WEIGHT or "device_count"
        for values, count in self.counts.get(rt.NAME, Counter()).items():
            row: Row = dict(zip(key, values, strict=True))
            row[weight] = count
            yield rt(**record_values(rt, hints, row, fields, {}))


def _hashable(value: Any) -> Any:
    if isinstance(value, list | dict):
        return repr(value)
    return value
