"""The receiver as an internet-facing service: whatever a client sends is a 4xx (or a 503 to
come back later), never a 5xx or a stored surprise, and memory stays bounded under bombs."""

from __future__ import annotations

import gzip
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sccm_cep.collector.store import Store
from sccm_cep.contract.submission import canonical_json
from sccm_cep.delivery import DeliverySettings, send_pending
from sccm_cep.receiver.app import ReceiverApp
from sccm_cep.receiver.store import open_receiver_db
from sccm_cep.receiver.wire import MAX_JSON
from tests.delivery.conftest import document, rows


@pytest.fixture
def app(tmp_path: Path) -> Iterator[ReceiverApp]:
    engine = open_receiver_db(f"sqlite:///{tmp_path / 'receiver.db'}")
    yield ReceiverApp(engine)
    engine.dispose()


@pytest.fixture
def doc(store: Store) -> dict[str, Any]:
    return document(rows(store)[0])


def _post(
    app: ReceiverApp,
    doc_id: str,
    body: bytes,
    *,
    encoding: str = "gzip",
    content_type: str = "application/json",
    kind: str = "submission",
) -> tuple[int, dict[str, Any]]:
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": f"/v1/{kind}/1.0/{doc_id}",
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": content_type,
        "HTTP_CONTENT_ENCODING": encoding,
        "wsgi.input": io.BytesIO(body),
    }
    seen: list[str] = []
    out = b"".join(app(environ, lambda status, headers: seen.append(status)))
    return int(seen[0].split()[0]), json.loads(out)


def _gz(text: bytes) -> bytes:
    return gzip.compress(text, compresslevel=9)


def _bomb(pattern: bytes, size: int) -> bytes:
    """``pattern`` repeated to ``size`` bytes, gzipped in a stream (never held whole); a run of
    ``x`` starts as a JSON string, so only its length gives it away."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = pattern * (1 << 20 // len(pattern))
    head = [packer.compress(b'{"a":"')] if pattern.startswith(b"x") else []
    parts = head + [packer.compress(block) for _ in range(size // len(block))]
    return b"".join([*parts, packer.flush()])


def test_junk_or_a_second_member_after_the_gzip_stream_is_refused(
    app: ReceiverApp, doc: dict[str, Any]
) -> None:
    text = json.dumps(doc).encode()
    for body in (_gz(text) + b"junk", _gz(text) + _gz(b"{}"), _gz(text) + b"\0" * 8):
        status, answer = _post(app, doc["document_id"], body)
        assert status == 400 and "after its gzip stream" in answer["reason"]
    assert app.stored() == []
    assert _post(app, doc["document_id"], _gz(text))[0] == 201


@pytest.mark.parametrize(
    ("pattern", "size", "status"),
    [
        (b"\0", MAX_JSON + (1 << 20), 400),  # a decompression bomb, not JSON from its first byte
        (b"x" * 64, MAX_JSON + (1 << 20), 413),  # after the '{' below: JSON so far, then too long
        (b"[],", 48 << 20, 400),  # 48 MiB of empty arrays from ~50 KB
        (b"[", 8 << 20, 400),  # nesting 8 million deep
        (b'{"a":', 4 << 20, 400),
    ],
)
def test_bombs_are_refused_before_parsing(
    app: ReceiverApp, doc: dict[str, Any], pattern: bytes, size: int, status: int
) -> None:
    body = _bomb(pattern, size)
    assert len(body) < 16 << 20
    started = time.perf_counter()
    got, answer = _post(app, doc["document_id"], body)
    assert got == status, answer
    assert time.perf_counter() - started < 10
    assert app.budget._used == 0  # everything taken was given back


def test_deep_nesting_inside_a_document_is_a_400_not_a_500(app: ReceiverApp, doc: dict[str, Any]) -> None:
    deep = json.dumps({**doc, "sources": "X"})[:-1] + ', "x": ' + "[" * 5000 + "]" * 5000 + "}"
    status, _answer = _post(app, doc["document_id"], _gz(deep.encode()))
    assert status == 400


@pytest.mark.parametrize(
    "change",
    [
        {"revision": 2**63},
        {"revision": 2**31},
        {"site": "SITE\n"},
        {"period": "２０２６-Q4"},  # full-width digits
        {"period": "٢٠٢٦-Q4"},  # Arabic-Indic digits
        {"period": "2026-Q4\n"},
        {"contributor": "0" * 32 + "\n"},
        {"tool_version": "x" * 10_000},
    ],
)
def test_values_the_database_could_not_hold_are_400(
    app: ReceiverApp, doc: dict[str, Any], change: dict[str, Any]
) -> None:
    bad = {**doc, **{k: (doc["site"] + v[4:] if v == "SITE\n" else v) for k, v in change.items()}}
    status, answer = _post(app, doc["document_id"], _gz(json.dumps(bad).encode()))
    assert status == 400, answer
    assert app.stored() == []


def test_a_huge_count_in_a_row_is_refused(app: ReceiverApp, doc: dict[str, Any]) -> None:
    """One document with installations = 10^30 once took a report share to 1.0."""
    bad = json.loads(json.dumps(doc))
    row = next(
        r
        for section in bad.values()
        if isinstance(section, dict)
        for records in section.values()
        if isinstance(records, list)
        for r in records
        if isinstance(r, dict) and isinstance(r.get("installations", r.get("device_count")), int)
    )
    row["installations" if "installations" in row else "device_count"] = 10**30
    status, _ = _post(app, doc["document_id"], _gz(json.dumps(bad).encode()))
    assert status == 400


@pytest.mark.parametrize(
    ("content_type", "encoding"), [("text/plain", "gzip"), ("", "gzip"), ("application/json", "br")]
)
def test_other_media_types_are_415(
    app: ReceiverApp, doc: dict[str, Any], content_type: str, encoding: str
) -> None:
    status, _ = _post(
        app, doc["document_id"], _gz(json.dumps(doc).encode()), encoding=encoding, content_type=content_type
    )
    assert status == 415


def test_same_id_other_content_is_a_conflict_never_a_duplicate(app: ReceiverApp, doc: dict[str, Any]) -> None:
    fake = {**doc, "tool_version": "forged"}
    assert _post(app, doc["document_id"], _gz(json.dumps(fake).encode()))[0] == 201
    status, answer = _post(app, doc["document_id"], _gz(json.dumps(doc).encode()))
    assert (status, answer["status"]) == (409, "conflict")
    # The same content again, in any spelling of its JSON, is a duplicate.
    status, answer = _post(app, doc["document_id"], _gz(json.dumps(fake, indent=3).encode()))
    assert (status, answer["status"]) == (409, "duplicate")


def test_a_pre_empted_id_is_quarantined_by_the_collector_not_marked_sent(
    store: Store, doc: dict[str, Any], tmp_path: Path
) -> None:
    """The pre-emption attack: a fake under a site's next id must not make the real run say
    'the receiver already had it'."""
    from tests.support.receiver import FaultyReceiver

    with FaultyReceiver(f"sqlite:///{tmp_path / 'r.db'}") as receiver:
        fake = {**doc, "tool_version": "forged"}
        httpx.post(
            f"{receiver.url}/v1/submission/1.0/{doc['document_id']}",
            content=gzip.compress(canonical_json(fake).encode()),
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        ).raise_for_status()
        report = send_pending(store, DeliverySettings(endpoint=receiver.url))
        outcome = next(r for r in report.results if r.document_id == doc["document_id"])
        assert outcome.status == "quarantined" and "409" in outcome.reason
        assert report.exit_code == 11
    row = next(r for r in rows(store) if r.document_id == doc["document_id"])
    assert row.state == "quarantined" and row.body is not None


def test_over_the_text_budget_is_503_with_retry_after(tmp_path: Path, doc: dict[str, Any]) -> None:
    engine = open_receiver_db(f"sqlite:///{tmp_path / 'small.db'}")
    small = ReceiverApp(engine, max_text_in_flight=1000)
    environ_body = _gz(json.dumps(doc).encode())
    status, answer = _post(small, doc["document_id"], environ_body)
    assert status == 503 and answer["status"] == "unavailable"
    assert small.budget._used == 0
    engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="peak RSS is read from /proc")
def test_four_clients_sending_bombs_at_once_keep_the_receiver_under_300_mb(tmp_path: Path) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sccm_cep",
            "receiver",
            "serve",
            "--db",
            f"sqlite:///{tmp_path / 'r.db'}",
            "--listen",
            f"127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(url + "/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        bombs = [  # the worst: JSON until its size gives it away, at or just under the cap
            _bomb(b"x" * 64, MAX_JSON + (1 << 20)),
            _bomb(b"x" * 64, MAX_JSON - (2 << 20)),
            _bomb(b"[],", 60 << 20),
            _bomb(b"\0", MAX_JSON + (1 << 20)),
        ]
        statuses: list[int] = []

        def send(body: bytes) -> None:
            for _ in range(3):
                r = httpx.post(
                    url + "/v1/submission/1.0/00000000-0000-5000-8000-000000000001",
                    content=body,
                    headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
                    timeout=60,
                )
                statuses.append(r.status_code)

        clients = [threading.Thread(target=send, args=(b,)) for b in bombs]
        for c in clients:
            c.start()
        for c in clients:
            c.join()
        peak = _peak_rss_kb(server.pid)
        print(
            f"receiver peak RSS under 4 bomb clients: {peak / 1024:.0f} MB; answers {sorted(set(statuses))}"
        )
        assert all(400 <= s < 500 or s == 503 for s in statuses), statuses
        assert peak < 300 * 1024
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_health_answers_within_a_second_while_200_idle_connections_are_held(tmp_path: Path) -> None:
    from tests.support.receiver import FaultyReceiver

    with FaultyReceiver(f"sqlite:///{tmp_path / 'r.db'}") as receiver:
        host, port = receiver.server.effective_host, receiver.server.effective_port
        idle = [socket.create_connection((host, port)) for _ in range(200)]
        try:
            for s in idle[:50]:
                s.sendall(b"POST /v1/submission/1.0/x HTTP/1.1\r\nHost: x\r\n")  # never finished
            started = time.perf_counter()
            answer = httpx.get(receiver.url + "/v1/health", timeout=5)
            elapsed = time.perf_counter() - started
        finally:
            for s in idle:
                s.close()
        print(f"/v1/health with 200 idle connections: {elapsed * 1000:.0f} ms")
        assert answer.status_code == 200 and elapsed < 1.0


def test_a_long_queue_is_answered_503_at_once_not_after_a_long_wait(
    tmp_path: Path, doc: dict[str, Any]
) -> None:
    """Under overload the receiver sheds load (503 + Retry-After) instead of letting latency grow."""
    engine = open_receiver_db(f"sqlite:///{tmp_path / 'q.db'}")
    waiting = [20]
    busy = ReceiverApp(engine, queued=lambda: waiting[0], max_queued=8)
    status, answer = _post(busy, doc["document_id"], _gz(json.dumps(doc).encode()))
    assert status == 503 and answer["status"] == "unavailable"
    waiting[0] = 3
    assert _post(busy, doc["document_id"], _gz(json.dumps(doc).encode()))[0] == 201
    engine.dispose()
