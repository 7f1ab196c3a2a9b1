"""``receiver report`` over documents from several simulated sites, built by the real pipeline."""

from __future__ import annotations

import gzip
import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sqlalchemy import Engine, inspect, select

from sccm_cep.cli import cli
from sccm_cep.contract.upload import DocumentKind, UploadTarget
from sccm_cep.receiver.app import Receiver
from sccm_cep.receiver.report import build_report, dominated, nps
from sccm_cep.receiver.store import open_receiver_db, received_documents, store_document

SITES = ("PS1", "PS2", "PS3")


def _cli(runner: CliRunner, state: str, *args: str) -> str:
    result = runner.invoke(cli, ["--state", state, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_nps_counts_promoters_and_detractors_and_is_null_without_answers() -> None:
    assert nps([10, 9, 8, 7, 6, 0]) == 0.0
    assert nps([10, 9, 7]) == 66.7
    assert nps([]) is None


def test_report_across_sites_matches_a_hand_computed_nps_and_withholds_below_k(
    tmp_path: Path, data_dir: Path, sqlite_site: str, receiver: Receiver
) -> None:
    # Three customers: one collector installation (state store, contributor secret) each.
    states = {code: f"sqlite:///{tmp_path / f'state-{code}.db'}" for code in SITES}
    runner = CliRunner()
    send = ("--endpoint", receiver.url)
    for code, state in states.items():  # each registration makes the site its own secret
        _cli(runner, state, "site", "register", code, "--db", sqlite_site)
        _cli(runner, state, "join", code, "--yes", "--as-of", "2026-11-24")
    for code, score in zip(SITES, ("10", "8", "3"), strict=True):
        _cli(runner, states[code], "feedback", code, "--score", score, "--as-of", "2026-11-30")
    for state in states.values():
        _cli(runner, state, "run", "--due", "--as-of", "2026-12-01", *send)
    # PS3 changes its answer and re-takes 2026-Q4: only the latest revision counts.
    _cli(runner, states["PS3"], "feedback", "PS3", "--score", "9", "--as-of", "2026-12-02")
    _cli(runner, states["PS3"], "run", "--period", "2026-Q4", "--site", "PS3", "--force", *send)
    _cli(runner, states["PS1"], "feedback", "PS1", "--score", "6", "--as-of", "2027-01-01")
    for state in states.values():
        _cli(runner, state, "run", "--due", "--as-of", "2027-01-01", *send)
    assert len(receiver.stored()) == 7
    state = states["PS1"]

    db = receiver.engine.url.render_as_string(hide_password=False)
    report: dict[str, Any] = json.loads(
        _cli(runner, state, "receiver", "report", "--db", db, "--json", "--k", "3")
    )
    # Counted answers: PS1 10 (Q4) and 6 (Q1), PS2 8, PS3 9 (revision 1 replaces its 3):
    # promoters 2 of 4, detractors 1 of 4: NPS = 50 - 25 = 25.0.
    assert report["documents"] == 7 and report["sites"] == 3 and report["contributors"] == 3
    assert report["nps"] == {
        "value": 25.0,
        "contributors": 3,
        "answers": 4,
        "promoters": 2,
        "passives": 1,
        "detractors": 1,
    }
    for name in ("os_releases", "sccm_versions", "top_software", "deployment_technologies"):
        figure = report[name]
        assert figure["contributors"] == figure["sites"] == 3 and figure["value"], name
        assert abs(sum(i["share"] for i in figure["value"]) + figure["other_share"] - 1) < 0.01, name
    assert len(report["top_software"]["value"]) <= 10

    withheld: dict[str, Any] = json.loads(
        _cli(runner, state, "receiver", "report", "--db", db, "--json", "--k", "4")
    )
    assert withheld["documents"] == 7 and withheld["sites"] == 3
    for name in ("os_releases", "sccm_versions", "top_software", "deployment_technologies"):
        assert withheld[name] == {"value": None, "withheld": 4}
    assert withheld["nps"] == {"value": None, "withheld": 4, "answers": None}
    text = _cli(runner, state, "receiver", "report", "--db", db, "--k", "4")
    assert "nps: withheld" in text and "documents: 7; sites: 3" in text


def test_five_sites_of_one_installation_count_as_one_contributor_and_are_withheld(
    tmp_path: Path, data_dir: Path, sqlite_site: str, receiver: Receiver
) -> None:
    state = f"sqlite:///{tmp_path / 'state.db'}"
    runner = CliRunner()
    codes = ("PS1", "PS2", "PS3", "PS4", "PS5")
    for code in codes:
        _cli(runner, state, "site", "register", code, "--db", sqlite_site)
        _cli(runner, state, "join", code, "--yes", "--as-of", "2026-11-24")
        _cli(runner, state, "feedback", code, "--score", "9", "--as-of", "2026-11-30")
    _cli(runner, state, "run", "--due", "--as-of", "2026-12-01", "--endpoint", receiver.url)
    with receiver.engine.connect() as conn:
        rows = conn.execute(select(received_documents.c.site, received_documents.c.contributor)).all()
    assert len({site for site, _ in rows}) == 5 and len({c for _, c in rows}) == 1 and rows[0][1]
    db = receiver.engine.url.render_as_string(hide_password=False)
    report = json.loads(_cli(runner, state, "receiver", "report", "--db", db, "--json", "--k", "5"))
    assert (report["sites"], report["contributors"]) == (5, 1)
    for name in ("os_releases", "sccm_versions", "top_software", "deployment_technologies"):
        assert report[name] == {"value": None, "withheld": 5}, name
    assert report["nps"]["value"] is None
    text = _cli(runner, state, "receiver", "report", "--db", db, "--k", "5")
    assert "contributors: 1" in text and "top_software: withheld (fewer than 5 contributors)" in text


# -- the rules on hand-made documents ----------------------------------------------------------


def _doc(
    site: str, period: str, contributor: str | None, software: dict[str, int], score: int | None = None
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "site": site,
        "period": period,
        "revision": 0,
        "site_profile": {"site": [{"release": "2403"}]},
        "operating_systems": {
            "operating_system": [{"family": "Windows 11", "release": "23H2", "device_count": 100}]
        },
        "software": {
            "software": [
                {"publisher": "Vendor", "product": p, "installations": n} for p, n in software.items()
            ]
        },
        "deployments": {"deployment": [{"feature_type": "application"}]},
    }
    if contributor:
        doc["contributor"] = contributor
    if score is not None:
        doc["feedback"] = {"score": score, "comment": None}
    return doc


def _receiver_db(tmp_path: Path, docs: list[dict[str, Any]]) -> Engine:
    engine = open_receiver_db(f"sqlite:///{tmp_path / 'receiver.db'}")
    for doc in docs:
        text = json.dumps(doc).encode()
        target = UploadTarget(DocumentKind.SUBMISSION, "1.0", str(uuid.uuid4()))
        assert store_document(engine, target, doc, text, None)
    return engine


def _name(n: int) -> str:
    return f"{n:032x}"


def test_a_rotated_site_adds_no_contributor_and_is_counted_once(tmp_path: Path) -> None:
    # Five customers with one site each; customer 1 rotated its site's key between quarters.
    docs = [_doc(_name(10 + n), "2027-Q1", _name(n), {"A": 100}) for n in range(1, 6)]
    docs.append(_doc(_name(99), "2026-Q4", _name(1), {"A": 100, "B": 100}))  # the old pseudonym
    report = build_report(_receiver_db(tmp_path, docs), k=5)
    assert (report["documents"], report["sites"], report["contributors"]) == (6, 6, 5)
    software = report["top_software"]
    # The old pseudonym's last document (an earlier quarter) does not speak for customer 1 again:
    # B, which only it had, is not counted at all.
    assert (software["contributors"], software["sites"]) == (5, 5)
    assert software["value"] == [{"publisher": "Vendor", "product": "A", "share": 1.0}]


def test_documents_without_a_contributor_count_each_as_their_own(tmp_path: Path) -> None:
    # What releases before contributors sent: each site pseudonym is a contributor of its own.
    docs = [_doc(_name(10 + n), "2026-Q4", None, {"A": 100}) for n in range(1, 6)]
    report = build_report(_receiver_db(tmp_path, docs), k=5)
    assert report["contributors"] == 5 and report["top_software"]["contributors"] == 5
    assert report["top_software"]["value"] == [{"publisher": "Vendor", "product": "A", "share": 1.0}]


def test_a_value_one_or_two_contributors_dominate_is_not_published(tmp_path: Path) -> None:
    weights = {  # contributor → installations of products X (one dominates), Y (two do), Z
        1: {"X": 600, "Y": 430, "Z": 100},
        2: {"X": 100, "Y": 430, "Z": 100},
        3: {"X": 100, "Y": 40, "Z": 100},
        4: {"X": 100, "Y": 40, "Z": 100},
        5: {"X": 100, "Y": 40, "Z": 100},
    }
    docs = [_doc(_name(10 + n), "2026-Q4", _name(n), sw, score=9) for n, sw in weights.items()]
    # Customer 1 has four more sites answering: 5 of its 9 answers would be its own.
    docs += [_doc(_name(50 + n), "2026-Q4", _name(1), {"Z": 1}, score=0) for n in range(4)]
    report = build_report(_receiver_db(tmp_path, docs), k=5)
    software = report["top_software"]
    assert [i["product"] for i in software["value"]] == ["Z"]
    assert software["other_share"] > 0.7  # X and Y are in it
    assert report["nps"] == {"value": None, "withheld": 5, "answers": None}
    # Customer 1's five sites hold 500 of the 900 devices on the one OS release: not published.
    assert report["os_releases"]["value"] == [] and report["os_releases"]["other_share"] == 1.0
    assert dominated([51, 49]) and dominated([43, 43, 5, 5, 4]) and dominated([100])
    assert not dominated([50, 10, 10, 10, 10, 10]) and not dominated([20] * 5)


def test_a_receiver_database_of_an_earlier_release_gains_the_contributor_column(tmp_path: Path) -> None:
    path = tmp_path / "old-receiver.db"
    with sqlite3.connect(path) as db:  # the table as the first release made it
        db.execute(
            "CREATE TABLE received_documents (document_id VARCHAR(36) PRIMARY KEY, kind VARCHAR(32)"
            " NOT NULL, schema_version VARCHAR(16) NOT NULL, site VARCHAR(32) NOT NULL, period"
            " VARCHAR(16), revision INTEGER, received_at DATETIME NOT NULL, body BLOB NOT NULL,"
            " sha256 VARCHAR(64) NOT NULL)"
        )
        old = _doc(_name(1), "2026-Q3", None, {"A": 5})
        db.execute(
            "INSERT INTO received_documents VALUES (?, 'submission', '1.0', ?, '2026-Q3', 0,"
            " '2026-10-01 00:00:00', ?, 'x')",
            (str(uuid.uuid4()), old["site"], gzip.compress(json.dumps(old).encode())),
        )
    engine = open_receiver_db(f"sqlite:///{path}")
    assert "contributor" in {c["name"] for c in inspect(engine).get_columns("received_documents")}
    assert "ix_received_documents_contributor" in {
        i["name"] for i in inspect(engine).get_indexes("received_documents")
    }
    new = _doc(_name(2), "2026-Q4", _name(7), {"A": 5})
    assert store_document(
        engine,
        UploadTarget(DocumentKind.SUBMISSION, "1.0", str(uuid.uuid4())),
        new,
        json.dumps(new).encode(),
        None,
    )
    report = build_report(engine, k=1)
    assert (report["documents"], report["contributors"]) == (2, 2)
    engine.dispose()
    again = open_receiver_db(f"sqlite:///{path}")  # opening it once more changes nothing
    assert build_report(again, k=1)["contributors"] == 2
    again.dispose()


def test_placeholders_are_never_listed_as_products(tmp_path: Path) -> None:
    """'unrecognized' (in-house software) and 'other' (rare) are what collectors send instead
    of names: however widely held, they only ever add to other_share."""
    docs = [
        _doc(_name(10 + n), "2026-Q4", _name(n), {"A": 100, "unrecognized": 400, "other": 300})
        for n in range(1, 6)
    ]
    software = build_report(_receiver_db(tmp_path, docs), k=5)["top_software"]
    assert [i["product"] for i in software["value"]] == ["A"]
    assert software["other_share"] == 0.875
