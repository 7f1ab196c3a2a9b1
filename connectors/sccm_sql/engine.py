"""The site database's engine: the URL checked, the driver loaded, every session read-only.

SQLite is opened with ``mode=ro``; a PostgreSQL session is set READ ONLY on connect; a SQL
Server connection asks for ``ApplicationIntent=ReadOnly`` (an availability group listener then
routes it to a readable secondary, where there is one) and reads at READ UNCOMMITTED, so the
export takes no shared row or page locks on the site's tables.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.pool import QueuePool

from sccm_cep.errors import ConfigError, SourceUnreachable

__all__ = ["open_engine", "parse_url"]


def parse_url(url: str, password: str | None) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(
            "the database URL is not valid",
            hint="use e.g. mssql+pyodbc://@SERVER/CM_PS1?driver=ODBC+Driver+18+for+SQL+Server&trusted_connection=yes",
        ) from exc
    if password is not None:
        parsed = parsed.set(password=password)
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql", "mssql"):
        raise ConfigError(
            f"unsupported database type '{backend}'",
            hint="use mssql+pyodbc:// for a site database (sqlite:// or postgresql+psycopg:// for copies)",
        )
    return parsed


#: A few connections kept for the length of an export (``close`` ends them): each statement
#: used to log in anew, which on a remote SQL Server is a TLS handshake and a login per view.
#: Two lanes read at once (``concurrent_reads``), so two are kept, and one more may open.
_POOL: dict[str, Any] = {"poolclass": QueuePool, "pool_size": 2, "max_overflow": 1, "pool_timeout": 600}


def open_engine(url: URL, timeout: int) -> Engine:
    """A read-only engine for the site database at ``url`` (SQLite opened read-only, PostgreSQL
    and SQL Server sessions set read-only), with the connection pool of one export."""
    backend = url.get_backend_name()
    try:
        if backend == "sqlite":
            path = url.database or ""
            if not path or path == ":memory:" or not Path(path).is_file():
                raise SourceUnreachable(
                    f"no SQLite database file at {path or '(empty path)'}",
                    hint="check the path in the sqlite:/// URL",
                )
            uri = Path(path).resolve().as_uri() + "?mode=ro"

            def connect() -> sqlite3.Connection:
                return sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=False)

            return create_engine("sqlite://", creator=connect, **_POOL)
        if backend == "postgresql":
            engine = create_engine(url, connect_args={"connect_timeout": timeout}, **_POOL)

            @event.listens_for(engine, "connect")
            def _read_only(dbapi_conn: Any, _record: Any) -> None:
                cur = dbapi_conn.cursor()
                cur.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
                cur.close()
                dbapi_conn.commit()

            return engine
        query = dict(url.query)
        query.setdefault("ApplicationIntent", "ReadOnly")
        return create_engine(
            url.set(query=query),
            connect_args={"timeout": timeout},
            **_POOL,
            isolation_level="READ UNCOMMITTED",
        )
    except NoSuchModuleError as exc:
        raise ConfigError(
            f"the driver for {url.drivername} is not installed", hint=_extra_hint(backend)
        ) from exc
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"the Python driver module '{exc.name}' is not installed", hint=_extra_hint(backend)
        ) from exc
    except ImportError as exc:
        # pyodbc imports but cannot load libodbc: the ODBC driver manager is missing.
        raise ConfigError(
            f"the driver for {url.drivername} cannot load its native library",
            hint="install unixODBC and an ODBC driver (ODBC Driver 18 for SQL Server, or FreeTDS: "
            "apt-get install unixodbc tdsodbc)",
        ) from exc


def _extra_hint(backend: str) -> str:
    extra = {"postgresql": "postgres", "mssql": "mssql"}.get(backend, backend)
    return f"install it with: pip install 'sccm-cep[{extra}]'"
