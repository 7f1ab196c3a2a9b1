"""The shared contract: the receiver needs nothing of the collector, the deletion request has a
schema both sides use, and the outbox knows a document's schema version without reading it."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from sccm_cep.collector.store import Outbox, OutboxState, SitePseudonym, Store
from sccm_cep.contract.deletion import (
    DELETION_SCHEMA,
    DELETION_SCHEMA_VERSION,
    deletion_request,
    load_deletion_schema,
    site_pseudonyms,
)
from sccm_cep.contract.upload import DocumentKind, parse_upload_path, upload_path
from sccm_cep.contract.validation import check_document, check_upload
from sccm_cep.delivery import checkpoints
from sccm_cep.delivery.outbox import document_of
from tests.delivery.conftest import document, rows

ROOT = Path(__file__).resolve().parents[2]
STORES = ROOT / "fixtures" / "stores"
SITE = "0123456789abcdef0123456789abcdef"

# Runs in a fresh interpreter: the receiver app handles one upload and one deletion request
# in-process (WSGI), then lists every sccm_cep module that got imported.
_CHILD = """
import io, json, sys
from sccm_cep.receiver.app import ReceiverApp, open_receiver_db
from sccm_cep.contract.deletion import deletion_request
from sccm_cep.contract.submission import canonical_json
import datetime

submission = json.loads(open(sys.argv[1], encoding="utf-8").read())
deletion = deletion_request(submission["site"], datetime.date(2027, 1, 5))
app = ReceiverApp(open_receiver_db(sys.argv[2]))
answers = []
for doc in (submission, deletion):
    body = canonical_json(doc).encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": f"/v1/{doc['kind']}/{doc['schema_version']}/{doc['document_id']}",
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        "wsgi.input": io.BytesIO(body),
    }
    seen = []
    out = b"".join(app(environ, lambda status, headers: seen.append(status)))
    answers.append([seen[0], json.loads(out)["status"]])
print(json.dumps({
    "answers": answers,
    "stored": [app.stored("submission"), app.stored("deletion-request")],
    "modules": sorted(m for m in sys.modules if m == "sccm_cep" or m.startswith("sccm_cep.")),
}))
"""


def test_the_receiver_imports_only_the_contract(store: Store, tmp_path: Path) -> None:
    doc = document(rows(store)[0])
    source = tmp_path / "submission.json"
    source.write_text(json.dumps(doc), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(source), f"sqlite:///{tmp_path / 'received.db'}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    seen: dict[str, Any] = json.loads(done.stdout)
    assert seen["answers"] == [["201 Created", "stored"], ["201 Created", "stored"]]
    assert seen["stored"][0] == []  # the deletion request removed the site's submission
    assert len(seen["stored"][1]) == 1
    forbidden = ("collector", "export", "privacy", "delivery", "review", "cli")
    assert not [m for m in seen["modules"] if m.split(".")[1:2] and m.split(".")[1] in forbidden]
    # What it does import: the contract, the error tree and the optional-import helper.
    allowed = {"sccm_cep", "sccm_cep.errors", "sccm_cep.extras"}
    assert {
        m
        for m in seen["modules"]
        if m not in allowed and not m.startswith(("sccm_cep.contract", "sccm_cep.receiver"))
    } == set()


def test_the_deletion_request_is_built_and_checked_by_one_schema() -> None:
    doc = deletion_request(SITE, date(2027, 1, 5))
    schema = load_deletion_schema()
    assert schema["$id"] == f"{DELETION_SCHEMA}:{DELETION_SCHEMA_VERSION}"
    assert set(doc) == set(schema["required"]) == set(schema["properties"]) - {"earlier_sites", "contributor"}
    assert check_document(doc) is None
    assert deletion_request(SITE, date(2027, 1, 5)) == doc  # one request per site and day
    cases = [
        ({**doc, "extra": "LT-QUACKENBUSH"}, "(document): additionalProperties"),
        ({**doc, "site": "LT-QUACKENBUSH-IN-A-NAME-32-CHAR"}, "at site: pattern"),
        ({**doc, "site": SITE + "\n"}, "at site: maxLength"),  # "$" alone would let it pass
        ({**doc, "scope": "everything"}, "at scope: const"),
        ({**doc, "requested_on": "5 Jan 2027"}, "at requested_on"),
        ({**doc, "schema_version": "9.9"}, "schema_version must be 1.0"),
        ({**doc, "document_id": "00000000-0000-5000-8000-000000000009"}, "document_id is not the one"),
    ]
    for bad, reason in cases:
        violation = check_document(bad)
        assert violation is not None and reason in violation.reason, (bad, violation)
        assert "QUACKENBUSH" not in violation.reason


def test_a_deletion_request_may_name_earlier_pseudonyms_and_old_requests_stay_valid() -> None:
    earlier = ["f" * 32, "a" * 32, "f" * 32, SITE]
    doc = deletion_request(SITE, date(2027, 1, 5), earlier_sites=earlier)
    assert doc["earlier_sites"] == ["a" * 32, "f" * 32]  # sorted, once each, never the site itself
    assert doc["document_id"] == deletion_request(SITE, date(2027, 1, 5))["document_id"]
    assert check_document(doc) is None
    assert site_pseudonyms(doc) == (SITE, "a" * 32, "f" * 32)
    old = deletion_request(SITE, date(2027, 1, 5))
    assert "earlier_sites" not in old and check_document(old) is None and site_pseudonyms(old) == (SITE,)
    cases = [
        ({**doc, "earlier_sites": []}, "at earlier_sites: minItems"),
        ({**doc, "earlier_sites": ["LT-QUACKENBUSH-IN-A-NAME-32-CHAR"]}, "pattern"),
        ({**doc, "earlier_sites": ["LT-QUACKENBUSH"]}, "minLength"),
        ({**doc, "earlier_sites": ["a" * 32, "a" * 32]}, "uniqueItems"),
        ({**doc, "earlier_sites": "a" * 32}, "type"),
    ]
    for bad, reason in cases:
        violation = check_document(bad)
        assert violation is not None and reason in violation.reason, (bad, violation)
        assert "QUACKENBUSH" not in violation.reason
    with pytest.raises(ValueError):
        deletion_request(SITE, date(2027, 1, 5), earlier_sites=[f"{n:032x}" for n in range(1, 300)])


def test_a_submission_from_the_store_passes_the_receivers_checks(store: Store) -> None:
    doc = document(rows(store)[0])
    target = parse_upload_path(upload_path(doc["kind"], doc["schema_version"], doc["document_id"]))
    assert target is not None and target.kind is DocumentKind.SUBMISSION
    assert check_upload(target, doc) is None
    other = {**doc, "revision": 3}
    violation = check_upload(target, other)
    assert violation is not None and "document_id is not the one" in violation.reason
    assert parse_upload_path("/v1/other/1.0/" + doc["document_id"]) is None


def test_the_outbox_reads_the_schema_version_from_its_column(store: Store) -> None:
    with store.session() as session:
        row = session.execute(select(Outbox).order_by(Outbox.id)).scalars().first()
        assert row is not None and row.schema_version == "1.0"
        assert row.state is OutboxState.PENDING  # read back as the enum
        row.body = gzip.compress(b"not JSON: the body is not parsed to send it")
        assert document_of(row).schema_version == "1.0"
        row.state = "lost"
        with pytest.raises(Exception, match="lost"):
            session.flush()  # only an OutboxState may be written
        session.rollback()


def test_an_old_store_gets_the_schema_version_column(tmp_path: Path, data_dir: Path) -> None:
    copy = tmp_path / "old.sqlite"
    shutil.copy(STORES / "state-0001.sqlite", copy)
    store = Store(f"sqlite:///{copy}")
    try:
        with store.session() as session:
            (row,) = session.execute(select(Outbox)).scalars()
        assert row.schema_version == "1.0" and row.state is OutboxState.SENT
        if row.body is not None:
            assert document_of(row).path().startswith("/v1/submission/1.0/")
        with store.session() as session:  # and the (empty) record of earlier site pseudonyms
            assert session.execute(select(SitePseudonym)).scalars().all() == []
    finally:
        store.dispose()


def test_checkpoints_do_nothing_unless_observed() -> None:
    checkpoints.reached(checkpoints.Step.UPLOAD)  # no observer: returns at once
    seen: list[str] = []
    checkpoints.observe(seen.append)
    try:
        checkpoints.reached(checkpoints.Step.POSTED)
    finally:
        checkpoints.observe(None)
    assert seen == ["posted"]
    package = ROOT / "sccm_cep"
    assert not [p for p in package.rglob("*.py") if "SCCM_CEP_TEST" in p.read_text(encoding="utf-8")]
