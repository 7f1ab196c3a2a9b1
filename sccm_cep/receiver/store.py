"""Where the receiver keeps documents: ``received_documents``, in PostgreSQL or SQLite through
SQLAlchemy Core, created on start (no migrations). The primary key keeps one copy. Each
submission's aggregate rows go to the fact tables (``receiver.facts``) in the same transaction.

A column added since the first release (``contributor``) is added on start to a table made
before it; rows stored before it hold none (their documents carried none either). The fact tables are
created on start as well, and back-filled from the stored documents they lack.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    create_engine,
    delete,
    func,
    insert,
    inspect,
    select,
)
from sqlalchemy import column as catalog_column
from sqlalchemy import table as catalog_table
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.schema import CreateIndex

from sccm_cep.contract.deletion import site_pseudonyms
from sccm_cep.contract.upload import DocumentKind, UploadTarget
from sccm_cep.errors import ConfigError
from sccm_cep.receiver import facts

__all__ = [
    "metadata",
    "open_receiver_db",
    "received_documents",
    "store_document",
    "stored_digest",
    "stored_ids",
]

metadata = MetaData()
received_documents = Table(
    "received_documents",
    metadata,
    Column("document_id", String(36), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("schema_version", String(16), nullable=False),
    Column("site", String(32), nullable=False, index=True),
    # The collector installation's pseudonym (documents that carry one): k counts these.
    Column("contributor", String(32), index=True),
    Column("period", String(16)),
    Column("revision", Integer),
    Column("received_at", DateTime, nullable=False),
    Column("body", LargeBinary, nullable=False),  # the document's JSON, gzip-compressed
    Column("sha256", String(64), nullable=False),  # of the uncompressed JSON
)


def open_receiver_db(url: str) -> Engine:
    """Open the receiver's database and create its table when missing."""
    try:
        shown = make_url(url).render_as_string(hide_password=True)
        engine = create_engine(url, pool_pre_ping=True, hide_parameters=True)
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise ConfigError(
            "the receiver database URL is not valid",
            hint="use postgresql+psycopg://USER@HOST/DB or sqlite:///PATH",
        ) from exc
    _private_sqlite_file(make_url(url))
    try:
        _create_tables(engine)
        facts.backfill(engine, received_documents, _load)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise ConfigError(
            f"cannot open the receiver database {shown}",
            hint="check --db, that the server runs and that the user may create tables",
        ) from exc
    return engine


def _create_tables(engine: Engine, attempts: int = 3) -> None:
    """Create the missing tables and columns. Receivers starting at once on a new database may
    race to create the same table (one fails on the catalog's unique key): the loser tries
    again and finds it made."""
    if _tables_current(engine):
        return
    for attempt in range(attempts):
        try:
            metadata.create_all(engine)
            facts.metadata.create_all(engine)
            _add_missing_columns(engine)
            return
        except SQLAlchemyError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


_ATTRIBUTE = ("attrelid", "attname", "attnum", "attisdropped")
_CLASS = ("oid", "relname", "relnamespace")
_NAMESPACE = ("oid", "nspname")


def _tables_current(engine: Engine) -> bool:
    """Whether every table this release uses is there with every column: one catalog query on
    PostgreSQL, the table list and the documents table's columns (the one table that gained
    columns) on SQLite; creating what is missing asks once per table, which every report and
    every receiver start would pay."""
    tables = (*metadata.sorted_tables, *facts.metadata.sorted_tables)
    with engine.connect() as conn:
        if conn.dialect.name != "postgresql":
            insp = inspect(conn)
            if not {t.name for t in tables} <= set(insp.get_table_names()):
                return False
            have = {c["name"] for c in insp.get_columns(received_documents.name)}
            return {c.name for c in received_documents.columns} <= have
        # pg_catalog, not information_schema: the same answer in a tenth of the time.
        attribute = catalog_table("pg_attribute", *map(catalog_column, _ATTRIBUTE), schema="pg_catalog")
        relation = catalog_table("pg_class", *map(catalog_column, _CLASS), schema="pg_catalog")
        space = catalog_table("pg_namespace", *map(catalog_column, _NAMESPACE), schema="pg_catalog")
        query = (
            select(relation.c.relname, attribute.c.attname)
            .join_from(attribute, relation, attribute.c.attrelid == relation.c.oid)
            .join(space, space.c.oid == relation.c.relnamespace)
            .where(
                space.c.nspname == func.current_schema(),
                relation.c.relname.in_(sorted({t.name for t in tables})),
                attribute.c.attnum > 0,
                attribute.c.attisdropped.is_(False),
            )
        )
        found = {(str(t), str(c)) for t, c in conn.execute(query)}
    return {(t.name, c.name) for t in tables for c in t.columns} <= found


def _private_sqlite_file(url: URL) -> None:
    """A new SQLite database file is made readable by this account only (0600; SQLite's -wal
    and -shm files take its mode), whatever the umask. An existing file is left as it is."""
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or database in ("", ":memory:") or database.startswith("file:"):
        return
    path = Path(database)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.chmod(path, 0o600)  # the umask may have taken bits from the mode given to open
    except FileExistsError:
        return
    except OSError as exc:
        raise ConfigError(
            f"cannot create the receiver database file {path}", hint="check --db and the folder's rights"
        ) from exc


def _add_missing_columns(engine: Engine) -> None:
    """Add to a table made by an earlier release the columns it lacks (nullable ones only),
    with their indexes. Two receivers starting at once may both try: the loser finds it done."""
    table = received_documents
    have = {c["name"] for c in inspect(engine).get_columns(table.name)}
    for column in table.columns:
        if column.name in have:
            continue
        kind = column.type.compile(dialect=engine.dialect)
        ddl = f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}"
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql(ddl)
                for index in table.indexes:
                    if [c.name for c in index.columns] == [column.name]:
                        conn.execute(CreateIndex(index, if_not_exists=True))
        except SQLAlchemyError:
            if column.name not in {c["name"] for c in inspect(engine).get_columns(table.name)}:
                raise


def store_document(
    engine: Engine, target: UploadTarget, doc: dict[str, Any], text: bytes, gzipped: bytes | None
) -> bool:
    """Store a validated document (``text`` its JSON, ``gzipped`` the body as received when it
    came gzip); False when one with its id is stored already. A submission's facts are written
    in the same transaction. A deletion request removes, in the same transaction, every
    submission and fact stored under any site pseudonym it names (``site`` and
    ``earlier_sites``: the site's pseudonyms under every key version it used)."""
    row = {
        "document_id": target.document_id,
        "kind": str(target.kind),
        "schema_version": target.schema_version,
        "site": str(doc["site"]),
        "contributor": doc.get("contributor"),
        "period": doc.get("period"),
        "revision": doc.get("revision"),
        "received_at": datetime.now(UTC).replace(tzinfo=None),
        "body": gzipped if gzipped is not None else gzip.compress(text),
        "sha256": hashlib.sha256(text).hexdigest(),
    }
    try:
        with engine.begin() as conn:
            conn.execute(insert(received_documents).values(**row))
            if target.kind is DocumentKind.SUBMISSION:
                facts.write_facts(conn, received_documents, target.document_id, doc)
            if target.kind is DocumentKind.DELETION_REQUEST:
                conn.execute(
                    delete(received_documents).where(
                        received_documents.c.site.in_(site_pseudonyms(doc)),
                        received_documents.c.kind == DocumentKind.SUBMISSION.value,
                    )
                )
                facts.delete_site_facts(conn, site_pseudonyms(doc))
    except IntegrityError:
        return False
    return True


def _load(conn: Connection, document_id: str) -> dict[str, Any] | None:
    """The stored document under ``document_id``, parsed (None: nothing is)."""
    query = select(received_documents.c.body).where(received_documents.c.document_id == document_id)
    body = conn.execute(query).scalar_one_or_none()
    if body is None:
        return None
    found = json.loads(gzip.decompress(bytes(body)))
    return found if isinstance(found, dict) else None


def stored_digest(engine: Engine, document_id: str) -> str | None:
    """The sha256 of the JSON stored under ``document_id`` (None: nothing is)."""
    query = select(received_documents.c.sha256).where(received_documents.c.document_id == document_id)
    with engine.connect() as conn:
        found = conn.execute(query).scalar_one_or_none()
    return None if found is None else str(found)


def stored_ids(engine: Engine, kind: str = DocumentKind.SUBMISSION) -> list[str]:
    """The document ids stored for ``kind``, in order."""
    query = (
        select(received_documents.c.document_id)
        .where(received_documents.c.kind == str(kind))
        .order_by(received_documents.c.document_id)
    )
    with engine.connect() as conn:
        return [str(v) for v in conn.execute(query).scalars()]
