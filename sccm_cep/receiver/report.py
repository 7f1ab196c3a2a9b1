"""``receiver report``: figures across participants from the receiver's database.

k counts contributors, not site pseudonyms: a document's ``contributor`` is its collector
installation (the same for all its sites and every key version), and a document without one
counts as a contributor of its own (its site pseudonym). A figure is published only when at
least k contributors gave it, and each value in it only when at least k contributors hold it
and none dominates it: the (n, p) dominance rule, no value where the largest contributor holds
more than 50 % of its weight or the two largest more than 85 % (``DOMINANCE``). What is not
published is null with ``"withheld": k``, or folded into ``other_share``.

Each contributor speaks with its latest quarter: of each of its site pseudonyms the newest
document, and of those only the ones in the contributor's latest quarter, so a site whose key
was rotated is not counted under its old pseudonym next to its new one.

Every figure is one GROUP BY on the database over the fact tables (``receiver.facts``, the
latest revision of each (site, period)): nothing is parsed, and what Python holds is one row
per published value, whatever the number of sites.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from itertools import groupby
from typing import Any

from sqlalchemy import CTE, Connection, Engine, and_, case, func, select

from sccm_cep.receiver.facts import FIGURES, fact_submissions, fact_values
from sccm_cep.receiver.store import received_documents

__all__ = ["DOMINANCE", "PLACEHOLDERS", "build_report", "dominated", "nps"]

TOP = 10
#: PostgreSQL's memory per sort for the report's transaction (a fixed bound, on the server).
WORK_MEM = "64MB"
#: (n, p): no value is published where the n largest contributors hold more than p of it.
DOMINANCE = ((1, 0.50), (2, 0.85))

#: What a collector sends instead of a name (a rare value, an identifier, software no catalog
#: recognizes): never listed as if it were a product or release, always part of ``other_share``.
PLACEHOLDERS = frozenset({"other", "unrecognized"})


def nps(scores: Iterable[int]) -> float | None:
    """%promoters (9-10) − %detractors (0-6), rounded to one decimal; None with no answers."""
    answers = list(scores)
    if not answers:
        return None
    promoters = sum(1 for s in answers if s >= 9)
    detractors = sum(1 for s in answers if s <= 6)
    return round(100.0 * (promoters - detractors) / len(answers), 1)


def _dominated_by(largest: Mapping[int, float], total: float) -> bool:
    """The dominance rule on ``largest`` (n → the sum of the n largest weights) of ``total``."""
    return total > 0 and any(largest[n] > p * total for n, p in DOMINANCE)


def dominated(weights: Iterable[float]) -> bool:
    """Whether the largest contributors' part of a value breaks the dominance rule."""
    ordered = sorted((w for w in weights if w > 0), reverse=True)
    return _dominated_by({n: sum(ordered[:n]) for n, _p in DOMINANCE}, sum(ordered))


def _withheld(k: int) -> dict[str, Any]:
    return {"value": None, "withheld": k}


def _current() -> CTE:
    """The documents that speak for each contributor: the newest of each of its site
    pseudonyms, if in the contributor's latest quarter (document_id, contributor, its totals).

    Window functions over one scan of ``fact_submissions``, no self-join; materialized once on
    PostgreSQL, so a planner without statistics (a new database) cannot re-run it per row."""
    fs = fact_submissions
    newest_first = func.row_number().over(partition_by=fs.c.site, order_by=fs.c.period.desc())
    totals = [f"total_{figure}" for figure in FIGURES]
    ranked = select(
        fs.c.document_id, fs.c.contributor, fs.c.quarter, *(fs.c[t] for t in totals), newest_first.label("n")
    ).subquery()
    last = func.max(ranked.c.quarter).over(partition_by=ranked.c.contributor)
    newest = (
        select(
            ranked.c.document_id,
            ranked.c.contributor,
            ranked.c.quarter,
            *(ranked.c[t] for t in totals),
            last.label("last"),
        )
        .where(ranked.c.n == 1)
        .subquery()
    )
    return (
        select(newest.c.document_id, newest.c.contributor, *(newest.c[t] for t in totals))
        .where(newest.c.quarter == newest.c.last)
        .cte("current")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )


def _value_rows(conn: Connection, current: CTE) -> Iterator[Any]:
    """Per figure and value (labels), largest total first: its total weight, how many
    contributors hold it, and the weight of its n largest holders (``top<n>``). One pass over
    the facts for every figure, streamed.

    Grouping, not sorting: the holders' weights are summed per (value, contributor); the largest
    (``m1``) comes from a second grouping per value, joined back, and the third grouping counts
    the holders at ``m1`` and finds the largest weight below it (``m2``), so the two largest
    holders weigh ``2 m1`` when two share the top, else ``m1 + m2``. No row_number over every
    holder: the server hashes where it used to sort."""
    fv = fact_values
    # label2 is NULL in one-label figures: joined on (is it NULL, its text) so the join hashes.
    null2, text2 = fv.c.label2.is_(None).label("null2"), func.coalesce(fv.c.label2, "").label("text2")
    held = (
        select(
            fv.c.figure,
            current.c.contributor,
            fv.c.label1,
            fv.c.label2,
            null2,
            text2,
            func.sum(fv.c.weight).label("w"),
        )
        .join_from(fv, current, fv.c.document_id == current.c.document_id)
        .group_by(fv.c.figure, current.c.contributor, fv.c.label1, fv.c.label2)
        .having(func.sum(fv.c.weight) > 0)
        .cte("held")
    )
    value = (held.c.figure, held.c.label1, held.c.label2)
    key = (held.c.figure, held.c.label1, held.c.null2, held.c.text2)
    top = select(*key, func.max(held.c.w).label("m1")).group_by(*key).subquery()
    theirs = (top.c.figure, top.c.label1, top.c.null2, top.c.text2)
    joined = held.join(top, and_(*(a == b for a, b in zip(key, theirs, strict=True))))
    at_top = func.sum(case((held.c.w == top.c.m1, 1), else_=0))
    below = func.max(case((held.c.w < top.c.m1, held.c.w)))
    total = func.sum(held.c.w).label("total")
    m1 = func.max(top.c.m1)
    two = case((at_top >= 2, m1 * 2), else_=m1 + func.coalesce(below, 0))
    tops = {1: m1, 2: two}  # the n of DOMINANCE
    query = (
        select(
            held.c.figure,
            held.c.label1,
            held.c.label2,
            total,
            func.count().label("holders"),
            *(tops[n].label(f"top{n}") for n, _p in DOMINANCE),
        )
        .select_from(joined)
        .group_by(*value)
        .order_by(held.c.figure, total.desc())
    )
    yield from conn.execution_options(stream_results=True, yield_per=1000).execute(query)


def _figure_totals(conn: Connection, current: CTE) -> dict[str, tuple[int, int, int]]:
    """Per figure: the contributors and the documents with rows for it, and the total of its
    weights (never negative: the contract's minimum is 0), from the current documents' totals."""
    columns = []
    for figure in FIGURES:
        total = current.c[f"total_{figure}"]
        has = case((total.is_not(None), current.c.contributor))
        columns += [func.count(func.distinct(has)), func.count(total), func.sum(total)]
    row = conn.execute(select(*columns)).one()
    return {
        figure: (int(row[3 * n]), int(row[3 * n + 1]), int(row[3 * n + 2] or 0))
        for n, figure in enumerate(FIGURES)
    }


def _published(rows: Iterator[Any], labels: tuple[str, ...], k: int, limit: int | None) -> Iterator[Any]:
    """The values that may be listed, in the report's order (largest total, then by labels),
    stopping after ``limit``."""
    shown = 0
    tie: list[tuple[str, Any]] = []

    def flush() -> Iterator[Any]:
        nonlocal shown
        for _key, row in sorted(tie, key=lambda kr: kr[0]):
            if limit is not None and shown >= limit:
                return
            shown += 1
            yield row
        tie.clear()

    for row in rows:
        key = (row.label1, row.label2)[: len(labels)]
        if tie and int(tie[-1][1].total) != int(row.total):
            yield from flush()
            if limit is not None and shown >= limit:
                return
        largest = {n: int(getattr(row, f"top{n}")) for n, _p in DOMINANCE}
        if (
            int(row.holders) >= k
            and not _dominated_by(largest, int(row.total))
            and not PLACEHOLDERS & set(key)
        ):
            tie.append((str(key), row))
    yield from flush()


def _shares(
    figure: str, totals: tuple[int, int, int], rows: Iterator[Any], k: int, limit: int | None
) -> dict[str, Any]:
    """One figure from its totals and value rows: the shares of the total of each published
    value. Values fewer than k contributors hold, that one or two dominate, placeholders
    (``other``, ``unrecognized``) and those past ``limit`` make up ``other_share``; the whole
    figure is withheld below k contributors."""
    contributors, sites, grand = totals
    if contributors < k:
        return _withheld(k)
    labels = FIGURES[figure][2]
    items = [
        {
            **dict(zip(labels, (row.label1, row.label2), strict=False)),
            "share": round(int(row.total) / grand, 4),
        }
        for row in _published(rows, labels, k, limit)
    ]
    shown = sum(i["share"] for i in items)
    return {
        "value": items,
        "contributors": contributors,
        "sites": sites,
        "other_share": round(max(0.0, 1 - shown), 4) if grand else 0.0,
    }


def _figures(conn: Connection, k: int) -> dict[str, dict[str, Any]]:
    """Every figure of ``FIGURES`` (``top_software`` cut at ``TOP``)."""
    current = _current()
    totals = _figure_totals(conn, current)
    out: dict[str, dict[str, Any]] = {}
    for figure, rows in groupby(_value_rows(conn, current), key=lambda row: str(row.figure)):
        if figure in FIGURES:
            limit = TOP if figure == "top_software" else None
            out[figure] = _shares(figure, totals[figure], rows, k, limit)
    # A figure no document has rows for: no contributor gave it.
    return {figure: out.get(figure) or _shares(figure, (0, 0, 0), iter(()), k, None) for figure in FIGURES}


def _nps_figure(conn: Connection, k: int) -> dict[str, Any]:
    """The NPS over every counted answer (the latest revision of every (site, period)), when k
    contributors answered and none dominates."""
    fs = fact_submissions
    score = fs.c.feedback_score
    answered = fs.c.feedback_score.is_not(None)
    per = (
        select(fs.c.contributor, func.count().label("answers"))
        .where(answered)
        .group_by(fs.c.contributor)
        .subquery()
    )
    contributors = int(conn.execute(select(func.count()).select_from(per)).scalar_one())
    depth = max(n for n, _p in DOMINANCE)
    counts = [
        int(v)
        for v in conn.execute(select(per.c.answers).order_by(per.c.answers.desc()).limit(depth)).scalars()
    ]
    one = func.sum(case((score >= 9, 1), else_=0)), func.sum(case((score.between(7, 8), 1), else_=0))
    answers, promoters, passives = conn.execute(select(func.count(), *one).where(answered)).one()
    largest = {n: sum(counts[:n]) for n, _p in DOMINANCE}
    if contributors < k or _dominated_by(largest, int(answers)):
        return {**_withheld(k), "answers": None}
    promoters, passives = int(promoters or 0), int(passives or 0)
    detractors = int(answers) - promoters - passives
    return {
        "value": round(100.0 * (promoters - detractors) / answers, 1) if answers else None,
        "contributors": contributors,
        "answers": int(answers),
        "promoters": promoters,
        "passives": passives,
        "detractors": detractors,
    }


def build_report(engine: Engine, *, k: int = 5) -> dict[str, Any]:
    """The summary across participants; ``documents``, ``sites`` (pseudonyms) and
    ``contributors`` are always given."""
    t = received_documents
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":  # the value sorts in memory, not spilled to disk
            conn.exec_driver_sql(f"SET LOCAL work_mem = '{WORK_MEM}'")
        documents = conn.execute(select(func.count()).where(t.c.kind == "submission")).scalar_one()
        sites = conn.execute(
            select(func.count(func.distinct(t.c.site))).where(t.c.kind == "submission")
        ).scalar_one()
        contributors = conn.execute(
            select(func.count(func.distinct(fact_submissions.c.contributor)))
        ).scalar_one()
        return {
            "k": k,
            "documents": documents,
            "sites": sites,
            "contributors": contributors,
            **_figures(conn, k),
            "nps": _nps_figure(conn, k),
        }
