"""Which columns a site's views have, and which requested fields they can give.

Real sites differ: an inventory view only has the properties the site inventories, and view
definitions change between builds. A view counts as present when its essential columns exist
(``views.ESSENTIAL``); a field is usable when every column its statements read exists. What
a field reads is found in the statements themselves, so it cannot drift from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from sqlalchemy import Column, Connection, Select, column, func, inspect, select, table
from sqlalchemy.sql import visitors

from sccm_cep import model as m
from sccm_cep.connector import Unavailable, UnavailableReason

from . import statements as st
from . import views as v

__all__ = ["FIELD_VIEWS", "columns_read", "notes", "probe", "usable_fields"]

#: Fields that need a view besides the record's main one; dropped when that view is absent.
FIELD_VIEWS: dict[str, dict[str, str]] = {
    "package": {"program_count": "v_Program", "deployment_count": "v_Advertisement"},
    "configuration_item": {
        "name": "v_LocalizedCIProperties_SiteLoc",
        "description": "v_LocalizedCIProperties_SiteLoc",
        "rule_count": "v_CIRelation",
        "targeted": "v_BaselineTargetedComputers",
        "evaluated": "v_CICurrentComplianceStatus",
        "compliant_rate": "v_CICurrentComplianceStatus",
        "noncompliant_rate": "v_CICurrentComplianceStatus",
        "error_rate": "v_CICurrentComplianceStatus",
    },
    "device": {
        "os_caption": "v_GS_OPERATING_SYSTEM",
        "os_version": "v_GS_OPERATING_SYSTEM",
        "architecture": "v_GS_OPERATING_SYSTEM",
        "manufacturer": "v_GS_COMPUTER_SYSTEM",
        "model": "v_GS_COMPUTER_SYSTEM",
        "cpu_name": "v_GS_PROCESSOR",
        "cores": "v_GS_PROCESSOR",
        "memory_gb": "v_GS_X86_PC_MEMORY",
        "chassis_type": "v_GS_SYSTEM_ENCLOSURE",
        "bios_release_year": "v_GS_PC_BIOS",
        "system_disk_gb": "v_GS_LOGICAL_DISK",
        "software_count": "v_Add_Remove_Programs",
    },
}


def probe(conn: Connection) -> tuple[dict[str, bool], frozenset[str]]:
    """For each declared view whether it is present, and the declared columns ("view.column") missing."""
    have = view_columns(conn)
    present: dict[str, bool] = {}
    absent: set[str] = set()
    for name, view in v.VIEWS.items():
        columns = have.get(name.lower(), set())
        missing = {c.name for c in view.columns if c.name.lower() not in columns}
        present[name] = not (missing & v.ESSENTIAL[name])
        absent |= {f"{name}.{col}" for col in missing}
    return present, frozenset(absent)


def view_columns(conn: Connection) -> dict[str, set[str]]:
    """Lower-cased name of each declared view the site has → its lower-cased column names.

    On a server one catalog query in the connection's default schema (dbo for a site's reader)
    instead of two reflection round trips per view, which a remote SQL Server makes slow;
    SQLite, local, is asked view by view."""
    insp = inspect(conn)
    if conn.dialect.name == "sqlite":
        return {
            name.lower(): {c["name"].lower() for c in insp.get_columns(name)}
            for name in v.VIEWS
            if insp.has_table(name)
        }
    out: dict[str, set[str]] = {}
    for view, name in conn.execute(catalog_columns(insp.default_schema_name)):
        out.setdefault(str(view).lower(), set()).add(str(name).lower())
    return out


def catalog_columns(schema: str | None) -> Select[Any]:
    """(view, column) of every declared view in ``schema``, from the standard catalog views
    (INFORMATION_SCHEMA.COLUMNS on SQL Server, information_schema.columns on PostgreSQL)."""
    catalog = table(
        "columns",
        column("table_schema"),
        column("table_name"),
        column("column_name"),
        schema="information_schema",
    )
    return select(catalog.c.table_name, catalog.c.column_name).where(
        catalog.c.table_schema == schema,
        func.lower(catalog.c.table_name).in_(sorted(name.lower() for name in v.VIEWS)),
    )


def columns_read(plan: st.Plan, field: str, absent: frozenset[str]) -> frozenset[str]:
    """The declared columns ("view.column") the statements for one field read."""
    stmts = [plan.statement(frozenset({field}), absent)]
    if plan.record_type is m.ConfigurationItem and field in st.AUX:
        stmts.append(st.AUX[field](absent))
    out: set[str] = set()
    for stmt in stmts:
        for element in visitors.iterate(stmt):
            if isinstance(element, Column) and element.table is not None and element.table.name in v.VIEWS:
                out.add(f"{element.table.name}.{element.name}")
    return frozenset(out)


@lru_cache(maxsize=1024)
def _gone(record: str, field: str, absent: frozenset[str]) -> tuple[str, ...]:
    """The absent columns one field's statements would read (walking them costs: once each)."""
    if not absent:
        return ()
    return tuple(sorted(columns_read(st.PLANS[record], field, absent) & absent))


def usable_fields(
    present: Mapping[str, bool], absent: frozenset[str], record: str, fields: frozenset[str]
) -> tuple[frozenset[str], dict[str, Unavailable]]:
    """The fields of ``record`` a site can give, and why each other one cannot."""
    plan = st.PLANS[record]
    aux = FIELD_VIEWS.get(record, {})
    usable: set[str] = set()
    why: dict[str, Unavailable] = {}
    for f in sorted(fields):
        view = aux.get(f, plan.views[0])
        if not present.get(view, False):
            why[f] = Unavailable(record, f, UnavailableReason.VIEW_MISSING, (view,))
            continue
        gone = _gone(record, f, absent)
        if gone:
            why[f] = Unavailable(record, f, UnavailableReason.COLUMN_MISSING, tuple(gone))
            continue
        usable.add(f)
    return frozenset(usable), why


def notes(unavailable: list[Unavailable]) -> list[str]:
    """One line per record and reason: a record not collected at all, or its fields left out."""
    by_record: dict[str, dict[str, list[str]]] = {}
    for u in unavailable:
        if u.reason is UnavailableReason.VIEW_MISSING and u.missing == (st.PLANS[u.record].views[0],):
            by_record.setdefault(u.record, {})["*"] = [u.missing[0]]
        else:
            by_record.setdefault(u.record, {}).setdefault(u.text(), []).append(u.field)
    out: list[str] = []
    for record, reasons in by_record.items():
        if "*" in reasons:
            out.append(f"{record}: not collected, optional view {reasons['*'][0]} is missing")
            continue
        for text, names in sorted(reasons.items()):
            if text.startswith("view"):
                out.append(f"{record}: some fields not collected, optional {text}")
            else:
                out.append(f"{record}: field {', '.join(sorted(names))} not collected, {text}")
    return out
