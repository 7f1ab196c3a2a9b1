"""Reading an offline bundle without trusting it: every limit from the zip's central directory
before a member is read, the manifest's signature and shape, each file's size and sha256 as it
streams, and the archive's own bytes (exactly what ``prepare`` writes, so any changed byte is
refused). Each document entry may carry the site's own signature of its document
(``contract.signing``), which the upload sends as headers."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from sccm_cep.contract.signing import DocumentSignature, SignatureFormatError
from sccm_cep.delivery.upload import DEFAULT_MAX_BYTES, BundleError, Document

__all__ = ["FORMAT", "MAX_BUNDLE_BYTES", "BundleInfo", "bundle_entry", "fingerprint", "read_bundle"]

FORMAT = "sccm-cep-bundle"
MANIFEST, SIGNATURE, REVIEW = "manifest.json", "manifest.sig", "review.csv"


def fingerprint(raw_public: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw_public).hexdigest()


@dataclass(frozen=True, slots=True)
class BundleInfo:
    """A verified bundle: its manifest and the documents it carries."""

    path: Path
    manifest: dict[str, Any]
    documents: tuple[Document, ...]

    @property
    def fingerprint(self) -> str:
        return str(self.manifest["key_fingerprint"])


#: Limits read from the zip's central directory before any member is read: a bundle holds at
#: most this many bytes in all, each document at most the upload limit, the manifest and the
#: review CSV at most these sizes, and nothing compressed (bundles are written stored).
MAX_BUNDLE_BYTES = 256 * 1024 * 1024
MAX_MANIFEST_BYTES = 8 * 1024 * 1024
MAX_MEMBERS = 10_000
_REFUSE = "the bundle was changed or damaged after it was prepared"
_HINT = "prepare a new bundle on the site and carry it again"


def read_bundle(path: Path, *, expect_fingerprint: str | None = None) -> BundleInfo:
    """Open and verify a bundle: sizes and names from the central directory first (nothing is
    read past the caps), the signature over the manifest, then every file's size and sha256 as
    it is read, no file added or missing, and finally the archive's own bytes: it must be
    exactly the zip ``prepare`` writes for those files, so any changed byte is refused."""
    try:
        size = path.stat().st_size
        if size > MAX_BUNDLE_BYTES:
            raise BundleError(
                f"{path} is {size:,} bytes, over the {MAX_BUNDLE_BYTES:,}-byte bundle limit",
                hint="prepare smaller bundles (send some documents first)",
            )
        with zipfile.ZipFile(path) as zf:
            infos = _checked_directory(zf)
            manifest, manifest_bytes, signature = _verified_manifest(zf, infos)
            if expect_fingerprint and manifest["key_fingerprint"] != expect_fingerprint:
                raise BundleError(
                    "the bundle was signed by another install's key",
                    hint=f"its key is {manifest['key_fingerprint']}; check which site prepared it",
                )
            contents = _verified_members(zf, infos, manifest)
        contents[MANIFEST], contents[SIGNATURE] = manifest_bytes, signature
        same = _same_bytes(path, _zip_bytes(contents, [i.filename for i in infos]))
    except BundleError:
        raise
    except (
        OSError,
        EOFError,
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        KeyError,
        ValueError,
        RuntimeError,
        NotImplementedError,
        struct.error,
        zlib.error,
    ) as exc:
        raise BundleError(
            f"{path} is not a readable sccm-cep bundle ({exc.__class__.__name__})", hint=_HINT
        ) from exc
    if not same:
        raise BundleError(f"{_REFUSE}: the archive's bytes are not the ones prepared", hint=_HINT)
    docs = tuple(
        Document(e["kind"], e["schema_version"], e["document_id"], contents[e["file"]], _signature(e))
        for e in manifest["documents"]
    )
    return BundleInfo(path, manifest, docs)


def _checked_directory(zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The members, refused on anything the central directory alone shows to be wrong."""
    infos = zf.infolist()
    names = [i.filename for i in infos]
    if len(infos) > MAX_MEMBERS:
        raise BundleError(f"{_REFUSE}: {len(infos):,} files", hint=_HINT)
    if len(names) != len(set(names)):
        raise BundleError(f"{_REFUSE}: a file appears twice", hint=_HINT)
    total = 0
    for info in infos:
        limit = MAX_MANIFEST_BYTES if info.filename in (MANIFEST, SIGNATURE) else MAX_BUNDLE_BYTES
        if info.filename.startswith("documents/"):
            limit = DEFAULT_MAX_BYTES
        if info.flag_bits & 0x1:
            raise BundleError(f"{_REFUSE}: {info.filename} is encrypted", hint=_HINT)
        if info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size:
            raise BundleError(f"{_REFUSE}: {info.filename} is compressed in the archive", hint=_HINT)
        if info.file_size > limit:
            raise BundleError(f"{_REFUSE}: {info.filename} is {info.file_size:,} bytes", hint=_HINT)
        total += info.file_size
    if total > MAX_BUNDLE_BYTES:
        raise BundleError(f"{_REFUSE}: its files add up to {total:,} bytes", hint=_HINT)
    if MANIFEST not in names or SIGNATURE not in names:
        raise BundleError(f"{_REFUSE}: the manifest or its signature is missing", hint=_HINT)
    return infos


def _verified_manifest(
    zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]
) -> tuple[dict[str, Any], bytes, bytes]:
    """The manifest, its bytes and its signature, once the signature and shape are checked."""
    manifest_bytes, signature = zf.read(MANIFEST), zf.read(SIGNATURE)
    try:
        manifest = json.loads(manifest_bytes)
        raw_pub = base64.b64decode(manifest["public_key"], validate=True)
        Ed25519PublicKey.from_public_bytes(raw_pub).verify(signature, manifest_bytes)
    except InvalidSignature as exc:
        raise BundleError(f"{_REFUSE}: the manifest signature does not match", hint=_HINT) from exc
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise BundleError(f"{_REFUSE}: the manifest cannot be read", hint=_HINT) from exc
    if not _manifest_shape_ok(manifest) or manifest["key_fingerprint"] != fingerprint(raw_pub):
        raise BundleError(f"{_REFUSE}: not an sccm-cep bundle manifest", hint=_HINT)
    listed = set(manifest["files"])
    present = {i.filename for i in infos} - {MANIFEST, SIGNATURE}
    extra, missing = sorted(present - listed), sorted(listed - present)
    if extra or missing:
        what = ", ".join([*(f"added {n}" for n in extra), *(f"missing {n}" for n in missing)])
        raise BundleError(f"{_REFUSE}: {what}", hint=_HINT)
    return manifest, manifest_bytes, signature


def _manifest_shape_ok(manifest: Any) -> bool:
    """A signed manifest can still be made by anyone's key: check every value it holds."""
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        return False
    files, documents = manifest.get("files"), manifest.get("documents")
    if not isinstance(files, dict) or not isinstance(documents, list):
        return False
    if not isinstance(manifest.get("key_fingerprint"), str):
        return False
    for name, meta in files.items():
        if name in (MANIFEST, SIGNATURE) or not isinstance(meta, dict):
            return False
        if not isinstance(meta.get("size"), int) or isinstance(meta.get("size"), bool):
            return False
        if not isinstance(meta.get("sha256"), str):
            return False
    fields = ("file", "kind", "schema_version", "document_id")
    for entry in documents:
        if not isinstance(entry, dict) or not all(isinstance(entry.get(f), str) for f in fields):
            return False
        if entry["file"] not in files or not entry["file"].startswith("documents/"):
            return False
        try:
            _signature(entry)
        except SignatureFormatError:
            return False
    return True


def _signature(entry: dict[str, Any]) -> DocumentSignature | None:
    """A document entry's own signature (``signature``: the site's key, not the bundle's), or
    None for a document queued before signatures."""
    value = entry.get("signature")
    return None if value is None else DocumentSignature.from_json(value)


def _verified_members(
    zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], manifest: dict[str, Any]
) -> dict[str, bytes]:
    """Every listed file, read in chunks and checked against its size and sha256 as it comes."""
    contents: dict[str, bytes] = {}
    for info in infos:
        if info.filename in (MANIFEST, SIGNATURE):
            continue
        meta = manifest["files"][info.filename]
        if info.file_size != meta["size"]:
            raise BundleError(
                f"{_REFUSE}: {info.filename} does not match its size in the manifest", hint=_HINT
            )
        digest, chunks = hashlib.sha256(), []
        with zf.open(info) as member:
            while chunk := member.read(1 << 20):
                digest.update(chunk)
                chunks.append(chunk)
        if digest.hexdigest() != meta["sha256"]:
            raise BundleError(
                f"{_REFUSE}: {info.filename} does not match its sha256 in the manifest", hint=_HINT
            )
        contents[info.filename] = b"".join(chunks)
    return contents


def _zip_bytes(files: dict[str, bytes], order: list[str]) -> bytes:
    """The archive ``prepare`` writes for ``files`` in ``order`` (stored, fixed dates)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        for name in order:
            zf.writestr(bundle_entry(name), files[name])
    return out.getvalue()


def _same_bytes(path: Path, expected: bytes) -> bool:
    """Whether the file at ``path`` holds exactly ``expected`` (compared in chunks)."""
    view = memoryview(expected)
    offset = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            if view[offset : offset + len(chunk)] != chunk:
                return False
            offset += len(chunk)
    return offset == len(expected)


def bundle_entry(name: str) -> zipfile.ZipInfo:
    return zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
