"""Fixtures for delivery tests: a real receiver on 127.0.0.1 storing into PostgreSQL, a store holding real pending
submissions (taken once per session through the CLI, copied per test), a fake clock and sleep."""

from __future__ import annotations

import gzip
import json
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select

from fixtures.synthetic_site import drop_pg_schema, pg_schema_url
from sccm_cep.cli import cli
from sccm_cep.collector.store import Outbox, Store
from sccm_cep.delivery import DeliverySettings
from sccm_cep.receiver.facts import fact_submissions, fact_values
from sccm_cep.receiver.keys import SiteKeys, site_keys
from sccm_cep.receiver.store import open_receiver_db, received_documents
from tests.support.receiver import FaultyReceiver


@pytest.fixture(scope="session")
def template_state(tmp_path_factory: pytest.TempPathFactory, sqlite_site: str) -> Path:
    """A state store with site PS1 joined and two pending submissions (2026-Q4, 2027-Q1)."""
    folder = tmp_path_factory.mktemp("template")
    state = f"sqlite:///{folder / 'state.db'}"
    env = {"SCCM_CEP_DATA_DIR": str(folder / "data")}
    runner = CliRunner(env=env)
    for args in (
        ["site", "register", "PS1", "--db", sqlite_site],
        ["join", "PS1", "--yes", "--as-of", "2026-11-24"],
        ["run", "--due", "--as-of", "2026-12-01"],
        ["run", "--due", "--as-of", "2027-01-01"],
    ):
        result = runner.invoke(cli, ["--state", state, *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    Store(state).dispose()
    return folder / "state.db"


@pytest.fixture
def state_url(tmp_path: Path, data_dir: Path, template_state: Path) -> str:
    shutil.copy(template_state, tmp_path / "state.db")
    # The data folder goes with the store: the site key is looked for there (not its log).
    shutil.copytree(template_state.parent / "data", data_dir, ignore=shutil.ignore_patterns("logs"))
    return f"sqlite:///{tmp_path / 'state.db'}"


@pytest.fixture
def store(state_url: str) -> Iterator[Store]:
    opened = Store(state_url)
    yield opened
    opened.dispose()


@pytest.fixture(scope="session")
def receiver_db(pg_base: str) -> Iterator[str]:
    """A PostgreSQL schema of its own for this test run's receivers, dropped at the end."""
    schema = f"receiver_test_{uuid.uuid4().hex[:10]}"
    url = pg_schema_url(pg_base, schema)
    try:
        yield url
    finally:
        drop_pg_schema(pg_base, schema)


@pytest.fixture
def empty_receiver_db(receiver_db: str) -> str:
    """The receiver schema with its tables created and empty (no document, no fact, no bound key)."""
    engine = open_receiver_db(receiver_db)
    try:
        SiteKeys(engine)
        with engine.begin() as conn:
            conn.execute(delete(received_documents))
            conn.execute(delete(site_keys))
            conn.execute(delete(fact_values))
            conn.execute(delete(fact_submissions))
    finally:
        engine.dispose()
    return receiver_db


@pytest.fixture
def receiver(empty_receiver_db: str) -> Iterator[FaultyReceiver]:
    """A real receiver on 127.0.0.1 that a test can tell to misbehave (``fail_next``)."""
    with FaultyReceiver(empty_receiver_db) as running:
        yield running


@dataclass
class Clock:
    """A clock that only moves when told; sleeping moves it, so Retry-After is honoured exactly."""

    now: datetime = datetime(2027, 1, 2, 9, 0, 0)
    slept: list[float] = field(default_factory=list)

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(receiver: FaultyReceiver, clock: Clock) -> DeliverySettings:
    return DeliverySettings(
        endpoint=receiver.url, sleep=clock.sleep, clock=clock, read_timeout=2.0, connect_timeout=2.0
    )


def rows(store: Store) -> list[Outbox]:
    with store.session() as session:
        return list(session.execute(select(Outbox).order_by(Outbox.id)).scalars())


def document(row: Outbox) -> dict[str, Any]:
    assert row.body is not None
    doc: dict[str, Any] = json.loads(gzip.decompress(row.body))
    return doc
