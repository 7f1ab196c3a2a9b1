"""Signed documents: a site signs everything it queues, the receiver binds the key of a site's
first signed document (trust on first use) and refuses what that key did not sign: a forged
deletion request, a forged revision, a fake pre-empting the site's next document id."""

from __future__ import annotations

import gzip
import hashlib
import json
import socket
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, select

from sccm_cep.cli import cli
from sccm_cep.collector.keys import signing_key
from sccm_cep.collector.sites import find_site
from sccm_cep.collector.store import AuditEvent, SiteKeyChange, Store
from sccm_cep.contract.deletion import deletion_request
from sccm_cep.contract.signing import (
    KEY_CHANGES_HEADER,
    KEY_HEADER,
    SIGNATURE_HEADER,
    DocumentSignature,
    KeyChange,
    keys_linked,
    public_key_text,
)
from sccm_cep.contract.submission import canonical_json, document_id
from sccm_cep.contract.upload import DocumentKind, UploadTarget
from sccm_cep.delivery import DeliverySettings, prepare_bundle, send_pending, upload_bundle
from sccm_cep.receiver.app import ReceiverApp
from sccm_cep.receiver.keys import site_keys
from sccm_cep.receiver.store import open_receiver_db, received_documents
from sccm_cep.receiver.wire import Reject
from tests.delivery.conftest import document, rows
from tests.support.receiver import FaultyReceiver


def _cep(state_url: str, *args: str) -> None:
    result = CliRunner().invoke(cli, ["--state", state_url, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output


def _site_key(store: Store) -> str:
    with store.session() as session:
        return public_key_text(signing_key(find_site(session, "PS1")))


def _bound(receiver: FaultyReceiver) -> dict[str, str]:
    with receiver.engine.connect() as conn:
        return {s: k for s, k in conn.execute(select(site_keys.c.site, site_keys.c.public_key))}


def _post(
    receiver: FaultyReceiver, kind: str, doc: dict[str, Any], signer: Ed25519PrivateKey | None = None
) -> httpx.Response:
    """POST ``doc`` as a client would, signed by ``signer`` (None: unsigned)."""
    body = canonical_json(doc).encode()
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    if signer is not None:
        sha = hashlib.sha256(body).hexdigest()
        headers |= DocumentSignature.make(signer, kind, doc["document_id"], sha).headers()
    path = f"/v1/{kind}/1.0/{doc['document_id']}"
    return httpx.post(receiver.url + path, content=gzip.compress(body), headers=headers)


def _stored_sha(receiver: FaultyReceiver, doc_id: str) -> str | None:
    with receiver.engine.connect() as conn:
        return conn.execute(
            select(received_documents.c.sha256).where(received_documents.c.document_id == doc_id)
        ).scalar_one_or_none()


def test_every_document_a_site_queues_is_signed_and_all_are_stored(
    store: Store, receiver: FaultyReceiver, settings: DeliverySettings, state_url: str
) -> None:
    key = _site_key(store)
    with store.session() as session:
        joined = session.execute(select(AuditEvent.detail).where(AuditEvent.action == "join")).scalar_one()
    assert json.loads(joined or "{}")["signing_key"] == key  # the key pair announced at join signs them
    report = send_pending(store, settings)
    assert [r.status for r in report.results] == ["sent", "sent"] and all(
        r.code == 201 for r in report.results
    )
    site = document(rows(store)[0])["site"]
    assert _bound(receiver) == {site: key}
    _cep(state_url, "run", "--site", "PS1", "--period", "2027-Q1", "--force")  # a revision
    revision = rows(store)[-1]
    assert document(revision)["revision"] == 1
    assert send_pending(store, settings).results[0].code == 201
    _cep(state_url, "leave", "PS1", "--yes", "--as-of", "2027-02-01")
    for row in rows(store):
        assert row.signature is not None
        proof = DocumentSignature.from_text(row.signature)
        assert proof.key == key and proof.verifies(row.kind, row.document_id, row.sha256)
    report = send_pending(store, settings)
    assert [(r.kind, r.code) for r in report.results] == [("deletion-request", 201)]
    assert receiver.stored() == [] and len(receiver.stored("deletion-request")) == 1


def test_a_forged_deletion_request_is_refused_and_deletes_nothing(
    store: Store, receiver: FaultyReceiver, settings: DeliverySettings
) -> None:
    send_pending(store, settings)
    site = document(rows(store)[0])["site"]
    forger = Ed25519PrivateKey.generate()
    request = deletion_request(site, date(2027, 1, 3))
    unsigned, wrong_key = (
        _post(receiver, "deletion-request", request),
        _post(receiver, "deletion-request", request, forger),
    )
    assert (unsigned.status_code, wrong_key.status_code) == (403, 403)
    assert unsigned.json()["status"] == "forbidden" and "not signed" in unsigned.json()["reason"]
    assert "bound to its site" in wrong_key.json()["reason"]
    # Naming the site as an "earlier" pseudonym of the forger's own, with a key change the
    # forger signed itself, proves nothing either.
    own = deletion_request("f" * 32, date(2027, 1, 3), earlier_sites=[site])
    fake_change = KeyChange.make(forger, site, forger, "f" * 32)
    forged = KeyChange(site, _site_key(store), "f" * 32, public_key_text(forger), fake_change.signature)
    body = canonical_json(own).encode()
    proof = DocumentSignature.make(
        forger, "deletion-request", own["document_id"], hashlib.sha256(body).hexdigest(), [forged]
    )
    answer = httpx.post(
        receiver.url + f"/v1/deletion-request/1.0/{own['document_id']}",
        content=gzip.compress(body),
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip", **proof.headers()},
    )
    assert answer.status_code == 403 and "earlier site" in answer.json()["reason"]
    assert len(receiver.stored()) == 2 and receiver.stored("deletion-request") == []
    for reason in (unsigned, wrong_key, answer):
        assert site not in reason.text  # a refusal quotes no value


def test_a_forged_revision_is_refused_and_the_real_one_is_stored(
    store: Store, receiver: FaultyReceiver, settings: DeliverySettings, state_url: str
) -> None:
    send_pending(store, settings)
    _cep(state_url, "run", "--site", "PS1", "--period", "2027-Q1", "--force")
    real = rows(store)[-1]
    fake = {**document(real), "generated_at": "2027-01-02T00:00:00Z"}
    assert _post(receiver, "submission", fake).status_code == 403
    assert _post(receiver, "submission", fake, Ed25519PrivateKey.generate()).status_code == 403
    # The site's real signature, lifted onto other content, does not verify either.
    assert real.signature is not None
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    headers |= DocumentSignature.from_text(real.signature).headers()
    lifted = httpx.post(
        receiver.url + f"/v1/submission/1.0/{real.document_id}",
        content=gzip.compress(canonical_json(fake).encode()),
        headers=headers,
    )
    assert lifted.status_code == 403 and "does not verify" in lifted.json()["reason"]
    assert _stored_sha(receiver, real.document_id) is None
    (sent,) = send_pending(store, settings).results
    assert (sent.status, sent.code) == ("sent", 201)
    assert _stored_sha(receiver, real.document_id) == real.sha256


def test_a_fake_under_a_bound_sites_next_id_is_refused_so_the_real_one_is_stored(
    store: Store, receiver: FaultyReceiver, settings: DeliverySettings, state_url: str
) -> None:
    send_pending(store, settings)
    last = document(rows(store)[-1])
    next_id = document_id(last["site"], "2027-Q2")
    fake = {**last, "period": "2027-Q2", "document_id": next_id}
    for signer in (None, Ed25519PrivateKey.generate()):
        refused = _post(receiver, "submission", fake, signer)
        assert refused.status_code == 403, refused.text
    assert _stored_sha(receiver, next_id) is None
    _cep(state_url, "run", "--due", "--as-of", "2027-04-01")
    real = rows(store)[-1]
    assert real.document_id == next_id
    (sent,) = send_pending(store, settings).results
    assert (sent.status, sent.code) == ("sent", 201)  # stored, not "the receiver already had it"
    assert _stored_sha(receiver, next_id) == real.sha256


def test_a_bundle_carries_each_documents_signature_to_the_receiver(
    store: Store, receiver: FaultyReceiver, settings: DeliverySettings, tmp_path: Path
) -> None:
    info = prepare_bundle(store, "PS1", tmp_path / "b.zip", now=datetime(2027, 1, 2))
    by_id = {r.document_id: r.signature for r in rows(store)}
    entries = info.manifest["documents"]
    assert len(entries) == 2
    for entry in entries:
        assert canonical_json(entry["signature"]) == by_id[entry["document_id"]]
    _info, receipts = upload_bundle(tmp_path / "b.zip", settings, tmp_path / "r.json")
    assert [(r.status, r.code) for r in receipts] == [("sent", 201), ("sent", 201)]
    assert list(_bound(receiver).values()) == [_site_key(store)]


def test_unsigned_documents_only_for_sites_without_a_key_and_never_when_required(
    store: Store, tmp_path: Path
) -> None:
    doc = document(rows(store)[0])
    body = canonical_json(doc).encode()
    target = UploadTarget(DocumentKind.SUBMISSION, "1.0", doc["document_id"])
    strict = ReceiverApp(open_receiver_db(f"sqlite:///{tmp_path / 'strict.db'}"), require_signatures=True)
    with pytest.raises(Reject) as refused:
        strict.accept(target, body, "")
    assert refused.value.status == 403 and "requires signatures" in refused.value.reason
    lenient = ReceiverApp(open_receiver_db(f"sqlite:///{tmp_path / 'lenient.db'}"))
    assert lenient.accept(target, body, "")[0] == 201  # an older collector, a site with no key
    with store.session() as session:
        key = signing_key(find_site(session, "PS1"))
    second = document(rows(store)[1])
    second_body = canonical_json(second).encode()
    second_target = UploadTarget(DocumentKind.SUBMISSION, "1.0", second["document_id"])
    proof = DocumentSignature.make(
        key, "submission", second["document_id"], hashlib.sha256(second_body).hexdigest()
    )
    assert lenient.accept(second_target, second_body, "", None, proof)[0] == 201  # binds
    with pytest.raises(Reject):  # from now on: signed or nothing
        lenient.accept(second_target, second_body, "")


def test_malformed_signature_headers_are_a_clear_400(store: Store, receiver: FaultyReceiver) -> None:
    doc = document(rows(store)[0])
    path = receiver.url + f"/v1/submission/1.0/{doc['document_id']}"
    base = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    body = gzip.compress(canonical_json(doc).encode())
    for extra in (
        {KEY_HEADER: "not base64!"},
        {KEY_HEADER: "AAAA", SIGNATURE_HEADER: "AAAA"},
        {KEY_HEADER: "A" * 43 + "=", SIGNATURE_HEADER: "A" * 86 + "==", KEY_CHANGES_HEADER: "e30="},
    ):
        answer = httpx.post(path, content=body, headers=base | extra)
        assert answer.status_code == 400 and "signature headers" in answer.json()["reason"], extra
    assert receiver.stored() == []


def test_key_changes_link_only_keys_that_signed_the_handover() -> None:
    one, two, three = (Ed25519PrivateKey.generate() for _ in range(3))
    first, second = (
        KeyChange.make(one, "a" * 32, two, "b" * 32),
        KeyChange.make(two, "b" * 32, three, "c" * 32),
    )
    k1, k3 = public_key_text(one), public_key_text(three)
    assert keys_linked(k1, k3, [second, first]) and not keys_linked(k3, k1, [first, second])
    assert not keys_linked(k1, k3, [first])
    tampered = KeyChange(first.site, first.key, first.next_site, k3, first.signature)
    assert not tampered.valid() and not keys_linked(k1, k3, [tampered])
    proof = DocumentSignature.make(three, "deletion-request", "x", "ab" * 32, [first, second])
    back = DocumentSignature.from_headers(proof.headers().get)
    assert back == proof and DocumentSignature.from_text(proof.to_text()) == proof
    assert back is not None and back.verifies("deletion-request", "x", "ab" * 32)
    assert not back.verifies("submission", "x", "ab" * 32)  # the kind is signed too


def test_documents_queued_before_signatures_still_go_to_a_site_with_no_key(
    store: Store, receiver: FaultyReceiver, settings: DeliverySettings, state_url: str
) -> None:
    from alembic import command

    cfg = store._alembic()
    with store.engine.begin() as conn:  # the schema of the release before signatures
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0006")
    store.dispose()
    upgraded = Store(state_url)  # migrates to 0007: the queued rows keep no signature
    try:
        assert [r.signature for r in rows(upgraded)] == [None, None]
        report = send_pending(upgraded, settings)
        assert [r.code for r in report.results] == [201, 201] and _bound(receiver) == {}
        _cep(state_url, "run", "--due", "--as-of", "2027-04-01")  # the first signed one binds
        assert send_pending(upgraded, settings).results[0].code == 201
        assert list(_bound(receiver).values()) == [_site_key(upgraded)]
    finally:
        upgraded.dispose()


@pytest.mark.parametrize("old_key_on_host", [True, False])
def test_a_deletion_after_a_rotation_needs_the_old_keys_handover(
    store: Store,
    receiver: FaultyReceiver,
    settings: DeliverySettings,
    state_url: str,
    data_dir: Path,
    old_key_on_host: bool,
) -> None:
    send_pending(store, settings)  # binds the pseudonym of key version 1
    _cep(state_url, "site", "rotate-key", "PS1", "--yes")
    _cep(state_url, "run", "--due", "--as-of", "2027-04-01")
    send_pending(store, settings)  # binds the pseudonym of key version 2
    assert len(_bound(receiver)) == 2 and len(receiver.stored()) == 3
    with store.session() as session:  # as if the rotation's key change were lost
        session.execute(delete(SiteKeyChange))
        session.commit()
    if not old_key_on_host:
        (data_dir / "secrets" / "site-PS1-v1.key").unlink()
    _cep(state_url, "leave", "PS1", "--yes", "--as-of", "2027-04-05")
    (sent,) = send_pending(store, settings).results
    if old_key_on_host:  # the host still holds version 1: it signs the handover again
        assert (sent.status, sent.code) == ("sent", 201) and receiver.stored() == []
    else:  # nothing proves the old key handed over: refused whole, nothing deleted
        assert (sent.status, sent.code) == ("quarantined", 403) and len(receiver.stored()) == 3


def test_a_served_receiver_that_requires_signatures_takes_a_sites_signed_documents_only(
    state_url: str, tmp_path: Path
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = str(Path(sys.executable).with_name("sccm-cep"))
    db = f"sqlite:///{tmp_path / 'received.db'}"
    serve = [exe, "receiver", "serve", "--db", db, "--listen", f"127.0.0.1:{port}", "--require-signatures"]
    serving = subprocess.Popen(serve, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url + "/v1/health")
                break
            except httpx.TransportError:
                assert serving.poll() is None and time.monotonic() < deadline, serving.communicate()
                time.sleep(0.1)
        _cep(state_url, "send", "--endpoint", url)  # the site's two signed submissions
        assert _kinds(db) == ["submission", "submission"]
        _cep(state_url, "leave", "PS1", "--yes", "--as-of", "2027-01-05")
        _cep(state_url, "send", "--endpoint", url)
        stranger = deletion_request("e" * 32, date(2027, 1, 5))  # no key bound: TOFU would take it
        body = gzip.compress(canonical_json(stranger).encode())
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        unsigned = httpx.post(
            f"{url}/v1/deletion-request/1.0/{stranger['document_id']}", content=body, headers=headers
        )
        assert unsigned.status_code == 403 and "requires signatures" in unsigned.json()["reason"]
    finally:
        serving.terminate()
        serving.wait(timeout=10)
    engine = open_receiver_db(db)
    try:
        with engine.connect() as conn:
            bound = conn.execute(select(site_keys.c.site)).scalars().all()
    finally:
        engine.dispose()
    assert _kinds(db) == ["deletion-request"] and len(bound) == 1  # erased by the signed request


def _kinds(db: str) -> list[str]:
    engine = open_receiver_db(db)
    try:
        with engine.connect() as conn:
            return sorted(conn.execute(select(received_documents.c.kind)).scalars())
    finally:
        engine.dispose()
