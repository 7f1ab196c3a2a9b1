"""The SQL connector: compiles for SQL Server, aggregates on the server, fails clearly."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.dialects import mssql, postgresql, sqlite
from sqlalchemy.exc import OperationalError

from sccm_cep.errors import ConfigError, NotAnSccmSite, SourceAuthError, SourceUnreachable
from sccm_cep.export.pipeline import build_request
from sccm_cep.model import RECORD_TYPES, Level
from sccm_cep.privacy.policy import load_policies
from sccm_cep_connectors.sccm_sql import SqlConnector
from sccm_cep_connectors.sccm_sql import statements as st

ALL_FIELDS = {rt.NAME: frozenset(f for f in rt.__dataclass_fields__) for rt in RECORD_TYPES}


def _all_statements() -> list[tuple[str, Any]]:
    out = [(name, plan.statement(ALL_FIELDS[name])) for name, plan in st.PLANS.items()]
    out += [
        ("rule_counts", st.rule_counts()),
        ("baseline_targets", st.baseline_targets()),
        ("compliance_counts", st.compliance_counts()),
    ]
    return out


@pytest.mark.parametrize(
    "dialect",
    [mssql.dialect(), postgresql.dialect(), sqlite.dialect()],
    ids=["mssql", "postgresql", "sqlite"],
)
def test_every_statement_compiles(dialect: Any) -> None:
    for name, stmt in _all_statements():
        sql = str(stmt.compile(dialect=dialect))
        assert "SELECT" in sql, name
        assert "INSERT" not in sql and "UPDATE" not in sql and "#" not in sql, name


def test_mssql_statements_use_only_documented_views() -> None:
    for name, stmt in _all_statements():
        sql = str(stmt.compile(dialect=mssql.dialect()))
        for word in sql.replace("(", " ").replace(",", " ").split():
            if word.startswith(("CI_", "System_", "vSMS_")) and word.endswith("_DATA"):
                pytest.fail(f"{name} reads a base table: {word}")


def _capture(connector: SqlConnector) -> list[str]:
    seen: list[str] = []

    @event.listens_for(connector._engine, "before_cursor_execute")
    def _record(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    return seen


def test_basic_level_aggregates_on_the_server(sqlite_site: str) -> None:
    connector = SqlConnector(sqlite_site)
    seen = _capture(connector)
    request = build_request(load_policies(), Level.BASIC)
    rows = {s.record_type.NAME: sum(1 for _ in s.read()) for s in connector.streams(request)}
    selects = [s for s in seen if s.lstrip().upper().startswith("SELECT")]
    inventory = [s for s in selects if any(v in s for v in ("v_GS_", "v_Add_Remove_Programs"))]
    assert inventory, "inventory views were read"
    for sql in inventory:
        assert "GROUP BY" in sql.upper() or "count(" in sql.lower(), sql[:200]
    # No statement at basic level returns a row per device.
    assert rows["hardware_model"] < 300 and rows["operating_system"] < 300
    assert "device" not in rows
    connector.close()


def test_fields_the_policy_drops_are_never_selected(sqlite_site: str) -> None:
    connector = SqlConnector(sqlite_site)
    seen = _capture(connector)
    request = build_request(load_policies(), Level.ENHANCED)
    for stream in connector.streams(request):
        for _ in stream.read():
            pass
    joined = "\n".join(seen)
    for column in (
        "Netbios_Name0",
        "User_Name0",
        "CreatedBy",
        "PkgSourcePath",
        "CollectionName",
        "SiteName",
        'ServerName" ',
        "InstallDir",
    ):
        assert column not in joined, column
    connector.close()


def test_empty_database_is_not_an_sccm_site(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    sqlite3.connect(path).execute("create table t (x int)").connection.close()
    with pytest.raises(NotAnSccmSite) as info:
        SqlConnector(f"sqlite:///{path}").check()
    assert "v_R_System" in info.value.missing
    assert "v_R_System" in info.value.message


def test_missing_file_is_unreachable(tmp_path: Path) -> None:
    with pytest.raises(SourceUnreachable):
        SqlConnector(f"sqlite:///{tmp_path / 'nope.db'}")


def test_bad_url_and_unsupported_backend_are_config_errors() -> None:
    with pytest.raises(ConfigError):
        SqlConnector("not a url")
    with pytest.raises(ConfigError):
        SqlConnector("mysql://u@h/db")


def test_connector_never_writes(sqlite_site: str, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    shutil.copy(sqlite_site.removeprefix("sqlite:///"), copy)
    before = copy.read_bytes()
    connector = SqlConnector(f"sqlite:///{copy}")
    request = build_request(load_policies(), Level.ENHANCED)
    for stream in connector.streams(request):
        for _ in stream.read():
            pass
    # Connecting must work; only the write is refused, by SQLite's read-only open mode.
    with connector._engine.connect() as conn, pytest.raises(OperationalError, match="readonly database"):
        conn.exec_driver_sql("create table hack (x int)")
    connector.close()
    assert copy.read_bytes() == before


def test_missing_optional_view_is_a_note_not_an_error(sqlite_site: str, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    shutil.copy(sqlite_site.removeprefix("sqlite:///"), copy)
    with sqlite3.connect(copy) as conn:
        conn.execute('drop table "v_GS_PC_BIOS"')
    connector = SqlConnector(f"sqlite:///{copy}")
    request = build_request(load_policies(), Level.BASIC)
    names = {s.record_type.NAME for s in connector.streams(request)}
    assert "hardware_bios" not in names and "software" in names
    assert any("v_GS_PC_BIOS" in n for n in connector.skipped(request))
    connector.close()


@pytest.mark.postgres
def test_postgres_unknown_role_is_an_auth_error(pg_base: str) -> None:
    url = pg_base.replace("postgres@", "no_such_role_x@")
    with pytest.raises(SourceAuthError):
        SqlConnector(url).check()


@pytest.mark.postgres
def test_postgres_closed_port_is_unreachable(pg_base: str) -> None:
    url = pg_base.replace(":5432", ":1")
    with pytest.raises(SourceUnreachable):
        SqlConnector(url, connect_timeout=3).check()


@pytest.mark.postgres
def test_postgres_site_reads_the_same_as_sqlite(sqlite_site: str, pg_site: str) -> None:
    request = build_request(load_policies(), Level.BASIC)
    results = []
    for url in (sqlite_site, pg_site):
        connector = SqlConnector(url)
        got = {s.record_type.NAME: sorted(map(repr, s.read())) for s in connector.streams(request)}
        connector.close()
        results.append(got)
    assert results[0]["operating_system"] == results[1]["operating_system"]
    assert results[0]["software"] == results[1]["software"]
    assert results[0]["client_totals"] == results[1]["client_totals"]


def _freetds() -> bool:
    try:
        import pyodbc
    except ImportError:
        return False
    return any("freetds" in d.lower() for d in pyodbc.drivers())


@pytest.fixture
def freetds() -> None:
    if not _freetds():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("the FreeTDS ODBC driver is missing; scripts/ensure-services installs it")
        pytest.skip("FreeTDS ODBC driver not installed (apt-get install unixodbc tdsodbc)")


@pytest.mark.usefixtures("freetds")
def test_sql_server_path_unreachable_through_pyodbc_and_freetds() -> None:
    url = "mssql+pyodbc://cep_reader:pw@127.0.0.1:1/CM_PS1?driver=FreeTDS&TDS_Version=7.4"
    with pytest.raises(SourceUnreachable) as info:
        SqlConnector(url, connect_timeout=3).check()
    assert "pw@" not in info.value.message and "***" in info.value.message


@pytest.mark.usefixtures("freetds")
def test_sql_server_unknown_odbc_driver_is_a_config_error() -> None:
    url = "mssql+pyodbc://cep_reader:pw@127.0.0.1:1/CM_PS1?driver=No+Such+Driver+17"
    with pytest.raises(ConfigError) as info:
        SqlConnector(url, connect_timeout=3).check()
    assert "ODBC driver" in info.value.message


def test_one_catalog_query_finds_what_reflection_finds(pg_site: str) -> None:
    """On a server the views and columns are probed with one catalog query: it finds what
    SQLAlchemy's reflection finds, in the site's schema only, also for a missing view and a
    missing column (dropped inside a transaction that is rolled back)."""
    from sqlalchemy import create_engine, inspect, text

    from sccm_cep_connectors.sccm_sql import columns as cols
    from sccm_cep_connectors.sccm_sql import views as v

    optional = sorted(
        c.name for c in v.VIEWS["v_GS_PROCESSOR"].columns if c.name not in v.ESSENTIAL["v_GS_PROCESSOR"]
    )
    engine = create_engine(pg_site)
    try:
        with engine.connect() as conn, conn.begin() as tx:
            conn.execute(text('DROP TABLE "v_GS_PC_BIOS"'))
            conn.execute(text(f'ALTER TABLE "v_GS_PROCESSOR" DROP COLUMN "{optional[0]}"'))
            insp = inspect(conn)
            reflected = {
                name.lower(): {c["name"].lower() for c in insp.get_columns(name)}
                for name in v.VIEWS
                if insp.has_table(name)
            }
            present, absent = cols.probe(conn)
            assert cols.view_columns(conn) == reflected
            tx.rollback()
    finally:
        engine.dispose()
    assert present["v_GS_PC_BIOS"] is False and present["v_GS_PROCESSOR"] is True
    assert f"v_GS_PROCESSOR.{optional[0]}" in absent


def test_the_catalog_query_is_t_sql() -> None:
    import sqlglot

    from sccm_cep_connectors.sccm_sql import columns as cols

    sql = str(
        cols.catalog_columns("dbo").compile(dialect=mssql.dialect(), compile_kwargs={"literal_binds": True})
    )
    sqlglot.parse_one(sql, read="tsql")
    assert "information_schema.columns" in sql.lower() and "'dbo'" in sql
