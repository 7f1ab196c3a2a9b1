"""Read-only connector over an SCCM site database (SQL Server in production; SQLite, PostgreSQL).

It probes which documented views exist, refuses a database without the required ones,
streams canonical records with server-side cursors, and translates driver errors once
into the project's errors. It never writes: SQLite is opened read-only, PostgreSQL and
SQL Server sessions are set read-only.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from sccm_cep import model as m
from sccm_cep.connector import (
    DERIVED_INPUTS,
    CheckReport,
    CollectionRequest,
    Unavailable,
)
from sccm_cep.errors import (
    ConfigError,
    NotAnSccmSite,
    SccmCepError,
    SourceAuthError,
    SourceQueryError,
    SourceUnreachable,
)

from ..rows import as_int, as_text, record_values, type_hints
from . import columns as cols
from . import statements as st
from . import views as v
from .engine import open_engine, parse_url

__all__ = ["SqlConnector"]


class SqlConnector:
    """Reads one site database through the documented views."""

    name = "sccm_sql"
    #: Every read checks out its own connection from a thread-safe pool, so an export may read
    #: the next stream in another thread while it works on the current one (export/read_ahead.py).
    concurrent_reads = True

    def __init__(self, url: str, *, password: str | None = None, connect_timeout: int = 15):
        self._url = parse_url(url, password)
        self._engine = open_engine(self._url, connect_timeout)
        self._present: dict[str, bool] | None = None
        self._absent: frozenset[str] = frozenset()

    @property
    def display_url(self) -> str:
        """The URL with any password masked: the only form that may be printed."""
        return self._url.render_as_string(hide_password=True)

    def close(self) -> None:
        self._engine.dispose()

    # -- probing ----------------------------------------------------------------------------

    def present_views(self) -> dict[str, bool]:
        """Which of the views this connector reads exist with their essential columns.

        A missing non-essential column does not make its view missing: it is remembered in
        ``absent_columns`` and only the fields behind it are left out.
        """
        if self._present is None:
            with self._guard("probing the site database's views"), self._engine.connect() as conn:
                present, absent = cols.probe(conn)
            missing_views = [n for n in v.REQUIRED if not present[n]]
            if missing_views:
                raise NotAnSccmSite(
                    f"the database at {self.display_url} is not an SCCM site database:"
                    f" missing view {', '.join(missing_views)}",
                    hint="point --db at the CM_<SiteCode> database and grant the login db_datareader",
                    missing=tuple(missing_views),
                )
            self._present = present
            self._absent = absent
        return self._present

    def absent_columns(self) -> frozenset[str]:
        """Declared columns ("view.column") this site lacks; fields that read them are left out."""
        self.present_views()
        return self._absent

    def _plan_fields(
        self, record: str, fields: frozenset[str]
    ) -> tuple[frozenset[str], dict[str, Unavailable]]:
        """The fields of ``record`` this site can give, and why each other one cannot."""
        return cols.usable_fields(self.present_views(), self._absent, record, fields)

    def check(self) -> CheckReport:
        present = self.present_views()
        site_fields, _ = self._plan_fields(
            "site", frozenset({"version", "build_number", "site_type", "parent_site_code"})
        )
        sites = list(self._rows(st.PLANS["site"].statement(site_fields, self._absent), "v_Site"))
        code, version, build = None, None, None
        if sites:
            top = _top_site(sites)
            code, version, build = top["site_code"], top.get("version"), as_int(top.get("build_number"))
        totals = next(
            self._rows(
                st.PLANS["client_totals"].statement(frozenset({"managed"}), self._absent), "v_R_System"
            )
        )
        return CheckReport(
            site_code=as_text(code),
            version=as_text(version),
            build_number=build,
            managed_clients=as_int(totals["managed"]),
            readable=tuple(sorted(n for n, ok in present.items() if ok)),
            missing_optional=tuple(sorted(n for n, ok in present.items() if not ok)),
        )

    # -- streams ----------------------------------------------------------------------------

    def streams(self, request: CollectionRequest) -> Sequence[_SqlStream]:
        present = self.present_views()
        out: list[_SqlStream] = []
        for record, fields in request.fields.items():
            plan = st.PLANS.get(record)
            if plan is None or not fields:
                continue
            if not present[plan.views[0]]:
                continue
            usable, _ = self._plan_fields(record, fields)
            out.append(_SqlStream(self, plan, usable))
        return out

    def unavailable(self, request: CollectionRequest) -> list[Unavailable]:
        """Each field ``request`` wants that this site cannot give, with the view or columns it lacks.

        A derived field (``DERIVED_INPUTS``) is unavailable when every raw field it is computed
        from is: a missing architecture column takes no other field with it, a missing
        manufacturer takes the vendor and the model family.
        """
        out: list[Unavailable] = []
        for record, fields in sorted(request.fields.items()):
            if record not in st.PLANS or not fields:
                continue
            _, why = self._plan_fields(record, fields)
            for name, inputs in DERIVED_INPUTS.get(record, {}).items():
                if name in fields and name not in why and inputs and all(i in why for i in inputs):
                    gone = sorted({x for i in inputs for x in why[i].missing})
                    why[name] = Unavailable(record, name, why[inputs[0]].reason, tuple(gone))
            out += [why[f] for f in sorted(why)]
        return out

    def own_names(self) -> frozenset[str]:
        """The site's name and its site server's and site systems' host names, read only so the
        anonymizer withholds any value that carries one (never part of a record)."""
        names: set[str] = set()
        for stmt in st.own_name_statements(self.present_views(), self.absent_columns()):
            for row in self._rows(stmt, "the site's own names"):
                names.update(str(value) for value in row.values() if value)
        return frozenset(names)

    def skipped(self, request: CollectionRequest) -> list[str]:
        """Human notes on what the request wanted that this site does not have."""
        return cols.notes(self.unavailable(request))

    # -- plumbing ---------------------------------------------------------------------------

    def _rows(self, stmt: Any, what: str) -> Iterator[Mapping[str, Any]]:
        with self._guard(f"reading {what}"), self._engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=2000).execute(stmt)
            keys = tuple(result.keys())
            for row in result:
                yield dict(zip(keys, row, strict=True))

    def _guard(self, doing: str) -> _Guard:
        return _Guard(self, doing)


class _Guard:
    """Translates driver and SQLAlchemy errors into the project's, once, at the boundary."""

    def __init__(self, connector: SqlConnector, doing: str) -> None:
        self.connector = connector
        self.doing = doing

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if (
            exc is None
            or isinstance(exc, SccmCepError)
            or not isinstance(exc, SQLAlchemyError | sqlite3.Error)
        ):
            return None
        raise _translate(exc, self.connector.display_url, self.doing) from exc


@dataclass(frozen=True)
class _SqlStream:
    connector: SqlConnector
    plan: st.Plan
    fields: frozenset[str]

    @property
    def record_type(self) -> type[m.Record]:
        return self.plan.record_type

    @property
    def source(self) -> str:
        return self.plan.source

    def read(self) -> Iterator[m.Record]:
        rt = self.plan.record_type
        extra = self._extra() if rt is m.ConfigurationItem else {}
        hints = type_hints(rt)
        absent = self.connector._absent
        for row in self.connector._rows(self.plan.statement(self.fields, absent), self.plan.views[0]):
            yield rt(**record_values(rt, hints, row, self.fields, extra))

    def _extra(self) -> dict[str, dict[Any, Any]]:
        """Per-baseline counts from the compliance views, merged by CI_ID (small results)."""
        c = self.connector
        absent = c._absent
        out: dict[str, dict[Any, Any]] = {"rules": {}, "targets": {}, "states": {}}
        if "rule_count" in self.fields:
            out["rules"] = {r["ci_id"]: r["n"] for r in c._rows(st.rule_counts(absent), "v_CIRelation")}
        if "targeted" in self.fields:
            out["targets"] = {
                r["ci_id"]: r["n"]
                for r in c._rows(st.baseline_targets(absent), "v_BaselineTargetedComputers")
            }
        if self.fields & {"evaluated", "compliant_rate", "noncompliant_rate", "error_rate"}:
            states: dict[Any, dict[int, int]] = {}
            for r in c._rows(st.compliance_counts(absent), "v_CICurrentComplianceStatus"):
                states.setdefault(r["ci_id"], {})[as_int(r["state"]) or 0] = as_int(r["n"]) or 0
            out["states"] = states
        return out


def _top_site(sites: list[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The site at the top of what this database holds: a CAS, else a primary without parent."""

    def rank(s: Mapping[str, Any]) -> tuple[int, str]:
        kind = as_int(s.get("site_type"))
        parent = as_text(s.get("parent_site_code")) or ""
        top = 0 if kind == 4 else 1 if kind == 2 and parent.strip() in ("", s["site_code"]) else 2
        return (top, str(s["site_code"]))

    return min(sites, key=rank)


_AUTH = (
    "password authentication failed",
    "login failed",
    "28000",
    "28p01",
    "18456",
    "authentication failed",
    'role "',
    "no password supplied",
    "access denied",
)
_UNREACHABLE = (
    "could not connect",
    "connection refused",
    "could not translate host",
    "timeout expired",
    "timed out",
    "08001",
    "hyt00",
    "network-related",
    "no route to host",
    "name or service not known",
    "server closed the connection",
    "unable to open database file",
    "connection to server",
    "is not running",
    "08s01",
    "unable to connect",
    "adaptive server is unavailable",
)
_NO_ODBC_DRIVER = ("can't open lib", "im002", "data source name not found")


def _translate(exc: BaseException, where: str, doing: str) -> SccmCepError:
    text = str(getattr(exc, "orig", None) or exc).lower()
    if isinstance(exc, DBAPIError) and "does not exist" in text and "database" in text:
        return SourceUnreachable(
            f"the database named in {where} does not exist", hint="check the database name in the URL"
        )
    if any(p in text for p in _NO_ODBC_DRIVER):
        return ConfigError(
            "the ODBC driver named in the database URL is not installed",
            hint="install 'ODBC Driver 18 for SQL Server' or FreeTDS (tdsodbc) and name it in ?driver=",
        )
    if any(p in text for p in _AUTH):
        return SourceAuthError(
            f"the server at {where} refused the login",
            hint="check the user name and the password reference; the login needs db_datareader",
        )
    if any(p in text for p in _UNREACHABLE) or isinstance(exc, sqlite3.OperationalError):
        return SourceUnreachable(
            f"cannot reach the database at {where}",
            hint="check host, port, firewall and that the server is running, then try again",
        )
    return SourceQueryError(
        f"{doing} failed on {where} ({exc.__class__.__name__})",
        hint="check the login can read the SCCM views (db_datareader on the site database)",
    )
