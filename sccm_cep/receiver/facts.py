"""The receiver's fact tables: what ``receiver report`` aggregates, written on ingest in the same
transaction as the document so the report never parses a stored document.

``fact_submissions`` holds one row per (site, period): its current document (the highest
revision received), the contributor who stands behind it, its quarter and its feedback score.
Its primary key is what keeps several receiver processes from counting a (site, period) twice:
a write is an upsert that replaces the row only for a higher revision, and only the writer whose
upsert took effect (``RETURNING``) writes the document's ``fact_values`` and removes those of
the revision it superseded. A lower revision arriving late changes nothing.

``fact_values`` holds, per current document and figure, each dimension value (one or two
labels) with its summed weight (device count, installations, or 1 a row).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import TypeEngine

__all__ = [
    "FIGURES",
    "backfill",
    "contributor_key",
    "delete_site_facts",
    "fact_submissions",
    "fact_values",
    "figure_rows",
    "metadata",
    "quarter",
    "write_facts",
]

Row = Mapping[str, Any]

#: figure → (section, record, the row's labels, the weight field or None for 1 a row).
FIGURES: dict[str, tuple[str, str, tuple[str, ...], str | None]] = {
    "os_releases": ("operating_systems", "operating_system", ("family", "release"), "device_count"),
    "sccm_versions": ("site_profile", "site", ("release",), None),
    "top_software": ("software", "software", ("publisher", "product"), "installations"),
    "deployment_technologies": ("deployments", "deployment", ("feature_type",), None),
}


def _ORDERED(length: int | None = None) -> TypeEngine[str]:
    """A string column compared byte-wise on PostgreSQL too (its "C" collation): the order
    SQLite and Python use, and sorts and groupings without the locale's cost."""
    plain = String(length) if length else Text()
    exact = String(length, collation="C") if length else Text(collation="C")
    return plain.with_variant(exact, "postgresql")


#: Created by ``receiver.store`` on start, next to ``received_documents``.
metadata = MetaData()
fact_submissions = Table(
    "fact_submissions",
    metadata,
    Column("site", String(32), primary_key=True),
    Column("period", _ORDERED(16), primary_key=True),
    Column("document_id", String(36), nullable=False, index=True),
    Column("revision", Integer, nullable=False),
    # "contributor:<pseudonym>", or "site:<pseudonym>" for a document that names none.
    Column("contributor", _ORDERED(48), nullable=False, index=True),
    Column("quarter", _ORDERED(8), nullable=False),
    Column("feedback_score", Integer),
    # Per figure, the sum of the document's weights for it (None: it has no rows for it).
    *(Column(f"total_{figure}", BigInteger) for figure in FIGURES),
)
fact_values = Table(
    "fact_values",
    metadata,
    Column("document_id", String(36), nullable=False),
    Column("figure", _ORDERED(24), nullable=False),
    Column("label1", _ORDERED()),
    Column("label2", _ORDERED()),
    Column("weight", BigInteger, nullable=False),
    Index("ix_fact_values_document_figure", "document_id", "figure"),
)


def contributor_key(site: str, contributor: Any) -> str:
    """Who stands behind a document: its contributor, else its site pseudonym."""
    return f"contributor:{contributor}" if isinstance(contributor, str) and contributor else f"site:{site}"


def quarter(period: str) -> str:
    """The quarter a period key falls in ("2026-Q4"; a 2-week window by its first day)."""
    if period.endswith("/P14D"):
        day = date.fromisoformat(period[:10])
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return period


def _label(value: Any) -> str | None:
    return None if value is None else str(value)


def figure_rows(doc: Row) -> Iterable[dict[str, Any]]:
    """The document's fact rows: per figure, each distinct label tuple with its summed weight
    (a figure the document has rows for always yields at least one, weight 0 included)."""
    for figure, (section, record, labels, weight) in FIGURES.items():
        part = doc.get(section)
        rows = part.get(record) if isinstance(part, dict) else None
        summed: Counter[tuple[str | None, ...]] = Counter()
        for r in rows if isinstance(rows, list) else ():
            if isinstance(r, dict):
                key = tuple(_label(r.get(name)) for name in labels)
                summed[key] += int(r.get(weight) or 0) if weight else 1
        for key, w in summed.items():
            yield {
                "figure": figure,
                "label1": key[0],
                "label2": key[1] if len(key) > 1 else None,
                "weight": w,
            }


def _upsert(conn: Connection) -> Callable[..., Any]:
    name = conn.dialect.name
    if name == "postgresql":
        return postgresql.insert
    if name == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"the receiver's fact tables need PostgreSQL or SQLite, not {name}")


def write_facts(conn: Connection, documents: Table, document_id: str, doc: Row) -> bool:
    """Make ``doc`` (a submission stored as ``document_id``) its (site, period)'s current one
    unless a higher (or the same) revision already is; True when it became current.
    ``documents`` is the table of stored documents (to find the revisions it supersedes)."""
    site, period = str(doc["site"]), str(doc.get("period") or "")
    score = (doc.get("feedback") or {}).get("score") if isinstance(doc.get("feedback"), dict) else None
    row: dict[str, Any] = {
        "site": site,
        "period": period,
        "document_id": document_id,
        "revision": int(doc.get("revision") or 0),
        "contributor": contributor_key(site, doc.get("contributor")),
        "quarter": quarter(period),
        "feedback_score": score if isinstance(score, int) else None,
    }
    facts = [{"document_id": document_id, **r} for r in figure_rows(doc)]
    totals: dict[str, int | None] = dict.fromkeys(FIGURES)
    for fact in facts:  # weights are never negative (the contract's minimum is 0)
        totals[fact["figure"]] = (totals[fact["figure"]] or 0) + max(0, int(fact["weight"]))
    row.update({f"total_{figure}": total for figure, total in totals.items()})
    t = fact_submissions
    stmt = _upsert(conn)(t).values(**row)
    stmt = stmt.on_conflict_do_update(
        index_elements=[t.c.site, t.c.period],
        set_={name: stmt.excluded[name] for name in row if name not in ("site", "period")},
        where=t.c.revision < stmt.excluded.revision,
    ).returning(t.c.document_id)
    if conn.execute(stmt).first() is None:
        return False  # a higher revision is current (its row is locked by us until commit)
    _drop_superseded(conn, documents, site, period, document_id)
    if facts:
        conn.execute(insert(fact_values), facts)
    return True


def _drop_superseded(conn: Connection, docs: Table, site: str, period: str, current: str) -> None:
    """Remove the fact values of the (site, period)'s other revisions."""
    others = select(docs.c.document_id).where(
        docs.c.site == site, docs.c.period == period, docs.c.document_id != current
    )
    conn.execute(delete(fact_values).where(fact_values.c.document_id.in_(others)))


def delete_site_facts(conn: Connection, sites: Iterable[str]) -> None:
    """Remove every fact of the given site pseudonyms (a deletion request).

    ``fact_submissions`` first, as a submission's write does: a deletion racing a revision of
    the same site waits for its row lock instead of deadlocking on the values, then removes the
    revision's values by the ids its delete returns."""
    names = list(sites)
    gone = (
        delete(fact_submissions)
        .where(fact_submissions.c.site.in_(names))
        .returning(fact_submissions.c.document_id)
    )
    ids = [str(v) for v in conn.execute(gone).scalars()]
    for start in range(0, len(ids), 500):
        conn.execute(delete(fact_values).where(fact_values.c.document_id.in_(ids[start : start + 500])))


def backfill(engine: Engine, docs: Table, load: Callable[[Connection, str], Row | None]) -> int:
    """Write the facts of stored submissions whose (site, period) has none (a database made
    before the fact tables, or one whose back-fill was interrupted); the number written.
    One transaction per document, so several receivers starting at once may both run it."""
    missing = (
        select(docs.c.document_id)
        .where(docs.c.kind == "submission")
        .where(
            ~select(fact_submissions.c.site)
            .where(fact_submissions.c.site == docs.c.site, fact_submissions.c.period == docs.c.period)
            .exists()
        )
        .order_by(docs.c.document_id)
    )
    with engine.connect() as conn:
        ids = [str(v) for v in conn.execute(missing).scalars()]
    written = 0
    for document_id in ids:
        with engine.begin() as conn:
            doc = load(conn, document_id)
            if doc is not None and write_facts(conn, docs, document_id, doc):
                written += 1
    return written
