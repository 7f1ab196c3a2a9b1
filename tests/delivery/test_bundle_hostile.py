"""A bundle is read as hostile input: limits from the central directory before any member is
read, attacker-signed manifests of any shape, and any changed byte of the archive refused."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import resource
import zipfile
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sccm_cep.collector.store import Store, utcnow
from sccm_cep.delivery import BundleError, prepare_bundle, read_bundle
from sccm_cep.delivery.bundle_verify import MAX_BUNDLE_BYTES, bundle_entry, fingerprint


def _signed(files: dict[str, bytes], manifest: Any, out: Path, *, compress: int = zipfile.ZIP_STORED) -> Path:
    """A bundle signed by a key of the attacker's own, holding ``manifest`` as given."""
    key = Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    if isinstance(manifest, dict):
        manifest = {
            "public_key": base64.b64encode(raw).decode(),
            "key_fingerprint": fingerprint(raw),
            **manifest,
        }
    body = json.dumps(manifest).encode()
    with zipfile.ZipFile(out, "w", compress) as zf:
        for name, data in {**files, "manifest.json": body, "manifest.sig": key.sign(body)}.items():
            info = bundle_entry(name)
            info.compress_type = compress
            zf.writestr(info, data)
    return out


def _listing(files: dict[str, bytes]) -> dict[str, Any]:
    return {n: {"sha256": hashlib.sha256(d).hexdigest(), "size": len(d)} for n, d in files.items()}


def test_every_single_bit_flip_is_refused_with_a_bundle_error(tmp_path: Path, store: Store) -> None:
    good = tmp_path / "good.zip"
    prepare_bundle(store, "PS1", good, now=utcnow())
    data = good.read_bytes()
    rng = random.Random(16)
    # Every byte of the zip structure (local headers, central directory, end record) and a
    # sample of the members' bytes, each with one bit flipped.
    with zipfile.ZipFile(good) as zf:
        payload = [
            range(
                i.header_offset + 30 + len(i.filename), i.header_offset + 30 + len(i.filename) + i.file_size
            )
            for i in zf.infolist()
        ]
    inside = {o for r in payload for o in r}
    structure = [o for o in range(len(data)) if o not in inside]
    offsets = structure + rng.sample(sorted(inside), min(400, len(inside)))
    accepted, crashed = [], []
    for offset in offsets:
        bad = bytearray(data)
        bad[offset] ^= 1 << rng.randrange(8)
        path = tmp_path / "bad.zip"
        path.write_bytes(bytes(bad))
        try:
            read_bundle(path)
        except BundleError:
            continue
        except Exception as exc:
            crashed.append((offset, type(exc).__name__))
        else:
            accepted.append(offset)
    print(f"bit flips tried: {len(offsets)} ({len(structure)} structural); accepted {len(accepted)}")
    assert accepted == [] and crashed == []


def test_a_compressed_member_is_refused_before_it_is_read(tmp_path: Path) -> None:
    bomb = b"\0" * (64 * 1024 * 1024)
    files = {"review.csv": bomb}
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    path = _signed(
        files,
        {"format": "sccm-cep-bundle", "files": _listing(files), "documents": []},
        tmp_path / "b.zip",
        compress=zipfile.ZIP_DEFLATED,
    )
    del bomb, files
    assert path.stat().st_size < 1024 * 1024
    with pytest.raises(BundleError, match="compressed"):
        read_bundle(path)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 * 1024  # KB: no blow-up


def test_a_bundle_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.zip"
    with path.open("wb") as f:
        f.truncate(MAX_BUNDLE_BYTES + 1)
    with pytest.raises(BundleError, match="bundle limit"):
        read_bundle(path)


@pytest.mark.parametrize(
    "manifest",
    [
        [],
        "a string",
        {"format": "sccm-cep-bundle"},
        {"format": "sccm-cep-bundle", "files": [], "documents": []},
        {"format": "sccm-cep-bundle", "files": {"x": 1}, "documents": []},
        {"format": "sccm-cep-bundle", "files": {"x": {"size": "1", "sha256": "0"}}, "documents": []},
        {"format": "sccm-cep-bundle", "files": {}, "documents": [{"file": 1}]},
        {
            "format": "sccm-cep-bundle",
            "files": {},
            "documents": [
                {"file": "documents/a", "kind": "submission", "schema_version": "1", "document_id": "a"}
            ],
        },
        {"format": "sccm-cep-bundle", "files": {}, "documents": "x"},
        {"format": "sccm-cep-bundle", "files": {}, "documents": [], "key_fingerprint": 5},
    ],
)
def test_a_malformed_manifest_signed_by_any_key_is_a_bundle_error(tmp_path: Path, manifest: Any) -> None:
    with pytest.raises(BundleError):
        read_bundle(_signed({}, manifest, tmp_path / "m.zip"))


def test_a_deeply_nested_manifest_is_a_bundle_error(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    body = b"[" * 100_000 + b"]" * 100_000
    path = tmp_path / "deep.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(bundle_entry("manifest.json"), body)
        zf.writestr(bundle_entry("manifest.sig"), key.sign(body))
    with pytest.raises(BundleError):
        read_bundle(path)


def test_an_intact_bundle_still_reads(tmp_path: Path, store: Store) -> None:
    info = prepare_bundle(store, "PS1", tmp_path / "ok.zip", now=utcnow())
    assert len(read_bundle(tmp_path / "ok.zip").documents) == len(info.documents) == 2


def test_a_refused_document_in_an_uploaded_bundle_is_an_error_line(
    tmp_path: Path, store: Store, receiver: Any
) -> None:
    from click.testing import CliRunner

    from sccm_cep.cli import cli
    from sccm_cep.collector.store import Outbox
    from sccm_cep.contract.submission import canonical_json
    from tests.delivery.conftest import document, rows

    first = rows(store)[0]
    bad = {**document(first), "hostname": "x", "document_id": "00000000-0000-5000-8000-000000000001"}
    with store.session() as session:
        session.add(
            Outbox.pending(
                first.site_id, "submission", "2027-Q2", 0, bad["document_id"], canonical_json(bad).encode()
            )
        )
        session.commit()
    path = tmp_path / "b.zip"
    prepare_bundle(store, "PS1", path, now=utcnow())
    result = CliRunner().invoke(cli, ["bundle", "upload", str(path), "--endpoint", receiver.url])
    assert result.exit_code == 11, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and bad["document_id"] in errors[0] and "refused" in errors[0]


def test_a_damaged_outbox_body_is_refused_by_prepare_in_one_line(tmp_path: Path, store: Store) -> None:
    from sqlalchemy import update

    from sccm_cep.collector.store import Outbox
    from sccm_cep.errors import ConfigError
    from tests.delivery.conftest import rows

    first = rows(store)[0]
    with store.session() as session:
        session.execute(update(Outbox).where(Outbox.id == first.id).values(body=b"not gzip"))
        session.commit()
    with pytest.raises(ConfigError, match="not a readable gzip"):
        prepare_bundle(store, "PS1", tmp_path / "b.zip", now=utcnow())
    assert not (tmp_path / "b.zip").exists()


def test_a_signed_bundle_whose_document_is_not_gzip_is_refused_without_a_crash(
    tmp_path: Path, receiver: Any
) -> None:
    from sccm_cep.delivery import DeliverySettings, upload_bundle

    doc_id = "00000000-0000-5000-8000-000000000002"
    name = f"documents/{doc_id}.json.gz"
    files = {name: b"this is not gzip", "review.csv": b"document_id\n"}
    manifest = {
        "format": "sccm-cep-bundle",
        "files": _listing(files),
        "documents": [{"file": name, "kind": "submission", "schema_version": "1.0", "document_id": doc_id}],
    }
    path = _signed(files, manifest, tmp_path / "b.zip")
    _info, receipts = upload_bundle(path, DeliverySettings(endpoint=receiver.url), tmp_path / "r.json")
    assert [r.status for r in receipts] == ["quarantined"] and receipts[0].code == 400
