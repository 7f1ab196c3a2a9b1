"""Where the receiver keeps documents: one table, ``received_documents``, in PostgreSQL or SQLite
through SQLAlchemy Core, created on start (no migrations). The primary key keeps one copy.
"""

from __future__ import annotations

import gzip
import hashlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    create_engine,
    delete,
    insert,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, SQLAlchemyError

from sccm_cep.contract.deletion import site_pseudonyms
from sccm_cep.contract.upload import DocumentKind, UploadTarget
from sccm_cep.errors import ConfigError

__all__ = ["metadata", "open_receiver_db", "received_documents", "store_document", "stored_ids"]

metadata = MetaData()
received_documents = Table(
    "received_documents",
    metadata,
    Column("document_id", String(36), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("schema_version", String(16), nullable=False),
    Column("site", String(32), nullable=False, index=True),
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
    try:
        metadata.create_all(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise ConfigError(
            f"cannot open the receiver database {shown}",
            hint="check --db, that the server runs and that the user may create tables",
        ) from exc
    return engine


def store_document(
    engine: Engine, target: UploadTarget, doc: dict[str, Any], text: bytes, gzipped: bytes | None
) -> bool:
    """Store a validated document (``text`` its JSON, ``gzipped`` the body as received when it
    came gzip); False when one with its id is stored already. A deletion request removes, in the
    same transaction, every submission stored under any site pseudonym it names (``site`` and
    ``earlier_sites``: the site's pseudonyms under every key version it used)."""
    row = {
        "document_id": target.document_id,
        "kind": str(target.kind),
        "schema_version": target.schema_version,
        "site": str(doc["site"]),
        "period": doc.get("period"),
        "revision": doc.get("revision"),
        "received_at": datetime.now(UTC).replace(tzinfo=None),
        "body": gzipped if gzipped is not None else gzip.compress(text),
        "sha256": hashlib.sha256(text).hexdigest(),
    }
    try:
        with engine.begin() as conn:
            conn.execute(insert(received_documents).values(**row))
            if target.kind is DocumentKind.DELETION_REQUEST:
                conn.execute(
                    delete(received_documents).where(
                        received_documents.c.site.in_(site_pseudonyms(doc)),
                        received_documents.c.kind == DocumentKind.SUBMISSION.value,
                    )
                )
    except IntegrityError:
        return False
    return True


def stored_ids(engine: Engine, kind: str = DocumentKind.SUBMISSION) -> list[str]:
    """The document ids stored for ``kind``, in order."""
    query = (
        select(received_documents.c.document_id)
        .where(received_documents.c.kind == str(kind))
        .order_by(received_documents.c.document_id)
    )
    with engine.connect() as conn:
        return [str(v) for v in conn.execute(query).scalars()]
