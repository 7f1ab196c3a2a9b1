"""What the SQL connector sends to SQL Server: valid T-SQL, few parameters, a read-only session."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy
import sqlglot
from sqlalchemy import event
from sqlalchemy.dialects import mssql
from sqlalchemy.sql import Select

from sccm_cep.model import RECORD_TYPES
from sccm_cep_connectors.sccm_sql import SqlConnector
from sccm_cep_connectors.sccm_sql import engine as sql_engine
from sccm_cep_connectors.sccm_sql import statements as st
from sccm_cep_connectors.sccm_sql import views as v

ALL_FIELDS = {rt.NAME: frozenset(rt.__dataclass_fields__) for rt in RECORD_TYPES}
#: SQL Server's limit on parameters in one request.
MSSQL_MAX_PARAMETERS = 2100
MSSQL_URL = "mssql+pyodbc://@SERVER/CM_PS1?driver=ODBC+Driver+18+for+SQL+Server&trusted_connection=yes"


def _every_statement() -> list[tuple[str, Select[Any]]]:
    """Every statement the connector can run: each plan with all fields and with each field alone,
    the configuration_item side statements, on a complete site and with every optional column absent."""
    everything_absent = frozenset(
        f"{name}.{c.name}" for name, t in v.VIEWS.items() for c in t.columns if not v.is_essential(c)
    )
    out: list[tuple[str, Select[Any]]] = []
    for absent in (frozenset(), everything_absent):
        for name, plan in st.PLANS.items():
            out.append((name, plan.statement(ALL_FIELDS[name], absent)))
            out += [(f"{name}.{f}", plan.statement(frozenset({f}), absent)) for f in sorted(ALL_FIELDS[name])]
        out += [(f"aux.{f}", build(absent)) for f, build in st.AUX.items()]
        every_view = dict.fromkeys(v.VIEWS, True)
        out += [(f"own_names.{n}", s) for n, s in enumerate(st.own_name_statements(every_view, absent))]
    return out


def test_every_statement_is_valid_tsql() -> None:
    dialect = mssql.dialect()
    for name, stmt in _every_statement():
        sql = str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        parsed = sqlglot.parse(sql, read="tsql")  # raises ParseError on anything that is not T-SQL
        assert len(parsed) == 1 and parsed[0] is not None, name
        assert parsed[0].key == "select", name


def test_no_statement_binds_more_than_sql_servers_parameter_limit() -> None:
    # Statements are built from field names only, never from site data (no IN-lists of ids), so
    # their parameter count is the same on a site of any size: the count below is the one sent.
    dialect = mssql.dialect()
    for name, stmt in _every_statement():
        compiled = stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        assert len(compiled.params) < MSSQL_MAX_PARAMETERS, name


def _parameters_sent(url: str, request: Any) -> list[int]:
    """The number of parameters of each statement a full read of the site at ``url`` sends."""
    connector = SqlConnector(url)
    seen: list[int] = []

    @event.listens_for(connector._engine, "before_cursor_execute")
    def _count(_c: Any, _cur: Any, _stmt: str, params: Any, *_: Any) -> None:
        seen.append(len(params or ()))

    for stream in connector.streams(request):
        for _ in stream.read():
            pass
    connector.close()
    return seen


def test_parameters_sent_do_not_grow_with_the_site(sqlite_site: str, hostile_site: str) -> None:
    from sccm_cep.export.pipeline import build_request
    from sccm_cep.model import Level
    from sccm_cep.privacy.policy import load_policies

    request = build_request(load_policies(), Level.ENHANCED)
    counts = {url: _parameters_sent(url, request) for url in (sqlite_site, hostile_site)}
    assert all(max(seen) < MSSQL_MAX_PARAMETERS for seen in counts.values())
    assert sorted(counts[sqlite_site]) == sorted(counts[hostile_site])


def test_mssql_session_is_read_only_intent_and_read_uncommitted(monkeypatch: pytest.MonkeyPatch) -> None:
    received: list[tuple[Any, dict[str, Any]]] = []
    real = sqlalchemy.create_engine

    def spy(url: Any, **kwargs: Any) -> Any:
        received.append((url, kwargs))
        return real(url, **kwargs)  # builds the engine; nothing connects until a query runs

    monkeypatch.setattr(sql_engine, "create_engine", spy)
    connector = SqlConnector(MSSQL_URL)
    ((url, kwargs),) = received
    assert url.query["ApplicationIntent"] == "ReadOnly"
    assert kwargs["isolation_level"] == "READ UNCOMMITTED"
    # The intent reaches the ODBC connection string the driver is given.
    (odbc,), _ = connector._engine.dialect.create_connect_args(connector._engine.url)
    assert "ApplicationIntent=ReadOnly" in odbc
    connector.close()
