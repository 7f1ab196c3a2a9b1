"""Opening the receiver's database: a current one is left alone (no DDL), one made by an earlier
release gains what it lacks, with its documents kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, event, inspect, text

from sccm_cep.receiver.store import open_receiver_db


def test_a_current_database_is_opened_without_ddl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'receiver.db'}"
    open_receiver_db(url).dispose()
    seen: list[str] = []
    real = open_receiver_db.__globals__["create_engine"]

    def spying(*args: object, **kwargs: object) -> Engine:
        engine = real(*args, **kwargs)
        event.listen(engine, "before_cursor_execute", lambda *a: seen.append(str(a[2])))
        return engine

    monkeypatch.setitem(open_receiver_db.__globals__, "create_engine", spying)
    open_receiver_db(url).dispose()
    # The tables, the one table's columns, the back-fill's question: not one question per table.
    assert 1 <= len(seen) <= 3, seen
    assert not [s for s in seen if s.lstrip().upper().startswith(("CREATE", "ALTER", "DROP"))]


def test_a_table_of_an_earlier_release_gains_its_missing_column(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'receiver.db'}"
    engine = open_receiver_db(url)
    with engine.begin() as conn:  # what the release before contributors made
        for index in inspect(conn).get_indexes("received_documents"):
            if index["column_names"] == ["contributor"]:
                conn.execute(text(f'DROP INDEX "{index["name"]}"'))
        conn.execute(text("ALTER TABLE received_documents DROP COLUMN contributor"))
    engine.dispose()
    again = open_receiver_db(url)
    try:
        columns = {c["name"] for c in inspect(again).get_columns("received_documents")}
        assert "contributor" in columns
    finally:
        again.dispose()


def test_on_postgresql_one_catalog_query_and_a_missing_column_is_added(pg_base: str) -> None:
    import uuid

    from fixtures.synthetic_site import drop_pg_schema, pg_schema_url

    schema = f"rx_schema_{uuid.uuid4().hex[:10]}"
    url = pg_schema_url(pg_base, schema)
    other = f"rx_other_{uuid.uuid4().hex[:10]}"  # the same tables, whole, in another schema
    try:
        open_receiver_db(pg_schema_url(pg_base, other)).dispose()
        open_receiver_db(url).dispose()
        engine = open_receiver_db(url)
        seen: list[str] = []
        event.listen(engine, "before_cursor_execute", lambda *a: seen.append(str(a[2])))
        from sccm_cep.receiver import store

        assert store._tables_current(engine)
        assert len(seen) == 1 and "pg_catalog" in seen[0].lower()
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE received_documents DROP COLUMN contributor"))
        assert not store._tables_current(engine)
        engine.dispose()
        again = open_receiver_db(url)
        assert store._tables_current(again)
        again.dispose()
    finally:
        drop_pg_schema(pg_base, schema)
        drop_pg_schema(pg_base, other)
