"""The reference receiver on its own: what it accepts, refuses and de-duplicates."""

from __future__ import annotations

import gzip
import hashlib
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner
from sqlalchemy import select

from sccm_cep.cli import cli
from sccm_cep.collector.store import Store
from sccm_cep.contract.submission import canonical_json
from sccm_cep.delivery import DeliverySettings, send_pending
from sccm_cep.receiver.store import received_documents
from tests.delivery.conftest import document, rows
from tests.support.receiver import Fault, FaultyReceiver


def _post(receiver: FaultyReceiver, path: str, body: bytes, gz: bool = True) -> httpx.Response:
    headers = {"Content-Type": "application/json", **({"Content-Encoding": "gzip"} if gz else {})}
    return httpx.post(receiver.url + path, content=gzip.compress(body) if gz else body, headers=headers)


def test_a_valid_document_is_stored_once(store: Store, receiver: FaultyReceiver) -> None:
    doc = document(rows(store)[0])
    path = f"/v1/submission/1.0/{doc['document_id']}"
    raw = json.dumps(doc).encode()
    first, second = _post(receiver, path, raw), _post(receiver, path, raw)
    assert first.status_code == 201 and second.status_code == 409
    assert second.json() == {"status": "duplicate", "document_id": doc["document_id"]}
    assert receiver.stored() == [doc["document_id"]]


def test_refusals_say_why(store: Store, receiver: FaultyReceiver) -> None:
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


def test_a_gzip_bomb_stops_at_the_cap(receiver: FaultyReceiver, monkeypatch: Any) -> None:
    import sccm_cep.receiver.wire as mod

    monkeypatch.setattr(mod, "MAX_JSON", 1000)
    answer = _post(receiver, "/v1/submission/1.0/" + "0" * 36, b" " * 5000)
    assert answer.status_code == 413


def test_a_deletion_request_removes_that_sites_submissions(
    store: Store, receiver: FaultyReceiver, settings: DeliverySettings, state_url: str
) -> None:
    send_pending(store, settings)
    assert len(receiver.stored()) == 2
    assert (
        CliRunner()
        .invoke(cli, ["--state", state_url, "leave", "PS1", "--yes", "--as-of", "2027-01-05"])
        .exit_code
        == 0
    )
    report = send_pending(store, settings)
    assert [(r.kind, r.status) for r in report.results] == [("deletion-request", "sent")]
    assert receiver.stored() == [] and len(receiver.stored("deletion-request")) == 1


def test_leaving_after_a_key_rotation_erases_what_was_sent_under_every_key(
    store: Store, receiver: FaultyReceiver, settings: DeliverySettings, state_url: str, data_dir: Path
) -> None:
    def cep(*args: str) -> None:
        result = CliRunner().invoke(cli, ["--state", state_url, *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output

    send_pending(store, settings)  # two periods under key version 1
    cep("site", "rotate-key", "PS1", "--yes")
    cep("run", "--due", "--as-of", "2027-04-01")  # one more under key version 2
    send_pending(store, settings)
    with receiver.engine.connect() as conn:
        sites = set(conn.execute(select(received_documents.c.site)).scalars())
    assert len(receiver.stored()) == 3 and len(sites) == 2
    # The first key is gone from this host (as on a host that never had it): the state store
    # still knows the pseudonym it was sent under.
    (data_dir / "secrets" / "site-PS1-v1.key").unlink()
    cep("leave", "PS1", "--yes", "--as-of", "2027-04-05")
    (request,) = [document(r) for r in rows(store) if r.kind == "deletion-request"]
    assert {request["site"], *request["earlier_sites"]} >= sites
    report = send_pending(store, settings)
    assert [(r.kind, r.status) for r in report.results] == [("deletion-request", "sent")]
    assert receiver.stored() == [] and len(receiver.stored("deletion-request")) == 1


def test_rows_in_postgresql_carry_the_envelope_and_the_canonical_bytes(
    store: Store, receiver: FaultyReceiver
) -> None:
    doc = document(rows(store)[0])
    raw = json.dumps(doc).encode()
    assert _post(receiver, f"/v1/submission/1.0/{doc['document_id']}", raw).status_code == 201
    assert receiver.engine.dialect.name == "postgresql"
    with receiver.engine.connect() as conn:
        (row,) = conn.execute(select(received_documents)).mappings().all()
    assert (row["kind"], row["schema_version"], row["site"], row["period"], row["revision"]) == (
        "submission",
        "1.0",
        doc["site"],
        doc["period"],
        0,
    )
    # What is kept is the validated document re-encoded, never the bytes as they came.
    canonical = canonical_json(doc).encode()
    assert raw != canonical
    assert (
        gzip.decompress(row["body"]) == canonical and row["sha256"] == hashlib.sha256(canonical).hexdigest()
    )


def test_too_many_requests_in_flight_get_503_with_retry_after(store: Store, empty_receiver_db: str) -> None:
    doc = document(rows(store)[0])
    path = f"/v1/submission/1.0/{doc['document_id']}"
    raw = json.dumps(doc).encode()
    with FaultyReceiver(empty_receiver_db, max_in_flight=1) as busy:
        busy.fail_next(1, Fault(hang=1.0))
        slow = threading.Thread(target=_post, args=(busy, path, raw))
        slow.start()
        deadline = time.monotonic() + 5
        while busy.requests == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        answer = _post(busy, path, raw)
        slow.join()
        assert answer.status_code == 503 and answer.headers["Retry-After"] == "1"
        assert busy.stored() == [doc["document_id"]]  # the slow one was stored
        assert _post(busy, path, raw).status_code == 409


def test_serve_listens_and_a_bad_db_url_says_what_to_do(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = str(Path(sys.executable).with_name("sccm-cep"))
    db = f"sqlite:///{tmp_path / 'received.db'}"
    serving = subprocess.Popen(
        [exe, "receiver", "serve", "--db", db, "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/v1/health")
                break
            except httpx.TransportError:
                assert serving.poll() is None and time.monotonic() < deadline, serving.communicate()
                time.sleep(0.1)
        assert health.status_code == 200 and health.json() == {"status": "ok"}
    finally:
        serving.terminate()
        serving.wait(timeout=10)
    assert (tmp_path / "received.db").exists()
    runner = CliRunner()
    bad = runner.invoke(cli, ["receiver", "report", "--db", "nonsense://x"])
    assert bad.exit_code == 3 and "receiver database URL is not valid" in bad.output, bad.output
    hidden = runner.invoke(cli, ["receiver", "report", "--db", "postgresql+psycopg://u:pw-123@127.0.0.1:1/x"])
    assert hidden.exit_code == 3 and "cannot open" in hidden.output and "pw-123" not in hidden.output
    wrong = runner.invoke(cli, ["receiver", "serve", "--db", db, "--listen", "8080"])
    assert wrong.exit_code == 2 and "HOST:PORT" in wrong.output
