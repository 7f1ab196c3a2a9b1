"""A fleet simulator for the receiver: N synthetic sites' submissions, built directly against
the contract schema (no collector run), uploaded with bounded concurrency.

    python -m bench.fleet --sites 1000 --concurrency 16 --endpoint http://127.0.0.1:8080

Sites differ in size (a few to a few hundred software titles), OS and software mix, SCCM
release and deployment kinds; some share a collector installation (contributor), some send a
second revision of their quarter (and some send it before the first: a late lower revision),
some answer the feedback question, and a few leave (a deletion request after their
submissions). Every document is checked against the contract before it is sent. Progress
shows on a terminal (rich), nothing but the result line otherwise.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import http.client
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from sccm_cep.contract.deletion import deletion_request
from sccm_cep.contract.submission import SCHEMA_VERSION, canonical_json, document_id
from sccm_cep.contract.upload import CURRENT_VERSIONS, DocumentKind, upload_path
from sccm_cep.contract.validation import check_document

OS_MIX = (
    ("Windows 11", "23H2", 30),
    ("Windows 11", "24H2", 25),
    ("Windows 10", "22H2", 30),
    ("Windows Server 2022", "21H2", 8),
    ("Windows Server 2019", "1809", 5),
    ("Windows 11", "other", 2),
)
RELEASES = (("2403", 40), ("2409", 35), ("2309", 20), ("2303", 5))
FEATURES = ("application", "program", "software_update", "baseline", "task_sequence")
PUBLISHERS = (
    "Microsoft",
    "Adobe",
    "Google",
    "Mozilla",
    "Oracle",
    "Citrix",
    "VMware",
    "Zoom",
    "7-Zip",
    "Notepad++",
)
PERIOD, NEXT_PERIOD = "2026-Q4", "2027-Q1"
DIGEST = "sha256:" + "0" * 64


def _pick(rng: random.Random, mix: tuple[tuple[Any, ...], ...]) -> tuple[Any, ...]:
    return rng.choices(mix, weights=[m[-1] for m in mix])[0]


def _name(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def submission(
    rng: random.Random, site: str, contributor: str | None, period: str, revision: int
) -> dict[str, Any]:
    """One valid submission of a synthetic site (basic level)."""
    devices = int(rng.lognormvariate(6.5, 1.2)) + 5
    titles = min(2000, int(rng.lognormvariate(4.5, 0.8)) + 3)
    os_rows: Counter[tuple[str, str]] = Counter()
    for _ in range(rng.randint(1, 5)):
        family, release, _w = _pick(rng, OS_MIX)
        os_rows[(family, release)] += rng.randint(1, devices)
    software = [
        {
            "publisher": PUBLISHERS[int(rng.paretovariate(1.2)) % len(PUBLISHERS)],
            "product": "unrecognized"
            if rng.random() < 0.05
            else f"Product {int(rng.paretovariate(0.8)) % 5000}",
            "version": f"{rng.randint(1, 30)}.{rng.randint(0, 9)}",
            "installations": rng.randint(1, devices),
        }
        for _ in range(titles)
    ]
    doc: dict[str, Any] = {
        "schema": "urn:sccm-cep:submission",
        "schema_version": SCHEMA_VERSION,
        "kind": "submission",
        "document_id": document_id(site, period, SCHEMA_VERSION, revision),
        "site": site,
        "period": period,
        "revision": revision,
        "level": "basic",
        "generated_at": "2026-12-01T00:00:00Z",
        "tool_version": "fleet-simulator",
        "policy_digest": DIGEST,
        "content_digest": DIGEST,
        "sources": {"software": "simulated"},
        "configuration_policies": {"configuration_item": []},
        "deployments": {
            "deployment": [{"feature_type": rng.choice(FEATURES)} for _ in range(rng.randint(0, 30))],
            "package": [],
        },
        "hardware": {
            f"hardware_{name}": [] for name in ("bios", "chassis", "cpu", "disk", "memory", "model")
        },
        "operating_systems": {
            "operating_system": [
                {"family": f, "release": r, "device_count": n} for (f, r), n in os_rows.items()
            ]
        },
        "site_profile": {
            "client_totals": [],
            "client_version": [],
            "directory_coverage": [],
            "site": [{"release": _pick(rng, RELEASES)[0]}],
            "site_role": [],
        },
        "software": {"software": software},
    }
    if contributor:
        doc["contributor"] = contributor
    if rng.random() < 0.3:
        doc["feedback"] = {"score": rng.randint(0, 10), "comment": None}
    return doc


@dataclass(frozen=True)
class Upload:
    """One document to send: its kind and canonical JSON."""

    kind: DocumentKind
    document_id: str
    text: bytes


def fleet(sites: int, seed: int = 1, *, validate: bool = True) -> Iterator[Upload]:
    """The documents of ``sites`` synthetic sites, in the order a fleet might send them, each
    checked against the contract (``validate=False``: not checked, for filling a benchmark
    database directly; the same generator, so the same documents)."""
    rng = random.Random(seed)
    contributors = [_name(rng) for _ in range(max(1, sites // 3))]
    for _ in range(sites):
        site = _name(rng)
        contributor = rng.choice(contributors) if rng.random() < 0.9 else None
        docs = [submission(rng, site, contributor, PERIOD, 0)]
        if rng.random() < 0.1:  # a forced re-take of the quarter, sometimes arriving first
            docs.append(submission(rng, site, contributor, PERIOD, 1))
            if rng.random() < 0.3:
                docs.reverse()
        if rng.random() < 0.2:
            docs.append(submission(rng, site, contributor, NEXT_PERIOD, 0))
        if rng.random() < 0.02:
            docs.append(deletion_request(site, date(2027, 1, 15), contributor=contributor))
        for doc in docs:
            violation = check_document(doc) if validate else None
            if violation is not None:
                raise AssertionError(f"the simulator built an invalid document: {violation}")
            text = canonical_json(doc).encode()
            yield Upload(DocumentKind(doc["kind"]), doc["document_id"], text)


@dataclass
class Tally:
    """What the receiver answered, by status."""

    answers: Counter[int] = field(default_factory=Counter)
    retries: int = 0
    #: Seconds of every HTTP request (503 answers included), and how many were 503.
    latencies: list[float] = field(default_factory=list)
    busy: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, status: int, retries: int) -> None:
        with self.lock:
            self.answers[status] += 1
            self.retries += retries

    def timed(self, seconds: float, status: int | None) -> None:
        with self.lock:
            self.latencies.append(seconds)
            self.busy += status == 503

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


class Sender:
    """One keep-alive HTTP connection per thread, each thread to one of the endpoints (several
    receiver processes: round robin by thread); 503 answers are retried after Retry-After."""

    def __init__(self, endpoints: list[str]) -> None:
        self.addresses = [(p.hostname or "127.0.0.1", p.port or 80) for p in map(urlsplit, endpoints)]
        self.local = threading.local()
        self.threads = 0
        self.lock = threading.Lock()

    def _conn(self) -> http.client.HTTPConnection:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            if not hasattr(self.local, "address"):
                with self.lock:
                    self.local.address = self.addresses[self.threads % len(self.addresses)]
                    self.threads += 1
            host, port = self.local.address
            conn = http.client.HTTPConnection(host, port, timeout=60)
            self.local.conn = conn
        return conn

    def send(self, upload: Upload, tally: Tally) -> int:
        body = gzip.compress(upload.text, compresslevel=1)
        path = upload_path(upload.kind, CURRENT_VERSIONS[upload.kind], upload.document_id)
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        for attempt in range(50):
            asked = time.perf_counter()
            try:
                conn = self._conn()
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                tally.timed(time.perf_counter() - asked, None)
                self.local.conn = None
                time.sleep(0.2)
                continue
            tally.timed(time.perf_counter() - asked, response.status)
            if response.status == 503:
                time.sleep(min(float(response.getheader("Retry-After") or 1), 2.0) * random.random())
                continue
            tally.add(response.status, attempt)
            return response.status
        raise RuntimeError(f"gave up on {upload.document_id} after 50 attempts")


def upload_all(
    uploads: list[Upload], endpoints: str | list[str], concurrency: int, *, progress: bool = False
) -> Tally:
    """Send every upload with at most ``concurrency`` in flight; what came back."""
    tally = Tally()
    sender = Sender([endpoints] if isinstance(endpoints, str) else endpoints)
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = [pool.submit(sender.send, u, tally) for u in uploads]
        if progress:
            from rich.progress import Progress

            with Progress(transient=True) as bar:
                task = bar.add_task("uploading", total=len(futures))
                for f in futures:
                    f.result()
                    bar.advance(task)
        for f in futures:
            f.result()
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fleet", description=__doc__.split("\n")[0])
    parser.add_argument("--sites", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--endpoint",
        required=True,
        action="append",
        help="a receiver, e.g. http://127.0.0.1:8080 (repeat for several receiver processes)",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    uploads = list(fleet(args.sites, args.seed))
    size = sum(len(u.text) for u in uploads)
    started = time.perf_counter()
    tally = upload_all(uploads, args.endpoint, args.concurrency, progress=sys.stderr.isatty())
    took = time.perf_counter() - started
    digest = hashlib.sha256(b"".join(u.document_id.encode() for u in uploads)).hexdigest()[:12]
    print(
        f"{len(uploads)} documents ({size / 1e6:.1f} MB JSON) from {args.sites} sites in {took:.2f} s:"
        f" {len(uploads) / took:.1f} docs/s; answers {dict(sorted(tally.answers.items()))},"
        f" retries {tally.retries}; fleet {digest}"
    )
    print(
        f"requests {len(tally.latencies)} ({tally.busy} answered 503): latency p50"
        f" {tally.percentile(0.5) * 1000:.0f} ms, p99 {tally.percentile(0.99) * 1000:.0f} ms"
    )
    return 0 if set(tally.answers) <= {201, 409} else 1


if __name__ == "__main__":
    sys.exit(main())
