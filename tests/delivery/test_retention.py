"""Sent documents keep their exact bytes for the retention period, then only the row remains."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from click.testing import CliRunner

from sccm_cep.cli import cli
from sccm_cep.collector.store import Store
from sccm_cep.delivery import DeliverySettings, apply_retention, send_pending, show_document
from sccm_cep.receiver.app import Receiver
from tests.delivery.conftest import Clock, rows


def test_outbox_show_prints_the_exact_stored_bytes(state_url: str, store: Store) -> None:
    row = rows(store)[0]
    for ref in (row.document_id, str(row.id)):
        result = CliRunner().invoke(cli, ["--state", state_url, "outbox", "show", ref])
        assert result.exit_code == 0, result.output
        assert hashlib.sha256(result.output.rstrip("\n").encode()).hexdigest() == row.sha256
    shown = json.loads(
        CliRunner().invoke(cli, ["--state", state_url, "outbox", "show", row.document_id, "--json"]).output
    )
    assert shown["document"]["document_id"] == row.document_id and shown["state"] == "pending"
    missing = CliRunner().invoke(cli, ["--state", state_url, "outbox", "show", "42"])
    assert missing.exit_code == 3 and "outbox list" in missing.output


def test_bodies_are_dropped_after_the_retention_period_and_rows_kept(
    store: Store, receiver: Receiver, settings: DeliverySettings, clock: Clock
) -> None:
    send_pending(store, settings)
    before = rows(store)
    assert apply_retention(store, now=clock.now + timedelta(days=364), days=365) == 0
    assert all(r.body is not None for r in rows(store))
    later = DeliverySettings(**{**settings.__dict__, "clock": lambda: clock.now + timedelta(days=366)})
    assert send_pending(store, later).dropped_bodies == 2
    after = rows(store)
    assert all(r.body is None for r in after)
    assert [(r.document_id, r.sha256, r.size, r.created_at, r.sent_at, r.state) for r in after] == [
        (r.document_id, r.sha256, r.size, r.created_at, r.sent_at, r.state) for r in before
    ]
    meta, text = show_document(store, after[0].document_id)
    assert text is None and meta["sha256"] == after[0].sha256


def test_pending_documents_are_never_dropped(store: Store, clock: Clock) -> None:
    assert apply_retention(store, now=clock.now + timedelta(days=5000), days=0) == 0


def test_retention_days_come_from_the_environment(monkeypatch: object) -> None:
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.setenv("SCCM_CEP_RETENTION_DAYS", "30")
    assert DeliverySettings.resolve().retention_days == 30
    assert DeliverySettings.resolve(retention_days=7).retention_days == 7
