"""The reference receiver on its own: what it accepts, refuses and de-duplicates."""

from __future__ import annotations

import gzip
import json
from typing import Any

import httpx

from sccm_cep.delivery import DeliverySettings, send_pending
from sccm_cep.receiver import Receiver
from sccm_cep.store import Store
from tests.delivery.conftest import document, rows


def _post(receiver: Receiver, path: str, body: bytes, gz: bool = True) -> httpx.Response:
    headers = {"Content-Type": "application/json", **({"Content-Encoding": "gzip"} if gz else {})}
    return httpx.post(receiver.url + path, content=gzip.compress(body) if gz else body, headers=headers)


def test_a_valid_document_is_stored_once(store: Store, receiver: Receiver) -> None:
    doc = document(rows(store)[0])
    path = f"/v1/submission/1.0/{doc['document_id']}"
    raw = json.dumps(doc).encode()
    first, second = _post(receiver, path, raw), _post(receiver, path, raw)
    assert first.status_code == 201 and second.status_code == 409
    assert second.json() == {"status": "duplicate", "document_id": doc["document_id"]}
    assert receiver.stored() == [doc["document_id"]]


def test_refusals_say_why(store: Store, receiver: Receiver) -> None:
    doc: dict[str, Any] = document(rows(store)[0])
    other = "00000000-0000-5000-8000-000000000009"
    cases = [
        (f"/v1/submission/1.0/{other}", json.dumps(doc).encode(), True, 400, "path differs"),
        (f"/v1/submission/1.0/{doc['document_id']}", b"not json", True, 400, "not JSON"),
        (f"/v1/submission/1.0/{doc['document_id']}", b"\x1f\x8bxx", False, 400, "not JSON"),
        (
            f"/v1/submission/1.0/{doc['document_id']}",
            json.dumps({**doc, "level": "x"}).encode(),
            True,
            400,
            "schema",
        ),
        (f"/v1/other/1.0/{doc['document_id']}", json.dumps(doc).encode(), True, 404, "POST"),
    ]
    for path, body, gz, status, reason in cases:
        answer = _post(receiver, path, body, gz)
        assert answer.status_code == status and reason in answer.json()["reason"], (path, answer.text)
    assert receiver.stored() == []


def test_a_gzip_bomb_stops_at_the_cap(receiver: Receiver, monkeypatch: Any) -> None:
    import sccm_cep.receiver as mod

    monkeypatch.setattr(mod, "MAX_JSON", 1000)
    answer = _post(receiver, "/v1/submission/1.0/" + "0" * 36, b" " * 5000)
    assert answer.status_code == 413


def test_a_deletion_request_removes_that_sites_submissions(
    store: Store, receiver: Receiver, settings: DeliverySettings, state_url: str
) -> None:
    send_pending(store, settings)
    assert len(receiver.stored()) == 2
    from click.testing import CliRunner

    from sccm_cep.cli import cli

    assert (
        CliRunner()
        .invoke(cli, ["--state", state_url, "leave", "PS1", "--yes", "--as-of", "2027-01-05"])
        .exit_code
        == 0
    )
    report = send_pending(store, settings)
    assert [(r.kind, r.status) for r in report.results] == [("deletion-request", "sent")]
    assert receiver.stored() == [] and len(receiver.stored("deletion-request")) == 1
