"""The receiver's fact tables: written with the document, replaced by a higher revision only,
removed by a deletion request, back-filled into an older database; and the report over them on
SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select, text

from bench.fleet import fleet
from fixtures.synthetic_site import drop_pg_schema, pg_schema_url
from sccm_cep.contract.deletion import deletion_request
from sccm_cep.contract.submission import document_id
from sccm_cep.contract.upload import DocumentKind, UploadTarget
from sccm_cep.receiver.facts import fact_submissions, fact_values, figure_rows
from sccm_cep.receiver.report import DOMINANCE, _dominated_by, build_report, dominated
from sccm_cep.receiver.store import open_receiver_db, store_document


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        opened = open_receiver_db(f"sqlite:///{tmp_path / 'receiver.db'}")
        yield opened
        opened.dispose()
        return
    base = request.getfixturevalue("pg_base")
    schema = f"facts_{uuid.uuid4().hex[:10]}"
    opened = open_receiver_db(pg_schema_url(base, schema))
    try:
        yield opened
    finally:
        opened.dispose()
        drop_pg_schema(base, schema)


def _name(n: int) -> str:
    return f"{n:032x}"


def _doc(site: str, period: str, revision: int, products: dict[str, int], contributor: int) -> dict[str, Any]:
    return {
        "site": site,
        "period": period,
        "revision": revision,
        "contributor": _name(contributor),
        "software": {
            "software": [{"publisher": "V", "product": p, "installations": n} for p, n in products.items()]
        },
    }


def _store(engine: Engine, doc: dict[str, Any]) -> str:
    if doc.get("kind") == "deletion-request":
        target = UploadTarget(DocumentKind.DELETION_REQUEST, "1.0", doc["document_id"])
    else:
        target = UploadTarget(
            DocumentKind.SUBMISSION, "1.0", document_id(doc["site"], doc["period"], "1.0", doc["revision"])
        )
    assert store_document(engine, target, doc, json.dumps(doc).encode(), None)
    return target.document_id


def _facts(engine: Engine) -> set[tuple[str, str, int]]:
    """(document id, product, installations) of every software fact."""
    query = select(fact_values.c.document_id, fact_values.c.label2, fact_values.c.weight).where(
        fact_values.c.figure == "top_software"
    )
    with engine.connect() as conn:
        return {(str(d), str(p), int(w)) for d, p, w in conn.execute(query)}


def test_a_higher_revision_replaces_the_facts_and_a_late_lower_one_does_not(engine: Engine) -> None:
    site_a, site_b = _name(1), _name(2)
    a0 = _store(engine, _doc(site_a, "2026-Q4", 0, {"Old": 5}, 1))
    a1 = _store(engine, _doc(site_a, "2026-Q4", 1, {"New": 7}, 1))
    b2 = _store(engine, _doc(site_b, "2026-Q4", 2, {"Kept": 3}, 2))
    b1 = _store(engine, _doc(site_b, "2026-Q4", 1, {"Late": 9}, 2))  # arrives after revision 2
    assert _facts(engine) == {(a1, "New", 7), (b2, "Kept", 3)}
    with engine.connect() as conn:
        current = set(conn.execute(select(fact_submissions.c.document_id)).scalars())
    assert current == {a1, b2} and not {a0, b1} & current
    report = build_report(engine, k=1)
    assert (report["documents"], report["top_software"]["sites"]) == (4, 2)


def test_a_deletion_request_removes_the_facts_of_every_pseudonym_it_names(engine: Engine) -> None:
    current, earlier, other = _name(1), _name(2), _name(3)
    _store(engine, _doc(earlier, "2026-Q3", 0, {"A": 1}, 1))
    _store(engine, _doc(current, "2026-Q4", 0, {"A": 2}, 1))
    _store(engine, _doc(current, "2026-Q4", 1, {"A": 3}, 1))
    kept = _store(engine, _doc(other, "2026-Q4", 0, {"B": 4}, 2))
    _store(engine, deletion_request(current, date(2027, 1, 5), earlier_sites=[earlier]))
    assert _facts(engine) == {(kept, "B", 4)}
    with engine.connect() as conn:
        assert conn.execute(select(fact_submissions.c.site)).scalars().all() == [other]
    report = build_report(engine, k=1)
    assert (report["documents"], report["contributors"]) == (1, 1)


def test_an_older_database_gains_the_fact_tables_and_is_back_filled(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'receiver.db'}"
    engine = open_receiver_db(url)
    for upload in fleet(40, seed=3):
        doc = json.loads(upload.text)
        target = UploadTarget(upload.kind, "1.0", upload.document_id)
        assert store_document(engine, target, doc, upload.text, None)
    expected = build_report(engine, k=3)
    facts = _facts(engine)
    with engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(fact_values)).scalar_one()
    assert expected["top_software"]["value"] and len(facts) > 100
    with engine.begin() as conn:  # what a database of the release before the fact tables holds
        conn.execute(text("DROP TABLE fact_values"))
        conn.execute(text("DROP TABLE fact_submissions"))
    engine.dispose()
    for _ in range(2):  # opening it again neither re-writes nor doubles anything
        again = open_receiver_db(url)
        assert build_report(again, k=3) == expected and _facts(again) == facts
        with again.connect() as conn:
            assert conn.execute(select(func.count()).select_from(fact_values)).scalar_one() == rows
        again.dispose()


def test_fact_rows_sum_a_documents_rows_per_value_and_keep_zero_weights() -> None:
    doc = {
        "operating_systems": {
            "operating_system": [
                {"family": "Windows 11", "release": "23H2", "device_count": 4},
                {"family": "Windows 11", "release": "23H2", "device_count": 6},
                {"family": "Windows 10", "release": None, "device_count": 0},
            ]
        },
        "deployments": {"deployment": [{"feature_type": "application"}, {"feature_type": "application"}]},
    }
    rows = {(r["figure"], r["label1"], r["label2"], r["weight"]) for r in figure_rows(doc)}
    assert rows == {
        ("os_releases", "Windows 11", "23H2", 10),
        ("os_releases", "Windows 10", None, 0),
        ("deployment_technologies", "application", None, 2),
    }


@given(st.lists(st.integers(min_value=0, max_value=1000), max_size=12))
def test_the_rule_on_the_largest_holders_is_the_dominance_rule(weights: list[int]) -> None:
    ordered = sorted((w for w in weights if w > 0), reverse=True)
    largest = {n: sum(ordered[:n]) for n, _p in DOMINANCE}
    assert _dominated_by(largest, sum(ordered)) == dominated(weights)


@given(
    st.one_of(
        st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=12),
        # near the bounds: the largest holder at 40-55 % of the total
        st.integers(min_value=2, max_value=400).flatmap(
            lambda rest: st.tuples(
                st.integers(min_value=rest * 4 // 6, max_value=rest * 6 // 4), st.just(rest)
            ).map(lambda t: [t[0], t[1] // 2, t[1] - t[1] // 2])
        ),
    )
)
def test_a_value_row_gets_the_dominance_rule_verdict_and_asks_for_its_holders_only_when_needed(
    weights: list[int],
) -> None:
    """The report decides on a value's largest holder alone where it can, and asks the database
    for the largest holders only where their weights change the verdict."""
    from types import SimpleNamespace

    from sccm_cep.receiver.report import _dominated_row

    ordered = sorted((w for w in weights if w > 0), reverse=True)
    if not ordered:
        return
    row = SimpleNamespace(total=sum(ordered), top1=ordered[0])
    asked: list[int] = []

    def largest(_row: object) -> list[int]:
        asked.append(1)
        return ordered[: max(n for n, _p in DOMINANCE)]

    assert _dominated_row(row, largest) == dominated(weights)
    bound = {n: n * ordered[0] for n, _p in DOMINANCE}
    by_largest_alone = ordered[0] > 0.5 * sum(ordered)
    needed = _dominated_by(bound, sum(ordered)) and not by_largest_alone
    assert bool(asked) == needed


def test_ties_are_listed_by_label_and_the_top_ten_cut_after_the_tenth(engine: Engine) -> None:
    products = {f"P{n}": 10 for n in range(1, 13)}  # twelve equal values
    for n in range(1, 6):
        _store(engine, _doc(_name(100 + n), "2026-Q4", 0, products, n))
    software = build_report(engine, k=5)["top_software"]
    listed = [i["product"] for i in software["value"]]
    assert listed == ["P1", "P10", "P11", "P12", "P2", "P3", "P4", "P5", "P6", "P7"]
    assert software["other_share"] == round(1 - 10 * round(1 / 12, 4), 4)


def test_the_report_over_a_simulated_fleet_is_the_same_on_sqlite_and_postgresql(
    tmp_path: Path, pg_base: str
) -> None:
    uploads = list(fleet(60, seed=11))
    random.Random(5).shuffle(uploads)  # revisions and deletions in any order
    schema = f"facts_{uuid.uuid4().hex[:10]}"
    engines = [
        open_receiver_db(f"sqlite:///{tmp_path / 'r.db'}"),
        open_receiver_db(pg_schema_url(pg_base, schema)),
    ]
    try:
        for engine in engines:
            for upload in uploads:
                target = UploadTarget(upload.kind, "1.0", upload.document_id)
                store_document(engine, target, json.loads(upload.text), upload.text, None)
        for k in (1, 3, 10):
            lite, pg = (build_report(engine, k=k) for engine in engines)
            assert lite == pg, k
        assert lite["top_software"]["value"] and lite["nps"]["answers"]
    finally:
        for engine in engines:
            engine.dispose()
        drop_pg_schema(pg_base, schema)


def test_the_fleet_simulator_sends_valid_documents_with_revisions_and_deletions() -> None:
    uploads = list(fleet(200, seed=4))  # fleet() checks each against the contract itself
    docs = [json.loads(u.text) for u in uploads]
    kinds = {u.kind for u in uploads}
    assert kinds == {DocumentKind.SUBMISSION, DocumentKind.DELETION_REQUEST}
    assert len({d["document_id"] for d in docs}) == len(docs)
    assert {d.get("revision") for d in docs} >= {0, 1} and {d.get("period") for d in docs} >= {
        "2026-Q4",
        "2027-Q1",
    }
    sizes = [len(d["software"]["software"]) for d in docs if d["kind"] == "submission"]
    assert min(sizes) < 20 < 200 < max(sizes)


def test_the_largest_holders_found_in_sql_are_the_largest_weights(engine: Engine) -> None:
    """Per value, the database's total, holders and largest holder's weight, and the weights
    of its two largest holders, are what sorting the holders' weights gives: ties at the top, ties below it, one holder, zero
    weights (not holders), one contributor holding a value through two of its sites."""
    from sccm_cep.receiver.report import _current, _largest, _value_rows

    holdings = {  # value -> contributor -> weight, each contributor's sites summed
        "TieTop": {1: 5, 2: 5, 3: 1},
        "TieBelow": {1: 9, 2: 3, 3: 3, 4: 1},
        "Alone": {2: 7},
        "Zeros": {1: 4, 2: 0, 3: 2},
        "AllZero": {1: 0, 4: 0},
        "Spread": {1: 1, 2: 2, 3: 3, 4: 4, 5: 5},
    }
    for contributor in range(1, 6):
        mine = {v: w for v, by in holdings.items() for c, w in by.items() if c == contributor}
        # contributor 1 speaks through two sites: its weight for a value is their sum
        halves = (
            [mine, {}]
            if contributor != 1
            else [
                {v: w // 2 for v, w in mine.items()},
                {v: w - w // 2 for v, w in mine.items()},
            ]
        )
        for n, products in enumerate(halves):
            if products:
                _store(engine, _doc(_name(contributor * 10 + n), "2026-Q4", 0, products, contributor))
    with engine.connect() as conn:
        current = _current(conn.dialect.name)
        rows = [row for row in _value_rows(conn, current) if row.figure == "top_software"]
        got = {
            row.label2: (int(row.total), int(row.holders), int(row.top1), _largest(conn, current, row))
            for row in rows
        }
    expected = {}
    for value, by in holdings.items():
        ordered = sorted((w for w in by.values() if w > 0), reverse=True)
        if ordered:
            expected[value] = (sum(ordered), len(ordered), ordered[0], ordered[:2])
    assert got == expected


def test_where_the_largest_holder_cannot_decide_the_report_asks_for_the_two_largest(engine: Engine) -> None:
    """Values whose largest holder has 45 % of the total: twice that breaks the two-holder
    bound, so the report asks the database, in the middle of reading the values, for the two
    largest; 45 + 40 is not over 85 % (published), 45 + 41 is (withheld). Also with a value whose
    holders are all tied, and with the largest over half (withheld without asking)."""
    from sqlalchemy import event

    holdings = {  # product -> the weight of contributors 1, 2, ...
        "Under": [45, 40, 5, 5, 5],
        "Over": [45, 41, 5, 5, 4],
        "Tied": [20, 20, 20, 20, 20],
        "Half": [51, 20, 10, 10, 9],
    }
    for contributor in range(1, 6):
        mine = {p: ws[contributor - 1] for p, ws in holdings.items()}
        _store(engine, _doc(_name(contributor), "2026-Q4", 0, mine, contributor))
    asked: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if "ORDER BY held.w DESC" in statement:  # the two largest of one value
            asked.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        software = build_report(engine, k=5)["top_software"]
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert [i["product"] for i in software["value"]] == ["Tied", "Under"]
    assert len(asked) == 2  # Under and Over; Tied and Half are decided by their largest holder


def test_the_benchmark_times_a_report_in_a_process_of_its_own(tmp_path: Path) -> None:
    """``bench/report_child.py`` runs the real command over a receiver database and gives the
    work's seconds, its peak memory and what the report counted; it loads nothing heavy
    before the parent starts the clock."""
    import subprocess
    import sys

    engine = open_receiver_db(f"sqlite:///{tmp_path / 'receiver.db'}")
    for n in range(3):
        _store(engine, _doc(_name(n), "2026-Q4", 0, {"P": 5}, n))
    engine.dispose()
    top = Path(__file__).resolve().parents[2] / "bench" / "report_child.py"
    assert not any(
        line.startswith(("import sqlalchemy", "from sqlalchemy", "import psycopg", "from sccm_cep"))
        for line in top.read_text().splitlines()
    )
    proc = subprocess.run(
        [sys.executable, "-m", "bench.report_child", f"sqlite:///{tmp_path / 'receiver.db'}"],
        capture_output=True,
        text=True,
        check=True,
        cwd=top.parents[1],
    )
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["documents"] == 3 and 0 < got["work"] < 60 and got["peak_mib"] > 10
