"""Offline bundles for air-gapped sites (the Service Connection Tool's prepare / upload /
import): a zip of the pending documents, a CSV for review and a manifest signed with Ed25519.
"""

from __future__ import annotations

import base64
import csv
import gzip
import hashlib
import io
import json
import re
import zipfile
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select, update

from sccm_cep.collector.sites import find_site
from sccm_cep.collector.store import Outbox, OutboxState, Store
from sccm_cep.delivery.bundle_verify import (
    FORMAT,
    MANIFEST,
    MAX_BUNDLE_BYTES,
    MAX_MANIFEST_BYTES,
    REVIEW,
    SIGNATURE,
    BundleInfo,
    bundle_entry,
    fingerprint,
    read_bundle,
)
from sccm_cep.delivery.outbox import RETRY_STATES, body_damage, document_of, signature_damage
from sccm_cep.delivery.upload import (
    BundleError,
    DeliverySettings,
    Document,
    Outcome,
    Uploader,
    UploadStatus,
)
from sccm_cep.errors import ConfigError, OutputError
from sccm_cep.platform import make_private_folder, write_private_file
from sccm_cep.platform.bounded import Unbounded, loads_bounded, read_regular
from sccm_cep.platform.config import data_dir
from sccm_cep.platform.files import atomic_output, write_text_atomically

__all__ = [
    "BundleInfo",
    "ImportReport",
    "import_receipts",
    "prepare_bundle",
    "read_bundle",
    "signing_key",
    "upload_bundle",
]

RECEIPTS_FORMAT = "sccm-cep-receipts"
KEY_FILE = "bundle-signing.key"


def signing_key() -> Ed25519PrivateKey:
    """This install's bundle key, made on first use in the data folder, private to this account
    (0600 on POSIX, a protected ACL on Windows)."""
    path = data_dir() / KEY_FILE
    if not path.exists():
        make_private_folder(path.parent)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        with suppress(FileExistsError):  # another process made it first; use theirs
            write_private_file(path, pem, exclusive=True)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{path} is not an Ed25519 key", hint="remove it; a new one is made")
    return key


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def prepare_bundle(store: Store, site: str, out: Path, *, now: datetime) -> BundleInfo:
    """Write the site's pending documents to a signed bundle at ``out`` (atomically)."""
    with store.session() as session:
        site_row = find_site(session, site)
        rows = list(
            session.execute(
                select(Outbox)
                .where(Outbox.site_id == site_row.id, Outbox.state.in_(RETRY_STATES))
                .order_by(Outbox.id)
            ).scalars()
        )
    if not rows:
        raise ConfigError(f"site {site_row.code} has nothing pending", hint="see 'sccm-cep outbox list'")
    key = signing_key()
    raw_pub = _raw_public(key.public_key())
    files: dict[str, bytes] = {}
    entries: list[dict[str, Any]] = []
    review = io.StringIO()
    writer = csv.writer(review, lineterminator="\n")
    writer.writerow(["document_id", "kind", "period", "section", "record", "row"])
    for row in rows:
        doc = document_of(row)
        damage = body_damage(doc.body, row.sha256, row.size) or signature_damage(row)
        if damage is not None:
            raise ConfigError(f"document {doc.document_id}: {damage}", hint="re-export the period")
        name = f"documents/{doc.document_id}.json.gz"
        files[name] = doc.body
        entries.append(
            {
                "file": name,
                "document_id": doc.document_id,
                "kind": doc.kind,
                "schema_version": doc.schema_version,
                "period": row.period,
                "sha256": hashlib.sha256(doc.body).hexdigest(),
                "size": len(doc.body),
                "json_sha256": row.sha256,
                "json_size": row.size,
                # The site's own signature of the document, uploaded with it as headers.
                **({"signature": doc.signature.as_json()} if doc.signature is not None else {}),
            }
        )
        _review_rows(writer, doc, row.period)
    files[REVIEW] = review.getvalue().encode("utf-8")
    total = sum(len(data) for data in files.values())
    if total > MAX_BUNDLE_BYTES - MAX_MANIFEST_BYTES:
        raise ConfigError(
            f"site {site_row.code}'s pending documents make {total:,} bytes, more than a bundle holds",
            hint="send or bundle them in smaller groups (e.g. upload the oldest first)",
        )
    manifest = {
        "format": FORMAT,
        "version": 1,
        "created_at": now.isoformat(timespec="seconds") + "Z",
        "public_key": base64.b64encode(raw_pub).decode(),
        "key_fingerprint": fingerprint(raw_pub),
        "documents": entries,
        "files": {
            name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            for name, data in files.items()
        },
    }
    manifest_bytes = json.dumps(manifest, sort_keys=True, indent=1).encode()
    files[MANIFEST] = manifest_bytes
    files[SIGNATURE] = key.sign(manifest_bytes)  # raw 64 bytes: no byte of it is optional
    _write_zip(out, files)
    return read_bundle(out)


def _review_rows(writer: Any, doc: Document, period: str) -> None:
    """One CSV line per record row, so a reviewer sees exactly what leaves the site."""
    content = json.loads(gzip.decompress(doc.body))
    if doc.kind != "submission":
        writer.writerow([doc.document_id, doc.kind, period, "", "", json.dumps(content, sort_keys=True)])
        return
    for section, value in sorted(content.items()):
        if isinstance(value, dict) and all(isinstance(v, list) for v in value.values()) and value:
            for record, items in sorted(value.items()):
                for item in items:
                    writer.writerow(
                        [doc.document_id, doc.kind, period, section, record, json.dumps(item, sort_keys=True)]
                    )
        else:
            writer.writerow(
                [doc.document_id, doc.kind, period, section, "", json.dumps(value, sort_keys=True)]
            )


def _write_zip(out: Path, files: dict[str, bytes]) -> None:
    try:
        with atomic_output(out) as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED) as zf:
            for name, data in files.items():
                zf.writestr(bundle_entry(name), data)
    except OSError as exc:
        raise OutputError(
            f"cannot write the bundle to {out}: {exc.strerror or exc.__class__.__name__}",
            hint="check the folder exists, is writable and has free space",
        ) from exc


@dataclass(frozen=True, slots=True)
class Receipt:
    document_id: str
    status: UploadStatus
    time: str
    code: int | None
    reason: str


def upload_bundle(
    path: Path, settings: DeliverySettings, receipts: Path, *, expect_fingerprint: str | None = None
) -> tuple[BundleInfo, list[Receipt]]:
    """Upload every document of a verified bundle; write the receipts file (needs no store)."""
    info = read_bundle(path, expect_fingerprint=expect_fingerprint)
    out: list[Receipt] = []
    with Uploader(settings) as uploader:
        for doc in info.documents:
            body = doc.body
            outcome: Outcome = uploader.deliver(doc, text=lambda body=body: gzip.decompress(body))  # type: ignore[misc]
            out.append(
                Receipt(
                    doc.document_id,
                    outcome.status,
                    settings.clock().isoformat(timespec="seconds") + "Z",
                    outcome.code,
                    outcome.reason,
                )
            )
    data = {
        "format": RECEIPTS_FORMAT,
        "version": 1,
        "bundle_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "key_fingerprint": info.fingerprint,
        "receipts": [
            {
                "document_id": r.document_id,
                "status": r.status.value,
                "time": r.time,
                "code": r.code,
                "reason": r.reason,
            }
            for r in out
        ],
    }
    write_text_atomically(receipts, json.dumps(data, indent=1, sort_keys=True) + "\n", what="the receipts")
    return info, out


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What importing receipts changed: ``marked`` became sent; the rest were left alone."""

    marked: tuple[str, ...]
    already_sent: tuple[str, ...]
    not_accepted: tuple[str, ...]
    unknown: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {k: list(getattr(self, k)) for k in self.__slots__}


def import_receipts(store: Store, path: Path, *, now: datetime) -> ImportReport:
    """Mark sent the documents the receipts say were accepted (only ids this store holds). The
    whole file is checked before anything changes: one bad receipt refuses the file."""
    receipts = _read_receipts(path)
    marked: list[str] = []
    already: list[str] = []
    refused: list[str] = []
    unknown: list[str] = []
    with store.session() as session:
        for r in receipts:
            doc_id = r["document_id"]
            row = session.execute(select(Outbox).where(Outbox.document_id == doc_id)).scalar_one_or_none()
            if row is None:
                unknown.append(doc_id)
            elif r.get("status") != UploadStatus.SENT:
                refused.append(doc_id)
            elif row.state == OutboxState.SENT:
                already.append(doc_id)
            else:
                changed = session.execute(
                    update(Outbox)
                    .where(Outbox.id == row.id, Outbox.state.in_(RETRY_STATES))
                    .values(
                        state=OutboxState.SENT,
                        sent_at=now,
                        next_attempt_at=None,
                        last_status=f"sent via bundle (HTTP {r.get('code')})",
                    )
                ).rowcount  # type: ignore[attr-defined]
                (marked if changed else refused).append(doc_id)
        store.audit(session, "bundle.import", marked=len(marked), unknown=len(unknown))
        session.commit()
    return ImportReport(tuple(marked), tuple(already), tuple(refused), tuple(unknown))


#: A receipts file is at most this large (a bundle of 10,000 documents gives about 3 MB).
MAX_RECEIPTS_BYTES = 16 * 1024 * 1024
_RECEIPTS_DEPTH = 8
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_RECEIPT_HINT = "give the file 'bundle upload' wrote"


def _read_receipts(path: Path) -> list[dict[str, Any]]:
    """The receipts of a receipts file read as untrusted input: a regular file within
    ``MAX_RECEIPTS_BYTES``, bounded JSON, and every receipt of the shape ``upload_bundle`` writes."""
    try:
        data = loads_bounded(
            read_regular(path, max_bytes=MAX_RECEIPTS_BYTES),
            max_bytes=MAX_RECEIPTS_BYTES,
            max_depth=_RECEIPTS_DEPTH,
        )
    except Unbounded as exc:
        raise BundleError(f"{path} is not a readable receipts file: {exc.what}", hint=_RECEIPT_HINT) from exc
    except (OSError, ValueError) as exc:
        raise BundleError(f"{path} is not a readable receipts file", hint=_RECEIPT_HINT) from exc
    receipts = data.get("receipts") if isinstance(data, dict) else None
    if not isinstance(data, dict) or data.get("format") != RECEIPTS_FORMAT or not isinstance(receipts, list):
        raise BundleError(f"{path} is not an sccm-cep receipts file", hint=_RECEIPT_HINT)
    for i, r in enumerate(receipts):
        problem = _receipt_problem(r)
        if problem:
            raise BundleError(f"{path}: receipt {i + 1} {problem}", hint=_RECEIPT_HINT)
    return receipts


def _receipt_problem(r: Any) -> str | None:
    """What is wrong with one receipt, in words that quote none of its values."""
    if not isinstance(r, dict):
        return "is not an object"
    doc_id, status, code = r.get("document_id"), r.get("status"), r.get("code")
    if not isinstance(doc_id, str) or not _UUID.fullmatch(doc_id):
        return "has no document id (a lowercase UUID)"
    if not isinstance(status, str) or status not in {s.value for s in UploadStatus}:
        return "has an unknown status"
    if code is not None and (type(code) is not int or not 100 <= code <= 599):
        return "has an HTTP code that is not a number from 100 to 599"
    return None
