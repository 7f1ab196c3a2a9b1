"""One SQLAlchemy Core statement per canonical record type, built from the fields asked for.

Aggregate records are counted on the server (GROUP BY, COUNT DISTINCT ResourceID), so what
crosses the wire grows with distinct values, not with devices. Only columns behind the
requested fields are selected: a field the policy drops is never read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    case,
    cast,
    extract,
    func,
    literal,
    select,
)

from sccm_cep import model as m

from . import views as v

__all__ = ["AUX", "PLANS", "RULE_RELATIONS", "Absent", "Plan", "managed_ids"]

Expr = ColumnElement[Any]
#: Columns this site lacks, as "view.column": a builder leaves out what reads them.
Absent = frozenset[str]
NONE_ABSENT: Absent = frozenset()


def flag(col: Expr) -> ColumnElement[bool]:
    """True where an SCCM int/bit flag is 1 (NULL counts as 0); works for int and boolean."""
    return func.coalesce(cast(col, Integer), 0) == 1


def not_flag(col: Expr) -> ColumnElement[bool]:
    return func.coalesce(cast(col, Integer), 0) == 0


def managed_ids() -> Select[Any]:
    """ResourceIDs of managed, current devices: a client, neither obsolete nor decommissioned."""
    s = v.R_SYSTEM.c
    return select(s.ResourceID).where(flag(s.Client0), not_flag(s.Obsolete0), not_flag(s.Decommissioned0))


@dataclass(frozen=True, slots=True)
class Plan:
    """How to read one record type: its views, and the column behind each raw field."""

    record_type: type[m.Record]
    views: tuple[str, ...]
    build: Callable[[frozenset[str], Absent], Select[Any]]
    source: str

    def statement(self, fields: frozenset[str], absent: Absent = NONE_ABSENT) -> Select[Any]:
        return self.build(fields, absent)


def _grouped(
    columns: Mapping[str, Expr],
    fields: frozenset[str],
    weight: str,
    count: Expr,
    where: ColumnElement[bool] | None,
) -> Select[Any]:
    chosen = [(name, expr) for name, expr in columns.items() if name in fields]
    stmt = select(*(expr.label(name) for name, expr in chosen), count.label(weight))
    if where is not None:
        stmt = stmt.where(where)
    return stmt.group_by(*(expr for _, expr in chosen))


def _objects(columns: Mapping[str, Expr], fields: frozenset[str]) -> list[Any]:
    return [expr.label(name) for name, expr in columns.items() if name in fields]


# -- site_profile ---------------------------------------------------------------------------


def _site(fields: frozenset[str], absent: Absent = NONE_ABSENT) -> Select[Any]:
    c = v.SITE.c
    cols = {
        "site_code": c.SiteCode,
        "site_name": c.SiteName,
        "server_name": c.ServerName,
        "parent_site_code": c.ReportingSiteCode,
        "site_type": c.Type,
        "version": c.Version,
        "build_number": c.BuildNumber,
        "status": c.Status,
        "install_dir": c.InstallDir,
    }
    return select(*_objects(cols, fields | {"site_code"})).order_by(c.SiteCode)


def _site_role(fields: frozenset[str], absent: Absent = NONE_ABSENT) -> Select[Any]:
    c = v.SYSTEM_RESOURCE_LIST.c
    return _grouped(
        {"role_name": c.RoleName}, fields, "server_count", func.count(func.distinct(c.ServerName)), None
    )


def _client_version(fields: frozenset[str], absent: Absent = NONE_ABSENT) -> Select[Any]:
    c = v.R_SYSTEM.c
    where = and_(flag(c.Client0), not_flag(c.Obsolete0), not_flag(c.Decommissioned0))
    return _grouped({"client_version": c.Client_Version0}, fields, "device_count", func.count(), where)


def _client_totals(fields: frozenset[str], absent: Absent = NONE_ABSENT) -> Select[Any]:
    c = v.R_SYSTEM.c
    managed = and_(flag(c.Client0), not_flag(c.Obsolete0), not_flag(c.Decommissioned0))

    def total(cond: ColumnElement[bool]) -> Expr:
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

    cols = {
        "discovered": total(not_flag(c.Decommissioned0)),
        "managed": total(managed),
        "active": total(and_(managed, flag(c.Active0))),
        "virtual": total(and_(managed, flag(c.Is_Virtual_Machine0))),
    }
    return select(*_objects(cols, fields), literal(1).label("_one"))


# -- hardware -------------------------------------------------------------------------------


def _per_device(count_of: Expr) -> Expr:
    return func.count(func.distinct(count_of))


def _hardware_model(fields: frozenset[str], absent: Absent = NONE_ABSENT) -> Select[Any]:
    c = v.COMPUTER_SYSTEM.c
    cols = {"manufacturer": c.Manufacturer0, "model": c.Model0}
    return _grouped(cols, fields, "device_count", _per_device(c.ResourceID), c.ResourceID.in_(managed_ids()))


def _hardware_cpu(fields: frozenset[str], absent: Absent = NONE_ABSENT) -> Select[Any]:
    c = v.PROCESSOR.c
    # One row per socket: first sum per device, then count devices per configuration.
    per_device = (
        select(
            c.ResourceID,
            func.max(c.Name0).label("cpu_name"),
            func.sum(c.NumberOfCores0).label("cores"),
            func.sum(c.NumberOfLogicalProcessors0).label("logical_processors"),
        )
        .where(c.ResourceID.in_(managed_ids()))
        .group_by(c.ResourceID)
        .subquery("per_device")
    )
    d = per_device.c
    cols = {"cpu_name": d.cpu_name, "cores": d.cores, "logical_processors": d.logical_processors}
    return _grouped(cols, fields, "device_count", func.count(), None)


def _hardware_memory(fields: frozenset[str], absent: Absent = NONE_ABSENT) -> Select[Any]:
    c = v.MEMORY.c
    gib = (c.TotalPhysicalMemory0 + 524288) // 1048576  # KiB to whole GiB, rounded
    return _grouped(
        {"memory_gb": gib}, fields, "device_count", _per_device(c.ResourceID), c.ResourceID.in_(managed_ids())
    )


def _hardware_disk(fields: frozenset[str], absent: Absent = NONE_ABSENT) -> Select[Any]:
    c = v.LOGICAL_DISK.c
    size_gb = c.Size0 // 1024  # MiB to GiB
    free_pct = case((c.Size0 > 0, (c.FreeSpace0 * 10 // c.Size0) * 10), else_=None)
    where = and_(c.DeviceID0 == "C:", c.DriveType0 == 3, c.ResourceID.in_(managed_ids()))
    return _grouped(
        {"system_disk_gb": size_gb, "free_percent": free_pct},
        fields,
        "device_count",
        _per_device(c.ResourceID),
        where,
    )


def _hardware_chassis(fields: frozenset[str], absent: Absent = NONE_ABSENT) -> Select[Any]:
    c = v.ENCLOSURE.c
    return _grouped(
        {"chassis_type": c.ChassisTypes0},
        fields,
        "device_count",
        _per_device(c.ResourceID),
        c.ResourceID.in_(managed_ids()),
    )


def _hardware_bios(fields: frozenset[str], absent: Absent = NONE_ABSENT) -> Select[Any]:
    c = v.BIOS.c
    return _grouped(
        {"release_year": extract("year", c.ReleaseDate0)},
        fields,
        "device_count",
        _per_device(c.ResourceID),
        c.ResourceID.in_(managed_ids()),
    )


# -- operating systems, software -----------------------------------------------------------


def _operating_system(fields: frozenset[str], absent: Absent = NONE_ABSENT) -> Select[Any]:
    c = v.OPERATING_SYSTEM.c
    cols = {
        "caption": c.Caption0,
        "version": c.Version0,
        "architecture": c.OSArchitecture0,
        "product_type": c.ProductType0,
    }
    return _grouped(cols, fields, "device_count", _per_device(c.ResourceID), c.ResourceID.in_(managed_ids()))


def _software(fields: frozenset[str], absent: Absent = NONE_ABSENT) -> Select[Any]:
    c = v.ARP.c
    cols = {"publisher": c.Publisher0, "product": c.DisplayName0, "version": c.Version0}
    return _grouped(cols, fields, "installations", _per_device(c.ResourceID), c.ResourceID.in_(managed_ids()))


# -- deployments, packages, baselines ------------------------------------------------------


def _deployment(fields: frozenset[str], absent: Absent = NONE_ABSENT) -> Select[Any]:
    # Deployments of every FeatureType (views.DEPLOYMENT_SUMMARY): applications (1) and software update
    # groups (5) as well as programs, baselines and task sequences.
    c = v.DEPLOYMENT_SUMMARY.c
    cols = {
        # The key depends on the kind (connectors/rows.py deployment_key): AssignmentID, or for
        # programs and task sequences the advertisement's id (OfferID).
        "_assignment_id": c.AssignmentID,
        "_offer_id": c.OfferID,
        "_feature_type": c.FeatureType,
        "deployment_name": c.SoftwareName,
        "collection_name": c.CollectionName,
        "feature_type": c.FeatureType,
        "intent": c.DeploymentIntent,
        "targeted": c.NumberTotal,
        "created": c.CreationTime,
        "has_deadline": c.EnforcementDeadline,
        "_success": c.NumberSuccess,
        "_errors": c.NumberErrors,
        "_in_progress": c.NumberInProgress,
        "_unknown": c.NumberUnknown,
    }
    rates = {
        "success_rate": "_success",
        "error_rate": "_errors",
        "in_progress_rate": "_in_progress",
        "unknown_rate": "_unknown",
    }
    wanted = set(fields) | {rates[f] for f in fields if f in rates}
    if wanted & set(rates.values()):
        wanted.add("targeted")
    if "deployment_id" in fields:
        wanted |= {"_assignment_id", "_offer_id", "_feature_type"}
    return select(*_objects(cols, frozenset(wanted))).order_by(c.AssignmentID)


def _package(fields: frozenset[str], absent: Absent = NONE_ABSENT) -> Select[Any]:
    # Packages of every PackageType (views.PACKAGE: regular, driver, task sequence, software update,
    # application content, OS image, boot image, OS upgrade, ...), as SMS_PackageBaseclass gives them.
    p, g, a = v.PACKAGE.c, v.PROGRAM.c, v.ADVERTISEMENT.c
    programs = select(g.PackageID, func.count().label("n")).group_by(g.PackageID).subquery("prg")
    adverts = select(a.PackageID, func.count().label("n")).group_by(a.PackageID).subquery("adv")
    cols = {
        "package_id": p.PackageID,
        "name": p.Name,
        "manufacturer": p.Manufacturer,
        "version": p.Version,
        "description": p.Description,
        "source_path": p.PkgSourcePath,
        "package_type": p.PackageType,
        "source_date": p.SourceDate,
        "program_count": func.coalesce(programs.c.n, 0),
        "deployment_count": func.coalesce(adverts.c.n, 0),
    }
    stmt = select(*_objects(cols, fields)).select_from(v.PACKAGE)
    if "program_count" in fields:
        stmt = stmt.outerjoin(programs, programs.c.PackageID == p.PackageID)
    if "deployment_count" in fields:
        stmt = stmt.outerjoin(adverts, adverts.c.PackageID == p.PackageID)
    return stmt.order_by(p.PackageID)


def baseline_ids(absent: Absent = NONE_ABSENT) -> Select[Any]:
    """Latest baselines (CIType_ID 2, see views.CONFIGURATION_ITEMS), without tombstoned ones where
    the view has IsTombstoned (not documented for v_ConfigurationItems)."""
    c = v.CONFIGURATION_ITEMS.c
    stmt = select(c.CI_ID).where(c.CIType_ID == 2, flag(c.IsLatest))
    if "v_ConfigurationItems.IsTombstoned" not in absent:
        stmt = stmt.where(not_flag(c.IsTombstoned))
    return stmt


def _configuration_item(fields: frozenset[str], absent: Absent = NONE_ABSENT) -> Select[Any]:
    c, loc = v.CONFIGURATION_ITEMS.c, v.LOCALIZED_CI.c
    cols = {
        "ci_id": c.CI_ID,
        "ci_type": c.CIType_ID,
        "is_user_defined": c.IsUserDefined,
        "created_by": c.CreatedBy,
        "created": c.DateCreated,
        "name": loc.DisplayName,
        "description": loc.Description,
    }
    stmt = select(*_objects(cols, fields | {"ci_id"})).select_from(v.CONFIGURATION_ITEMS)
    if fields & {"name", "description"}:
        stmt = stmt.outerjoin(v.LOCALIZED_CI, loc.CI_ID == c.CI_ID)
    return stmt.where(c.CI_ID.in_(baseline_ids(absent))).order_by(c.CI_ID)


#: The v_CIRelation types that make a configuration item a rule of a baseline: the baseline
#: requires, prohibits or optionally includes it (SMS_CIRelation RelationType 2, 3, 4; see
#: views.CI_RELATION). Self (7), derived, superseded and the application types are not rules.
RULE_RELATIONS: tuple[int, ...] = (2, 3, 4)


def rule_counts(absent: Absent = NONE_ABSENT) -> Select[Any]:
    r = v.CI_RELATION.c
    return (
        select(r.FromCIID.label("ci_id"), func.count(func.distinct(r.ToCIID)).label("n"))
        .where(r.FromCIID.in_(baseline_ids(absent)), r.RelationType.in_(RULE_RELATIONS))
        .group_by(r.FromCIID)
    )


def baseline_targets(absent: Absent = NONE_ABSENT) -> Select[Any]:
    t = v.BASELINE_TARGETS.c
    return (
        select(t.CI_ID.label("ci_id"), func.count(func.distinct(t.ResourceID)).label("n"))
        .where(t.CI_ID.in_(baseline_ids(absent)))
        .group_by(t.CI_ID)
    )


def compliance_counts(absent: Absent = NONE_ABSENT) -> Select[Any]:
    s = v.CI_COMPLIANCE.c
    return (
        select(s.CI_ID.label("ci_id"), s.ComplianceState.label("state"), func.count().label("n"))
        .where(s.CI_ID.in_(baseline_ids(absent)))
        .group_by(s.CI_ID, s.ComplianceState)
    )


#: configuration_item fields read by a second statement (merged by CI_ID in the connector).
AUX: dict[str, Callable[[Absent], Select[Any]]] = {
    "rule_count": rule_counts,
    "targeted": baseline_targets,
    "evaluated": compliance_counts,
    "compliant_rate": compliance_counts,
    "noncompliant_rate": compliance_counts,
    "error_rate": compliance_counts,
}


# -- devices (enhanced) ---------------------------------------------------------------------


def _device(fields: frozenset[str], absent: Absent = NONE_ABSENT) -> Select[Any]:
    s = v.R_SYSTEM.c

    def per_device(table: Any, **aggs: Expr) -> Any:
        rid = table.c.ResourceID
        sq = select(rid, *(e.label(k) for k, e in aggs.items())).group_by(rid)
        return sq

    os_, cs, cpu, mem, enc, bios, disk = (
        v.OPERATING_SYSTEM.c,
        v.COMPUTER_SYSTEM.c,
        v.PROCESSOR.c,
        v.MEMORY.c,
        v.ENCLOSURE.c,
        v.BIOS.c,
        v.LOGICAL_DISK.c,
    )
    groups: dict[str, tuple[Any, dict[str, Expr]]] = {
        "os": (
            v.OPERATING_SYSTEM,
            {
                "os_caption": func.max(os_.Caption0),
                "os_version": func.max(os_.Version0),
                "architecture": func.max(os_.OSArchitecture0),
            },
        ),
        "cs": (v.COMPUTER_SYSTEM, {"manufacturer": func.max(cs.Manufacturer0), "model": func.max(cs.Model0)}),
        "cpu": (v.PROCESSOR, {"cpu_name": func.max(cpu.Name0), "cores": func.sum(cpu.NumberOfCores0)}),
        "mem": (v.MEMORY, {"memory_gb": (func.max(mem.TotalPhysicalMemory0) + 524288) // 1048576}),
        "enc": (v.ENCLOSURE, {"chassis_type": func.min(enc.ChassisTypes0)}),
        "bios": (v.BIOS, {"bios_release_year": extract("year", func.max(bios.ReleaseDate0))}),
        "disk": (v.LOGICAL_DISK, {"system_disk_gb": func.max(disk.Size0) // 1024}),
        "arp": (v.ARP, {"software_count": func.count()}),
    }
    needs = set(fields)
    own = {
        "device_id": s.SMS_Unique_Identifier0,
        "host_name": s.Netbios_Name0,
        "user_name": s.User_Name0,
        "client_version": s.Client_Version0,
    }
    columns: list[Any] = [s.ResourceID.label("_rid")]
    columns += [e.label(k) for k, e in own.items() if k in needs]
    stmt_from: Any = v.R_SYSTEM
    for name, (table, aggs) in groups.items():
        chosen = {k: e for k, e in aggs.items() if k in needs}
        if not chosen:
            continue
        where = table.c.DeviceID0 == "C:" if name == "disk" else None
        sq = per_device(table, **chosen)
        if where is not None:
            sq = sq.where(where)
        sub = sq.subquery(name)
        stmt_from = stmt_from.outerjoin(sub, sub.c.ResourceID == s.ResourceID)
        columns += [sub.c[k].label(k) for k in chosen]
    return (
        select(*columns)
        .select_from(stmt_from)
        .where(flag(s.Client0), not_flag(s.Obsolete0), not_flag(s.Decommissioned0))
        .order_by(s.ResourceID)
    )


def _plan(
    rt: type[m.Record], views: tuple[str, ...], build: Callable[[frozenset[str], Absent], Select[Any]]
) -> Plan:
    return Plan(rt, views, build, ", ".join(views))


PLANS: dict[str, Plan] = {
    p.record_type.NAME: p
    for p in (
        _plan(m.Site, ("v_Site",), _site),
        _plan(m.SiteRole, ("v_SystemResourceList",), _site_role),
        _plan(m.ClientVersion, ("v_R_System",), _client_version),
        _plan(m.ClientTotals, ("v_R_System",), _client_totals),
        _plan(m.HardwareModel, ("v_GS_COMPUTER_SYSTEM", "v_R_System"), _hardware_model),
        _plan(m.HardwareCpu, ("v_GS_PROCESSOR", "v_R_System"), _hardware_cpu),
        _plan(m.HardwareMemory, ("v_GS_X86_PC_MEMORY", "v_R_System"), _hardware_memory),
        _plan(m.HardwareDisk, ("v_GS_LOGICAL_DISK", "v_R_System"), _hardware_disk),
        _plan(m.HardwareChassis, ("v_GS_SYSTEM_ENCLOSURE", "v_R_System"), _hardware_chassis),
        _plan(m.HardwareBios, ("v_GS_PC_BIOS", "v_R_System"), _hardware_bios),
        _plan(m.OperatingSystem, ("v_GS_OPERATING_SYSTEM", "v_R_System"), _operating_system),
        _plan(m.Software, ("v_Add_Remove_Programs", "v_R_System"), _software),
        _plan(m.Deployment, ("v_DeploymentSummary",), _deployment),
        _plan(m.Package, ("v_Package", "v_Program", "v_Advertisement"), _package),
        _plan(
            m.ConfigurationItem,
            (
                "v_ConfigurationItems",
                "v_LocalizedCIProperties_SiteLoc",
                "v_CIRelation",
                "v_BaselineTargetedComputers",
                "v_CICurrentComplianceStatus",
            ),
            _configuration_item,
        ),
        _plan(
            m.Device,
            (
                "v_R_System",
                "v_GS_OPERATING_SYSTEM",
                "v_GS_COMPUTER_SYSTEM",
                "v_GS_PROCESSOR",
                "v_GS_X86_PC_MEMORY",
                "v_GS_SYSTEM_ENCLOSURE",
                "v_GS_PC_BIOS",
                "v_GS_LOGICAL_DISK",
                "v_Add_Remove_Programs",
            ),
            _device,
        ),
    )
}


def own_name_statements(present: Mapping[str, bool], absent: frozenset[str]) -> list[Any]:
    """SELECT DISTINCT of the site's own names (site name, site server, site-system hosts), read
    only so the anonymizer can withhold values that carry one; never part of a record."""
    out: list[Any] = []
    for view, columns in (("v_Site", ("SiteName", "ServerName")), ("v_SystemResourceList", ("ServerName",))):
        if not present.get(view):
            continue
        table = v.VIEWS[view]
        usable = [table.c[c] for c in columns if f"{view}.{c}" not in absent]
        if usable:
            out.append(select(*usable).distinct())
    return out
