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

The figures are aggregated on the database over the fact tables (``receiver.facts``, the
latest revision of each (site, period)), four queries in one read-only snapshot, plus the two
largest holders of a value only where its largest cannot decide the dominance rule: nothing
is parsed, and Python holds a batch of value rows (``FETCH``) and the published values,
whatever the number of sites.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import groupby
from typing import Any

from sqlalchemy import CTE, Connection, Engine, Select, Subquery, and_, case, func, select, true
from sqlalchemy.dialects.postgresql import distinct_on

from sccm_cep.receiver.facts import FIGURES, fact_submissions, fact_values
from sccm_cep.receiver.store import received_documents

__all__ = ["DOMINANCE", "PLACEHOLDERS", "build_report", "dominated", "nps"]

TOP = 10
#: Value rows fetched at a time: a report reads a few dozen before ``TOP`` software is listed.
FETCH = 200
#: PostgreSQL's memory per sort or hash for the report's transaction (a fixed bound, on the
#: server).
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


def _newest(dialect: str) -> CTE:
    """Of each site pseudonym, the (site, period) with the newest period: its document_id,
    contributor, quarter and totals. ``DISTINCT ON`` on PostgreSQL, whose planner then knows it
    as one row per site (a filter on a window's output it guesses at a few rows, and sorts
    where it should hash); ``row_number`` elsewhere."""
    fs = fact_submissions
    columns = [fs.c.document_id, fs.c.contributor, fs.c.quarter, *(fs.c[f"total_{f}"] for f in FIGURES)]
    if dialect == "postgresql":
        on_site = select(*columns).ext(distinct_on(fs.c.site))
        return on_site.order_by(fs.c.site, fs.c.period.desc()).cte("newest")
    newest_first = func.row_number().over(partition_by=fs.c.site, order_by=fs.c.period.desc())
    ranked = select(*columns, newest_first.label("n")).subquery()
    return select(*(ranked.c[c.name] for c in columns)).where(ranked.c.n == 1).cte("newest")


def _current(dialect: str) -> Subquery:
    """The documents that speak for each contributor: the newest of each of its site
    pseudonyms, if in the contributor's latest quarter (document_id, contributor, its totals).
    One scan of ``fact_submissions``, a grouping per contributor and a join."""
    newest = _newest(dialect)
    last = (
        select(newest.c.contributor, func.max(newest.c.quarter).label("quarter"))
        .group_by(newest.c.contributor)
        .subquery("last")
    )
    return (
        select(newest.c.document_id, newest.c.contributor, *(newest.c[f"total_{f}"] for f in FIGURES))
        .join_from(
            newest,
            last,
            and_(newest.c.contributor == last.c.contributor, newest.c.quarter == last.c.quarter),
        )
        .subquery("current")
    )


def _holdings(current: Subquery) -> Select[Any]:
    """Each contributor's weight of each value (figure, labels) over its current documents;
    zero weights are no holding."""
    fv = fact_values
    return (
        select(fv.c.figure, fv.c.label1, fv.c.label2, func.sum(fv.c.weight).label("w"))
        .join_from(fv, current, fv.c.document_id == current.c.document_id)
        .group_by(fv.c.figure, current.c.contributor, fv.c.label1, fv.c.label2)
        .having(func.sum(fv.c.weight) > 0)
    )


def _value_rows(conn: Connection, current: Subquery) -> Iterator[Any]:
    """Per figure and value (labels), largest total first: its total weight, how many
    contributors hold it and the weight of the largest (``top1``). Two hashed groupings in one
    pass over the facts for every figure, streamed; no sort over every holder."""
    held = _holdings(current).subquery("held")
    value = (held.c.figure, held.c.label1, held.c.label2)
    total = func.sum(held.c.w).label("total")
    query = (
        select(*value, total, func.count().label("holders"), func.max(held.c.w).label("top1"))
        .group_by(*value)
        .order_by(held.c.figure, total.desc())
    )
    yield from conn.execution_options(stream_results=True, yield_per=FETCH).execute(query)


def _largest(conn: Connection, current: Subquery, row: Any) -> list[int]:
    """The weights of the largest holders of ``row``'s value, as many as ``DOMINANCE`` looks
    at, largest first."""
    fv = fact_values
    held = (  # a label that is None is compared with IS NULL
        _holdings(current)
        .where(fv.c.figure == row.figure, fv.c.label1 == row.label1, fv.c.label2 == row.label2)
        .subquery("held")
    )
    depth = max(n for n, _p in DOMINANCE)
    query = select(held.c.w).order_by(held.c.w.desc()).limit(depth)
    return [int(w) for w in conn.execute(query).scalars()]


def _dominated_row(row: Any, largest: Callable[[Any], list[int]]) -> bool:
    """The dominance rule on a value row, the verdict ``dominated`` gives on all its weights:
    decided by its largest holder (``top1``) where it can be, since the n largest weigh at most
    n times it; else on ``largest(row)``, its largest holders' weights from the database."""
    total, top1 = int(row.total), int(row.top1)
    if not _dominated_by({n: n * top1 for n, _p in DOMINANCE}, total):
        return False
    if any(top1 > p * total for n, p in DOMINANCE if n == 1):
        return True
    weights = largest(row)
    return _dominated_by({n: sum(weights[:n]) for n, _p in DOMINANCE}, total)


def _figure_totals(conn: Connection, current: Subquery) -> dict[str, tuple[int, int, int]]:
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


def _published(
    rows: Iterator[Any],
    labels: tuple[str, ...],
    k: int,
    limit: int | None,
    largest: Callable[[Any], list[int]],
) -> Iterator[Any]:
    """The values that may be listed, in the report's order (largest total, then by labels),
    stopping after ``limit``; ``largest`` gives a value's largest holders where the rule needs
    them."""
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
        if int(row.holders) >= k and not PLACEHOLDERS & set(key) and not _dominated_row(row, largest):
            tie.append((str(key), row))
    yield from flush()


def _shares(
    figure: str,
    totals: tuple[int, int, int],
    rows: Iterator[Any],
    k: int,
    limit: int | None,
    largest: Callable[[Any], list[int]],
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
        for row in _published(rows, labels, k, limit, largest)
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
    current = _current(conn.dialect.name)
    totals = _figure_totals(conn, current)
    out: dict[str, dict[str, Any]] = {}

    def largest(row: Any) -> list[int]:
        return _largest(conn, current, row)

    for figure, rows in groupby(_value_rows(conn, current), key=lambda row: str(row.figure)):
        if figure in FIGURES:
            limit = TOP if figure == "top_software" else None
            out[figure] = _shares(figure, totals[figure], rows, k, limit, largest)
            if out.keys() == FIGURES.keys():
                break  # the rest of the last figure's values are never listed: not fetched
    # A figure no document has rows for: no contributor gave it.
    return {
        figure: out.get(figure) or _shares(figure, (0, 0, 0), iter(()), k, None, largest)
        for figure in FIGURES
    }


def _nps_figure(conn: Connection, k: int) -> dict[str, Any]:
    """The NPS over every counted answer (the latest revision of every (site, period)), when k
    contributors answered and none dominates. One statement: the largest contributors' answer
    counts, each row carrying the totals."""
    fs = fact_submissions
    score = fs.c.feedback_score
    answered = score.is_not(None)
    per = (
        select(fs.c.contributor, func.count().label("answers"))
        .where(answered)
        .group_by(fs.c.contributor)
        .cte("per")
    )
    one = func.sum(case((score >= 9, 1), else_=0)), func.sum(case((score.between(7, 8), 1), else_=0))
    totals = select(func.count().label("answers"), one[0].label("promoters"), one[1].label("passives"))
    summed = totals.where(answered).subquery("summed")
    depth = max(n for n, _p in DOMINANCE)
    query = (
        select(
            per.c.answers.label("theirs"),
            select(func.count()).select_from(per).scalar_subquery().label("contributors"),
            summed.c.answers,
            summed.c.promoters,
            summed.c.passives,
        )
        .join_from(per, summed, true())
        .order_by(per.c.answers.desc())
        .limit(depth)
    )
    rows = conn.execute(query).all()
    if not rows:  # nobody answered
        return {**_withheld(k), "answers": None}
    counts = [int(row.theirs) for row in rows]
    contributors, answers = int(rows[0].contributors), int(rows[0].answers)
    largest = {n: sum(counts[:n]) for n, _p in DOMINANCE}
    if contributors < k or _dominated_by(largest, answers):
        return {**_withheld(k), "answers": None}
    promoters, passives = int(rows[0].promoters or 0), int(rows[0].passives or 0)
    detractors = answers - promoters - passives
    return {
        "value": round(100.0 * (promoters - detractors) / answers, 1) if answers else None,
        "contributors": contributors,
        "answers": answers,
        "promoters": promoters,
        "passives": passives,
        "detractors": detractors,
    }


def build_report(engine: Engine, *, k: int = 5) -> dict[str, Any]:
    """The summary across participants; ``documents``, ``sites`` (pseudonyms) and
    ``contributors`` are always given."""
    t = received_documents
    submissions = t.c.kind == "submission"
    counts = select(
        select(func.count()).where(submissions).scalar_subquery().label("documents"),
        select(func.count(func.distinct(t.c.site))).where(submissions).scalar_subquery().label("sites"),
        select(func.count(func.distinct(fact_submissions.c.contributor)))
        .scalar_subquery()
        .label("contributors"),
    )
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            # Every figure from one snapshot, read-only; groupings in memory, not spilled to
            # disk; the value rows' cursor planned for reading them all, not a first tenth.
            conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            conn.exec_driver_sql(f"SET LOCAL work_mem = '{WORK_MEM}'")
            conn.exec_driver_sql("SET LOCAL cursor_tuple_fraction = 1")
        documents, sites, contributors = conn.execute(counts).one()
        return {
            "k": k,
            "documents": documents,
            "sites": sites,
            "contributors": contributors,
            **_figures(conn, k),
            "nps": _nps_figure(conn, k),
        }
