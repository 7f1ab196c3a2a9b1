"""Free text is reviewed by a person: the feedback comment is kept only as the admin confirmed
its scrubbed text, and a run sends it only while scrubbing it again leaves it unchanged."""

from __future__ import annotations

import gzip
import hashlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from sccm_cep.cli import cli
from sccm_cep.errors import ExitCode

RAW = "Great tool. Mail jdoe@corp.example or call +49 171 4482913 about ticket 7"


class Cep:
    """sccm-cep against one state store, with the site PS1 joined on 2026-11-24 and its first
    period (2026-Q4) taken, so an answer given in December rides on the 2027-Q1 submission."""

    def __init__(self, db: Path) -> None:
        self.db = db

    def __call__(self, *args: str, code: int = 0, stdin: str | None = None) -> Result:
        result = CliRunner().invoke(
            cli, ["--state", f"sqlite:///{self.db}", *args], input=stdin, catch_exceptions=False
        )
        assert result.exit_code == code, result.output
        return result

    def feedback(self, *extra: str, code: int = 0, stdin: str | None = None) -> Result:
        return self(
            "feedback", "PS1", "--score", "8", *extra, "--as-of", "2026-12-10", code=code, stdin=stdin
        )

    def rows(self) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db) as db:
            return db.execute("select score, comment, comment_sha256, confirmed_at from feedback").fetchall()

    def take(self, day: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Run --due on ``day``: the one outcome taken, and the document it queued."""
        (outcome,) = json.loads(self("run", "--due", "--as-of", day, "--json").stdout)
        assert outcome["status"] == "taken", outcome
        with sqlite3.connect(self.db) as db:
            (blob,) = db.execute(
                "select body from outbox where document_id = ?", (outcome["document_id"],)
            ).fetchone()
        return outcome, json.loads(gzip.decompress(blob))


@pytest.fixture
def cep(tmp_path: Path, data_dir: Path, sqlite_site: str) -> Iterator[Cep]:
    runner = Cep(tmp_path / "state.db")
    runner("site", "register", "PS1", "--db", sqlite_site)
    runner("join", "PS1", "--yes", "--as-of", "2026-11-24")
    runner("run", "--due", "--as-of", "2026-12-01")
    yield runner


def _shown(result: Result) -> str:
    """The text the command said it will send (the line after its announcement)."""
    lines = result.output.splitlines()
    return lines[lines.index("The comment will be sent exactly as:") + 1].removeprefix("  ")


def test_the_comment_is_shown_scrubbed_and_sent_exactly_as_confirmed(cep: Cep) -> None:
    result = cep.feedback("--comment", RAW, stdin="y\n")
    shown = _shown(result)
    assert "jdoe@" not in shown and "4482913" not in shown and shown.startswith("Great tool.")
    assert "with the confirmed comment" in result.output
    ((score, comment, digest, confirmed_at),) = cep.rows()
    assert (score, comment) == (8, shown) and confirmed_at is not None
    assert digest == hashlib.sha256(shown.encode()).hexdigest()
    _outcome, doc = cep.take("2027-01-02")
    assert doc["feedback"] == {"score": 8, "comment": shown}


def test_a_script_confirms_with_the_exact_text_and_anything_else_stores_nothing(cep: Cep) -> None:
    shown = _shown(cep.feedback("--comment", RAW, stdin="n\n", code=1))  # "no": CliRunner's Abort
    assert cep.rows() == []
    for near in (shown + " ", shown.replace("<email>", "<e-mail>"), RAW, ""):
        result = cep.feedback("--comment", RAW, "--confirm-text", near, code=ExitCode.CANCELLED)
        (line,) = result.stderr.strip().splitlines()
        assert (
            line.startswith("error: confirmation: the confirmed text is not exactly") and "jdoe" not in line
        )
    assert cep.rows() == []
    as_json = json.loads(cep.feedback("--comment", RAW, "--confirm-text", shown, "--json").stdout)
    assert as_json["comment"] == shown and cep.rows()[0][1] == shown


def test_a_score_without_comment_needs_no_confirmation(cep: Cep) -> None:
    assert "give the comment too" in cep.feedback("--confirm-text", "Works well", code=2).output
    result = cep.feedback()
    assert "The comment will be sent" not in result.output
    assert cep.rows()[0][:2] == (8, None)
    _outcome, doc = cep.take("2027-01-02")
    assert doc["feedback"] == {"score": 8, "comment": None}


def test_a_run_never_sends_a_comment_no_one_confirmed(cep: Cep) -> None:
    cep.feedback("--comment", "Works well", "--confirm-text", "Works well")
    with sqlite3.connect(cep.db) as db:  # as a store from before confirmations holds it
        db.execute("update feedback set confirmed_at = null, comment_sha256 = null")
    _outcome, doc = cep.take("2027-01-02")
    assert doc["feedback"] == {"score": 8, "comment": None}


def test_a_comment_edited_in_the_store_after_confirming_is_not_sent(cep: Cep) -> None:
    cep.feedback("--comment", "Works well", "--confirm-text", "Works well")
    with sqlite3.connect(cep.db) as db:
        db.execute("update feedback set comment = 'Works well, ask Anna'")
    _outcome, doc = cep.take("2027-01-02")
    assert doc["feedback"] == {"score": 8, "comment": None}


def test_a_confirmed_comment_the_improved_scrubber_changes_waits_for_a_new_confirmation(cep: Cep) -> None:
    # What an older scrubber let through and the admin confirmed: today's scrubber changes it.
    old = "Ask jdoe@corp.example"
    cep.feedback("--comment", "placeholder", "--confirm-text", "placeholder")
    with sqlite3.connect(cep.db) as db:
        digest = hashlib.sha256(old.encode()).hexdigest()
        db.execute("update feedback set comment = ?, comment_sha256 = ?", (old, digest))
    outcome, doc = cep.take("2027-01-02")
    assert doc["feedback"] == {"score": 8, "comment": None}
    assert "jdoe" not in json.dumps(doc)
    assert "confirm it again" in outcome["message"]


def test_a_store_upgraded_to_0006_keeps_old_comments_but_never_sends_them(cep: Cep) -> None:
    from alembic import command

    from sccm_cep.collector.store import Store

    cep.feedback("--comment", "Works well", "--confirm-text", "Works well")
    store = Store(f"sqlite:///{cep.db}")
    cfg = store._alembic()
    with store.engine.begin() as conn:  # back to the schema of the release before
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
    store.dispose()
    with sqlite3.connect(cep.db) as db:
        columns = {row[1] for row in db.execute("pragma table_info(feedback)")}
        assert "comment_sha256" not in columns
        assert db.execute("select comment from feedback").fetchall() == [("Works well",)]
        assert db.execute("select count(*) from sqlite_master where name = 'settings'").fetchone() == (0,)
    reopened = Store(f"sqlite:///{cep.db}")  # opening migrates it to 0006 again
    assert reopened.schema_revision() == reopened.head_revision()
    reopened.dispose()
    assert cep.rows() == [(8, "Works well", None, None)]
    _outcome, doc = cep.take("2027-01-02")  # the contributor is made again, at the run
    assert doc["feedback"] == {"score": 8, "comment": None} and len(doc["contributor"]) == 32
