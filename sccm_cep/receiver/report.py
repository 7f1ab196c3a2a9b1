"""``receiver report``: figures across participants from the receiver's database, each published
only when at least k sites contributed to it (else null, with ``"withheld": k``)."""

from __future__ import annotations

import gzip
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, func, select

from sccm_cep.receiver.store import received_documents

__all__ = ["build_report", "nps"]

TOP = 10

Doc = dict[str, Any]


def nps(scores: Iterable[int]) -> float | None:
    """%promoters (9-10) − %detractors (0-6), rounded to one decimal; None with no answers."""
    answers = list(scores)
    if not answers:
        return None
    promoters = sum(1 for s in answers if s >= 9)
    detractors = sum(1 for s in answers if s <= 6)
    return round(100.0 * (promoters - detractors) / len(answers), 1)


def _latest(engine: Engine) -> dict[tuple[str, str], Doc]:
    """The latest revision of each (site, period)'s submission, parsed."""
    t = received_documents
    query = select(t.c.site, t.c.period, t.c.revision, t.c.body).where(t.c.kind == "submission")
    best: dict[tuple[str, str], tuple[int, bytes]] = {}
    with engine.connect() as conn:
        for site, period, revision, body in conn.execute(query):
            key = (str(site), str(period))
            if key not in best or (revision or 0) > best[key][0]:
                best[key] = (revision or 0, bytes(body))
    return {key: json.loads(gzip.decompress(body)) for key, (_rev, body) in best.items()}


def _rows(doc: Doc, section: str, record: str) -> list[dict[str, Any]]:
    rows = (doc.get(section) or {}).get(record) or []
    return [r for r in rows if isinstance(r, dict)]


def _withheld(k: int) -> dict[str, Any]:
    return {"value": None, "withheld": k}


def _shares(
    weights: dict[str, Counter[tuple[Any, ...]]], k: int, labels: tuple[str, ...], *, limit: int | None = None
) -> dict[str, Any]:
    """Per-site weights → shares of the total; items fewer than k sites have (or past ``limit``) make up ``other_share``."""
    if len(weights) < k:
        return _withheld(k)
    total: Counter[tuple[Any, ...]] = Counter()
    sites: Counter[tuple[Any, ...]] = Counter()
    for per_site in weights.values():
        total.update(per_site)
        sites.update(key for key, w in per_site.items() if w > 0)
    grand = sum(total.values())
    items = [
        {**dict(zip(labels, key, strict=True)), "share": round(w / grand, 4) if grand else 0.0}
        for key, w in sorted(total.items(), key=lambda kv: (-kv[1], str(kv[0])))
        if sites[key] >= k
    ][:limit]
    shown = sum(i["share"] for i in items)
    return {
        "value": items,
        "sites": len(weights),
        "other_share": round(max(0.0, 1 - shown), 4) if grand else 0.0,
    }


def build_report(engine: Engine, *, k: int = 5) -> dict[str, Any]:
    """The summary across participants; ``documents`` and ``sites`` are always given."""
    t = received_documents
    with engine.connect() as conn:
        documents = conn.execute(select(func.count()).where(t.c.kind == "submission")).scalar_one()
        sites = conn.execute(
            select(func.count(func.distinct(t.c.site))).where(t.c.kind == "submission")
        ).scalar_one()
    latest = _latest(engine)
    newest: dict[str, Doc] = {}
    for (site, _period), doc in sorted(latest.items()):
        newest[site] = doc  # sorted by period: the last one per site is its newest
    os_weights: dict[str, Counter[tuple[Any, ...]]] = {}
    versions: dict[str, Counter[tuple[Any, ...]]] = {}
    software: dict[str, Counter[tuple[Any, ...]]] = {}
    deployments: dict[str, Counter[tuple[Any, ...]]] = {}
    for site, doc in newest.items():
        if rows := _rows(doc, "operating_systems", "operating_system"):
            os_weights[site] = Counter()
            for r in rows:
                os_weights[site][(r.get("family"), r.get("release"))] += int(r.get("device_count") or 0)
        if rows := _rows(doc, "site_profile", "site"):
            versions[site] = Counter((r.get("release"),) for r in rows)
        if rows := _rows(doc, "software", "software"):
            software[site] = Counter()
            for r in rows:
                software[site][(r.get("publisher"), r.get("product"))] += int(r.get("installations") or 0)
        if rows := _rows(doc, "deployments", "deployment"):
            deployments[site] = Counter((r.get("feature_type"),) for r in rows)
    scores: dict[str, list[int]] = defaultdict(list)
    for (site, _period), doc in latest.items():
        answer = doc.get("feedback")
        if isinstance(answer, dict) and isinstance(answer.get("score"), int):
            scores[site].append(answer["score"])
    every = [s for per_site in scores.values() for s in per_site]
    if len(scores) < k:
        score_figure = {**_withheld(k), "answers": None}
    else:
        score_figure = {
            "value": nps(every),
            "sites": len(scores),
            "answers": len(every),
            "promoters": sum(1 for s in every if s >= 9),
            "passives": sum(1 for s in every if 7 <= s <= 8),
            "detractors": sum(1 for s in every if s <= 6),
        }
    return {
        "k": k,
        "documents": documents,
        "sites": sites,
        "os_releases": _shares(os_weights, k, ("family", "release")),
        "sccm_versions": _shares(versions, k, ("release",)),
        "top_software": _shares(software, k, ("publisher", "product"), limit=TOP),
        "deployment_technologies": _shares(deployments, k, ("feature_type",)),
        "nps": score_figure,
    }
