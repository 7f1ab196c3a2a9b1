"""Sites, joining, leaving and the cadence, driven through the CLI on a simulated calendar."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from sccm_cep.cli import cli
from sccm_cep.collector.store import Store
from sccm_cep.privacy import policy

STORES = Path(__file__).resolve().parents[2] / "fixtures" / "stores"


class Cli:
    """Runs sccm-cep commands against one state store, collecting everything printed."""

    def __init__(self, state: str) -> None:
        self.state = state
        self.printed: list[str] = []

    def __call__(self, *args: str, code: int = 0) -> Result:
        result = CliRunner().invoke(cli, ["--state", self.state, *args], catch_exceptions=False)
        self.printed.append(result.output)
        assert result.exit_code == code, result.output
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--json").stdout)

    def outbox(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.json("outbox", "list")
        return rows


@pytest.fixture
def cep(tmp_path: Path, data_dir: Path, sqlite_site: str) -> Iterator[Cli]:
    runner = Cli(f"sqlite:///{tmp_path / 'state.db'}")
    runner("site", "register", "PS1", "--db", sqlite_site, "--name", "HQ")
    yield runner


@pytest.fixture
def shipped_policies_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """For tests that run ``run --due`` on hundreds of simulated days: the shipped policies cannot
    change between those runs, so they are read and linted once (that is most of a quiet day's
    run). A run given ``--policies DIR`` still reads its folder every time."""
    shipped, read = policy.load_policies(), policy.load_policies

    def load(directory: Path | None = None) -> policy.PolicySet:
        return shipped if directory is None else read(directory)

    monkeypatch.setattr(policy, "load_policies", load)


def _days(start: date, count: int) -> Iterator[date]:
    for i in range(count):
        yield start + timedelta(days=i)


def _taken(cep: Cli, day: date) -> list[dict[str, Any]]:
    outcomes: list[dict[str, Any]] = cep.json("run", "--due", "--as-of", day.isoformat())
    return [o for o in outcomes if o["status"] == "taken"]


@pytest.mark.usefixtures("shipped_policies_read_once")
def test_nothing_is_collected_before_joining(cep: Cli) -> None:
    for day in _days(date(2026, 11, 1), 30):
        assert _taken(cep, day) == []
    assert cep.outbox() == []


@pytest.mark.usefixtures("shipped_policies_read_once")
def test_400_days_first_on_day_7_then_one_per_quarter(cep: Cli) -> None:
    joined = date(2026, 11, 24)
    cep("join", "PS1", "--yes", "--as-of", joined.isoformat())
    taken_on: dict[str, date] = {}
    for day in _days(joined, 400):
        for outcome in _taken(cep, day):
            assert outcome["period"] not in taken_on, "a period was taken twice"
            taken_on[outcome["period"]] = day
    assert taken_on == {
        "2026-Q4": joined + timedelta(days=7),
        "2027-Q1": date(2027, 1, 1),
        "2027-Q2": date(2027, 4, 1),
        "2027-Q3": date(2027, 7, 1),
        "2027-Q4": date(2027, 10, 1),
    }
    assert [r["period"] for r in cep.outbox()] == list(taken_on)


@pytest.mark.usefixtures("shipped_policies_read_once")
def test_a_100_day_gap_takes_the_current_period_once(cep: Cli) -> None:
    cep("join", "PS1", "--yes", "--as-of", "2026-11-24")
    assert len(_taken(cep, date(2026, 12, 1))) == 1
    # No runs at all for 100 days (the collector was down), then daily runs again.
    back = date(2026, 12, 1) + timedelta(days=101)
    taken = [o for day in _days(back, 10) for o in _taken(cep, day)]
    assert [o["period"] for o in taken] == ["2027-Q1"]
    assert [r["period"] for r in cep.outbox()] == ["2026-Q4", "2027-Q1"]


@pytest.mark.usefixtures("shipped_policies_read_once")
def test_biweekly_windows_count_from_the_first_submission(cep: Cli) -> None:
    cep("join", "PS1", "--yes", "--cadence", "biweekly", "--as-of", "2026-11-24")
    days = [day for day in _days(date(2026, 11, 24), 60) if _taken(cep, day)]
    first = date(2026, 12, 1)
    assert days == [first, first + timedelta(days=14), first + timedelta(days=28), first + timedelta(days=42)]
    assert cep.outbox()[1]["period"] == "2026-12-15/P14D"


@pytest.mark.usefixtures("shipped_policies_read_once")
def test_nothing_after_leaving_and_unsent_documents_are_purged(cep: Cli) -> None:
    cep("join", "PS1", "--yes", "--as-of", "2026-11-24")
    assert _taken(cep, date(2026, 12, 1))
    left = cep.json("leave", "PS1", "--yes", "--as-of", "2026-12-20")
    assert left["purged"] == 1
    for day in _days(date(2026, 12, 20), 200):
        assert _taken(cep, day) == []
    rows = cep.outbox()
    assert [(r["kind"], r["document_id"]) for r in rows] == [("deletion-request", left["deletion_request"])]
    status = cep.json("status", "--as-of", "2027-01-05")
    assert status[0]["joined"] is False and status[0]["next_due"] is None


def test_status_shows_last_and_next(cep: Cli) -> None:
    cep("join", "PS1", "--yes", "--level", "enhanced", "--as-of", "2026-11-24")
    before = cep.json("status", "--as-of", "2026-11-25")[0]
    assert before["next_due"] == "2026-12-01" and before["level"] == "enhanced"
    _taken(cep, date(2026, 12, 3))
    after = cep.json("status", "--as-of", "2026-12-04")[0]
    assert after["last_period"] == "2026-Q4" and after["next_due"] == "2027-01-01"


def test_a_taken_period_is_redone_only_with_force_as_a_new_revision(cep: Cli, tmp_path: Path) -> None:
    cep("join", "PS1", "--yes", "--as-of", "2026-11-24")
    (first,) = _taken(cep, date(2026, 12, 1))
    refused = cep("run", "--site", "PS1", "--period", "2026-Q4", code=3)
    assert "--force" in refused.output
    (second,) = cep.json("run", "--site", "PS1", "--period", "2026-Q4", "--force")
    assert second["document_id"] != first["document_id"]
    rows = {r["revision"]: r for r in cep.outbox()}
    assert rows[0]["state"] == "superseded" and rows[1]["state"] == "pending"
    body = _document(cep, rows[1]["document_id"])
    assert body["revision"] == 1 and body["supersedes"] == first["document_id"]


def _document(cep: Cli, document_id: str) -> dict[str, Any]:
    path = cep.state.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        (blob,) = db.execute("select body from outbox where document_id = ?", (document_id,)).fetchone()
    doc: dict[str, Any] = json.loads(gzip.decompress(blob))
    return doc


def test_feedback_rides_on_the_next_submission_scrubbed(cep: Cli) -> None:
    from sccm_cep.collector.participation import scrubbed_comment

    comment = "Great. Mail jdoe@corp.example or +49 171 4482913"
    shown = scrubbed_comment(comment)
    assert shown is not None
    cep("join", "PS1", "--yes", "--as-of", "2026-11-24")
    _taken(cep, date(2026, 12, 1))
    cep(
        "feedback",
        "PS1",
        "--score",
        "9",
        "--comment",
        comment,
        "--confirm-text",
        shown,
        "--as-of",
        "2026-12-10",
    )
    (outcome,) = _taken(cep, date(2027, 1, 2))
    doc = _document(cep, outcome["document_id"])
    assert doc["feedback"] == {"score": 9, "comment": shown}
    assert "jdoe@" not in doc["feedback"]["comment"] and "4482913" not in doc["feedback"]["comment"]
    (later,) = _taken(cep, date(2027, 4, 2))
    assert "feedback" not in _document(cep, later["document_id"]), "not asked again, not sent again"


def test_registration_validates_and_refuses_duplicates(cep: Cli, sqlite_site: str) -> None:
    assert "not a site code" in cep("site", "register", "TOOLONG", "--db", sqlite_site, code=3).output
    assert "already registered" in cep("site", "register", "ps1", "--db", sqlite_site, code=3).output
    with_pw = cep("site", "register", "PS2", "--db", "postgresql+psycopg://u:hunter22@db/cm", code=3)
    assert "--password" in with_pw.output and "hunter22" not in with_pw.output
    assert (
        "reference"
        in cep("site", "register", "PS3", "--db", sqlite_site, "--password", "hunter22", code=3).output
    )
    cep("site", "check", "PS1")  # exit 0, checked by cep
    cep("site", "register", "PS4", "--db", sqlite_site)
    assert "not PS4" in cep("site", "check", "PS4", code=6).output


def test_secrets_never_show(
    cep: Cli, tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch, sqlite_site: str
) -> None:
    monkeypatch.setenv("PS9_DB_PASSWORD", "Pa55-Never-Printed-77")
    cep("site", "register", "PS9", "--db", sqlite_site, "--password", "env:PS9_DB_PASSWORD")
    cep("join", "PS1", "--yes", "--as-of", "2026-11-24")
    cep("-v", "run", "--due", "--as-of", "2026-12-01")
    cep("site", "show", "PS1")
    cep("site", "list")
    cep("site", "rotate-key", "PS1", "--yes")
    secrets = [p.read_text().strip() for p in (data_dir / "secrets").glob("*.key")]
    assert len(secrets) == 3  # PS1 under two keys and PS9 (the contributor needs no secret)
    printed = "\n".join(cep.printed)
    store_bytes = (tmp_path / "state.db").read_bytes()
    for value in [*secrets, "Pa55-Never-Printed-77"]:
        assert value not in printed
        assert value.encode() not in store_bytes
    assert all(oct(p.stat().st_mode)[-3:] == "600" for p in (data_dir / "secrets").glob("*.key"))


def test_rotating_the_key_unlinks_later_submissions(cep: Cli) -> None:
    cep("join", "PS1", "--yes", "--as-of", "2026-11-24")
    (a,) = _taken(cep, date(2026, 12, 1))
    cep("site", "rotate-key", "PS1", "--yes")
    (b,) = _taken(cep, date(2027, 1, 1))
    assert _document(cep, a["document_id"])["site"] != _document(cep, b["document_id"])["site"]


def test_the_deletion_request_names_the_site_under_every_key_it_used(cep: Cli, data_dir: Path) -> None:
    from sccm_cep.platform.config import load_secret
    from sccm_cep.privacy.anonymize import SiteSecret

    cep("join", "PS1", "--yes", "--as-of", "2026-11-24")
    (a,) = _taken(cep, date(2026, 12, 1))
    cep("site", "rotate-key", "PS1", "--yes")
    (b,) = _taken(cep, date(2027, 1, 1))
    first, second = (_document(cep, x["document_id"])["site"] for x in (a, b))
    left = cep.json("leave", "PS1", "--yes", "--as-of", "2027-01-05")
    request = _document(cep, left["deletion_request"])
    named = {request["site"], *request["earlier_sites"]}
    assert request["site"] == second and first in request["earlier_sites"]
    # What releases before per-site keys sent under either key is named as well.
    legacy = {
        SiteSecret(load_secret(f"file:{data_dir}/secrets/site-PS1-v{v}.key"), site="PS1").legacy_pseudonym(
            "site", "PS1"
        )
        for v in (1, 2)
    }
    assert named == {first, second} | legacy and len(named) == 4


def test_a_failed_run_exits_10_and_leaves_nothing(cep: Cli, tmp_path: Path) -> None:
    cep("site", "register", "BAD", "--db", f"sqlite:///{tmp_path / 'gone.db'}")
    cep("join", "BAD", "--yes", "--as-of", "2026-11-24")
    cep("join", "PS1", "--yes", "--as-of", "2026-11-24")
    result = cep("run", "--due", "--as-of", "2026-12-01", code=10)
    assert "BAD: failed" in result.output and "PS1: taken" in result.output
    assert {r["site"] for r in cep.outbox()} == {"PS1"}


def test_a_store_of_the_first_release_is_upgraded_without_loss(tmp_path: Path, data_dir: Path) -> None:
    copy = tmp_path / "old.sqlite"
    shutil.copy(STORES / "state-0001.sqlite", copy)
    store = Store(f"sqlite:///{copy}")
    assert store.schema_revision() == store.head_revision() != "0001"
    store.dispose()
    old = Cli(f"sqlite:///{copy}")
    (row,) = old.outbox()
    assert row["document_id"] == "11111111-2222-5333-8444-555555555555" and row["state"] == "sent"
    status = old.json("status", "--as-of", "2026-08-01")[0]
    assert status["joined"] and status["last_period"] == "2026-Q3" and status["next_due"] == "2026-10-01"
    with sqlite3.connect(copy) as db:
        assert db.execute("select count(*) from audit_events").fetchone()[0] >= 1
        assert db.execute("select count(*) from feedback").fetchone()[0] == 0


def test_a_store_from_a_newer_version_is_refused(tmp_path: Path, data_dir: Path) -> None:
    copy = tmp_path / "new.sqlite"
    shutil.copy(STORES / "state-0001.sqlite", copy)
    with sqlite3.connect(copy) as db:
        db.execute("update alembic_version set version_num = '9999'")
    result = CliRunner().invoke(cli, ["--state", f"sqlite:///{copy}", "status"])
    assert result.exit_code == 3 and "newer sccm-cep" in result.output


# -- two processes at the same moment -----------------------------------------------------------


def _race(state: str, data_dir: Path, day: str, n: int = 2) -> list[dict[str, Any]]:
    env = {**os.environ, "SCCM_CEP_DATA_DIR": str(data_dir), "SCCM_CEP_STATE": state}
    exe = str(Path(sys.executable).with_name("sccm-cep"))
    procs = [
        subprocess.Popen(
            [exe, "run", "--due", "--as-of", day, "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(n)
    ]
    outcomes = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        outcomes += json.loads(out)
    return outcomes


def _race_test(state: str, data_dir: Path, sqlite_site: str) -> None:
    setup = Cli(state)
    setup("site", "register", "PS1", "--db", sqlite_site)
    setup("site", "register", "PS2", "--db", sqlite_site)
    setup("join", "PS1", "--yes", "--as-of", "2026-11-24")
    setup("join", "PS2", "--yes", "--as-of", "2026-11-24")
    for day in ("2026-12-01", "2027-01-01", "2027-04-01"):
        outcomes = _race(state, data_dir, day)
        taken = sorted(o["site"] for o in outcomes if o["status"] == "taken")
        assert taken == ["PS1", "PS2"], outcomes
        assert {o["status"] for o in outcomes} <= {"taken", "busy", "not-due"}
    periods = [(r["site"], r["period"]) for r in setup.outbox()]
    assert sorted(periods) == sorted(set(periods)) and len(periods) == 6


def test_two_processes_at_once_on_sqlite_take_one_per_period(
    tmp_path: Path, data_dir: Path, sqlite_site: str
) -> None:
    _race_test(f"sqlite:///{tmp_path / 'state.db'}", data_dir, sqlite_site)


@pytest.mark.postgres
def test_two_processes_at_once_on_postgres_take_one_per_period(
    pg_base: str, tmp_path: Path, data_dir: Path, sqlite_site: str
) -> None:
    from sqlalchemy import create_engine, text

    name = f"state_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        _race_test(pg_base.rsplit("/", 1)[0] + f"/{name}", data_dir, sqlite_site)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_diff_shows_what_changed_between_two_periods(cep: Cli, private_sqlite_site: str) -> None:
    # The estate changes between the quarters, so this test reads a private copy of the site.
    cep("site", "register", "PS2", "--db", private_sqlite_site, "--name", "Branch")
    cep("join", "PS2", "--yes", "--as-of", "2026-11-24")
    _taken(cep, date(2026, 12, 1))
    # A new title on many devices.
    with sqlite3.connect(private_sqlite_site.removeprefix("sqlite:///")) as db:
        ids = [r[0] for r in db.execute('select ResourceID from "v_R_System" where Client0 = 1 limit 40')]
        db.executemany(
            'insert into "v_GS_ADD_REMOVE_PROGRAMS_64" (ResourceID, GroupID, TimeStamp, DisplayName0, Publisher0,'
            " Version0) values (?, 999, '2027-01-01', 'Zed Attack Proxy', 'OWASP', '2.15.0')",
            [(i,) for i in ids],
        )
    _taken(cep, date(2027, 1, 1))
    diff = cep.json("diff", "PS2")
    assert (diff["from"], diff["to"]) == ("2026-Q4", "2027-Q1")
    added = [c for c in diff["changes"] if c["kind"] == "row-added" and c["record"] == "software"]
    assert any("Zed Attack Proxy" in c["key"] for c in added)


def test_verify_pseudonym_matches_the_document(cep: Cli, sqlite_site: str) -> None:
    cep("join", "PS1", "--yes", "--level", "enhanced", "--as-of", "2026-11-24")
    (taken,) = _taken(cep, date(2026, 12, 1))
    doc = _document(cep, taken["document_id"])
    with sqlite3.connect(sqlite_site.removeprefix("sqlite:///")) as db:
        guids = [
            g
            for (g,) in db.execute(
                'select SMS_Unique_Identifier0 from "v_R_System" where Client0 = 1'
                " and coalesce(Obsolete0, 0) = 0 and coalesce(Decommissioned0, 0) = 0"
                " order by ResourceID limit 10"
            )
        ]
    sent = {row["device_id"] for row in doc["devices"]["device"]}

    def device(guid: str, *period: str) -> str:
        return str(
            cep("verify-pseudonym", "PS1", "--kind", "device", "--value", guid, *period).stdout.split()[0]
        )

    # Device pseudonyms are keyed per period; k-anonymity may leave out up to 5 % of the rows.
    printed = [device(g, "--period", doc["period"]) for g in guids]
    assert sum(p in sent for p in printed) >= 8
    assert not {device(g, "--period", "2026-Q3") for g in guids} & sent
    site = cep("verify-pseudonym", "PS1", "--kind", "site", "--value", "PS1").stdout.split()[0]
    assert site == doc["site"]
    refused = cep("verify-pseudonym", "PS1", "--kind", "nope", "--value", "x", code=3).output
    assert "'nope' is not a pseudonym kind" in refused and "device" in refused


def test_an_unapproved_policy_change_stops_runs_until_approved(cep: Cli, tmp_path: Path) -> None:
    from sccm_cep.privacy.policy import default_policy_dir

    cep("join", "PS1", "--yes", "--as-of", "2026-11-24")
    changed = tmp_path / "policies"
    shutil.copytree(default_policy_dir(), changed)
    path = changed / "software.yaml"
    path.write_text(path.read_text().replace("    k: 5\n", "    k: 3\n", 1))
    blocked = cep("run", "--due", "--as-of", "2026-12-01", "--policies", str(changed), code=3)
    assert "policy changed since last approval" in blocked.output and "policy approve" in blocked.output
    assert cep.outbox() == []
    # The policies shown at joining are still approved and still run.
    assert [o["period"] for o in _taken(cep, date(2026, 12, 1))] == ["2026-Q4"]
    cep("policy", "approve", "--by", "Privacy Officer", "--policies", str(changed))
    outcomes = cep.json("run", "--due", "--as-of", "2027-01-02", "--policies", str(changed))
    assert [o["status"] for o in outcomes] == ["taken"]
    # Now the shipped policies are the unapproved ones.
    assert "policy changed" in cep("run", "--due", "--as-of", "2027-04-02", code=3).output


def test_the_join_approval_is_dated_at_as_of(cep: Cli) -> None:
    cep("join", "PS1", "--yes", "--as-of", "2026-11-24")
    approvals = cep.json("policy", "history")
    assert [a["approved_at"] for a in approvals] == ["2026-11-24T00:00:00Z"]
    assert "PS1 joined" in approvals[0]["note"]


def test_site_check_names_the_configmgr_release(cep: Cli) -> None:
    printed = cep("site", "check", "PS1").stdout
    # The synthetic site is build 9141, which Microsoft's version table lists as 2509.
    assert "Configuration Manager 2509 (version 5.00.9141.1000, build 9141)" in printed
    assert [r["release"] for r in cep.json("site", "check", "PS1")] == ["2509"]
