"""Exactly-once with several receiver processes: two ``sccm-cep receiver serve`` processes on
one PostgreSQL database, and twenty uploaders sending overlapping documents to both at once.
What keeps one copy is the database's unique constraints, not either process's memory."""

from __future__ import annotations

import gzip
import http.client
import json
import random
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from bench.fleet import Upload, fleet
from bench.receiver import start_receivers, stop_receivers
from fixtures.synthetic_site import drop_pg_schema, pg_schema_url
from sccm_cep.contract.upload import CURRENT_VERSIONS, DocumentKind, upload_path
from sccm_cep.receiver.facts import fact_submissions, fact_values, figure_rows
from sccm_cep.receiver.store import open_receiver_db, received_documents

UPLOADERS = 20


@pytest.fixture
def receivers(pg_base: str) -> Iterator[tuple[str, list[str]]]:
    """Two receiver processes on one fresh PostgreSQL schema: (database URL, their URLs)."""
    schema = f"procs_{uuid.uuid4().hex[:10]}"
    db = pg_schema_url(pg_base, schema)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs, urls = start_receivers(db, 2)  # stops what it started if one does not start
        yield db, [url.removeprefix("http://") for url in urls]
    finally:
        stop_receivers(procs)
        drop_pg_schema(pg_base, schema)


def _send(address: str, upload: Upload) -> tuple[int, str]:
    host, port = address.split(":")
    path = upload_path(upload.kind, CURRENT_VERSIONS[upload.kind], upload.document_id)
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    for _ in range(100):
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        try:
            conn.request("POST", path, body=gzip.compress(upload.text), headers=headers)
            response = conn.getresponse()
            body = json.loads(response.read())
        finally:
            conn.close()
        if response.status != 503:
            return response.status, str(body["status"])
        time.sleep(random.random() * 0.2)
    raise AssertionError("the receivers stayed busy")


def test_two_receivers_and_twenty_uploaders_store_each_document_once(
    receivers: tuple[str, list[str]],
) -> None:
    db, addresses = receivers
    uploads = [u for u in fleet(30, seed=21) if u.kind is DocumentKind.SUBMISSION]
    answers: list[tuple[str, int, str]] = []
    lock = threading.Lock()
    start = threading.Barrier(UPLOADERS)

    def uploader(n: int) -> None:
        rng = random.Random(n)
        mine = rng.sample(uploads, k=len(uploads) * 2 // 3)  # each document reaches several uploaders
        start.wait()
        for upload in mine:
            status, said = _send(addresses[rng.randrange(2)], upload)
            with lock:
                answers.append((upload.document_id, status, said))

    threads = [threading.Thread(target=uploader, args=(n,)) for n in range(UPLOADERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads)

    sent = {doc_id for doc_id, _s, _said in answers}
    stored_by = Counter(doc_id for doc_id, status, said in answers if (status, said) == (201, "stored"))
    assert set(stored_by) == sent and set(stored_by.values()) == {1}  # one 201 per document
    others = Counter((status, said) for _id, status, said in answers) - Counter({(201, "stored"): len(sent)})
    assert set(others) == {(409, "duplicate")} and others.total() == len(answers) - len(sent) > len(sent)

    # Facts are those of each (site, period)'s highest revision, once.
    current: dict[tuple[str, str], tuple[int, Upload]] = {}
    for upload in uploads:
        if upload.document_id in sent:
            doc = json.loads(upload.text)
            key = (doc["site"], doc["period"])
            if key not in current or doc["revision"] > current[key][0]:
                current[key] = (doc["revision"], upload)
    expected_facts = sum(len(list(figure_rows(json.loads(u.text)))) for _r, u in current.values())
    engine = open_receiver_db(db)
    try:
        with engine.connect() as conn:
            stored = conn.execute(select(received_documents.c.document_id)).scalars().all()
            currents = set(conn.execute(select(fact_submissions.c.document_id)).scalars())
            facts = conn.execute(select(func.count()).select_from(fact_values)).scalar_one()
            per_document = set(conn.execute(select(fact_values.c.document_id).distinct()).scalars())
    finally:
        engine.dispose()
    assert sorted(stored) == sorted(sent)
    assert currents == {u.document_id for _r, u in current.values()} == per_document
    assert facts == expected_facts
