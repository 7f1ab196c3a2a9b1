"""Signed documents, as both sides see them: a site signs every document it sends with its
Ed25519 key, and announces a new key with a statement signed by the old one (a key change).

What is signed is never the raw upload: it is a short message naming the document's kind, its
id and the sha256 of its canonical JSON (``canonical_json``), so the collector signs a document
it streams from disk without holding it, and the receiver checks the canonical re-encoding it
stores. The proof travels beside the document, never inside it (the document's bytes, id and
digest stay what they were): HTTP headers on upload, a manifest field in an offline bundle, a
column in the collector's outbox. Keys and signatures are standard base64 of the raw bytes
(RFC 8032: a 32-byte public key, a 64-byte signature).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sccm_cep.contract.submission import canonical_json

__all__ = [
    "KEY_CHANGES_HEADER",
    "KEY_HEADER",
    "MAX_KEY_CHANGES",
    "SIGNATURE_HEADER",
    "DocumentSignature",
    "KeyChange",
    "SignatureFormatError",
    "document_message",
    "keys_linked",
    "public_key_text",
]

KEY_HEADER = "Sccm-Cep-Key"
SIGNATURE_HEADER = "Sccm-Cep-Signature"
#: Base64 of the canonical JSON list of key changes (deletion requests only).
KEY_CHANGES_HEADER = "Sccm-Cep-Key-Changes"
#: At most this many key changes in one proof (one per ``site rotate-key``).
MAX_KEY_CHANGES = 64
_MAX_CHANGES_TEXT = MAX_KEY_CHANGES * 512
_DOCUMENT_LABEL = "sccm-cep signed document 1"
_KEY_CHANGE_LABEL = "sccm-cep key change 1"


class SignatureFormatError(ValueError):
    """A proof that is not well formed (bad base64, wrong length, bad JSON); the message quotes
    no value."""


def public_key_text(key: Ed25519PrivateKey) -> str:
    """The public half of ``key`` as it is sent: base64 of its 32 raw bytes."""
    return base64.b64encode(key.public_key().public_bytes_raw()).decode("ascii")


def _decode(text: str, size: int, what: str) -> bytes:
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise SignatureFormatError(f"the {what} is not base64") from exc
    if len(raw) != size:
        raise SignatureFormatError(f"the {what} is not {size} bytes")
    return raw


def _verifies(key: str, signature: str, message: bytes) -> bool:
    try:
        public = Ed25519PublicKey.from_public_bytes(_decode(key, 32, "key"))
        public.verify(_decode(signature, 64, "signature"), message)
    except (SignatureFormatError, InvalidSignature, ValueError):
        return False
    return True


def _sign(key: Ed25519PrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message)).decode("ascii")


def document_message(kind: str, document_id: str, sha256: str) -> bytes:
    """The bytes a document signature covers: a label (so no other signed statement can pass
    for a document), the kind, the id and the sha256 (hex) of the canonical JSON."""
    return f"{_DOCUMENT_LABEL}\n{kind}\n{document_id}\n{sha256.lower()}".encode("ascii")


@dataclass(frozen=True, slots=True)
class KeyChange:
    """``key`` (of site pseudonym ``site``) hands over to ``next_key`` (of ``next_site``), signed
    by ``key``: made at ``site rotate-key``, sent only with the site's deletion request."""

    site: str
    key: str
    next_site: str
    next_key: str
    signature: str

    @classmethod
    def make(cls, old: Ed25519PrivateKey, site: str, new: Ed25519PrivateKey, next_site: str) -> KeyChange:
        body = {
            "site": site,
            "key": public_key_text(old),
            "next_site": next_site,
            "next_key": public_key_text(new),
        }
        return cls(**body, signature=_sign(old, _change_message(body)))

    def valid(self) -> bool:
        """Whether the old key signed this statement."""
        return _verifies(self.key, self.signature, _change_message(self._body()))

    def _body(self) -> dict[str, str]:
        return {"site": self.site, "key": self.key, "next_site": self.next_site, "next_key": self.next_key}

    def as_json(self) -> dict[str, str]:
        return {**self._body(), "signature": self.signature}

    @classmethod
    def from_json(cls, value: Any) -> KeyChange:
        fields = ("site", "key", "next_site", "next_key", "signature")
        if not isinstance(value, Mapping) or set(value) != set(fields):
            raise SignatureFormatError("a key change must have exactly: " + ", ".join(fields))
        if not all(isinstance(value[f], str) and len(value[f]) <= 128 for f in fields):
            raise SignatureFormatError("a key change's fields must be short strings")
        return cls(**{f: value[f] for f in fields})


def _change_message(body: Mapping[str, str]) -> bytes:
    return f"{_KEY_CHANGE_LABEL}\n{canonical_json(dict(body))}".encode()


@dataclass(frozen=True, slots=True)
class DocumentSignature:
    """The proof a document carries: the site's public key, its signature of the document
    message, and (deletion requests) the key changes from earlier keys to this one."""

    key: str
    signature: str
    key_changes: tuple[KeyChange, ...] = ()

    @classmethod
    def make(
        cls,
        key: Ed25519PrivateKey,
        kind: str,
        document_id: str,
        sha256: str,
        changes: Iterable[KeyChange] = (),
    ) -> DocumentSignature:
        message = document_message(kind, document_id, sha256)
        return cls(public_key_text(key), _sign(key, message), tuple(changes))

    def verifies(self, kind: str, document_id: str, sha256: str) -> bool:
        """Whether ``key`` signed this document (kind, id and canonical sha256)."""
        return _verifies(self.key, self.signature, document_message(kind, document_id, sha256))

    # -- carried as HTTP headers ---------------------------------------------------------------

    def headers(self) -> dict[str, str]:
        out = {KEY_HEADER: self.key, SIGNATURE_HEADER: self.signature}
        if self.key_changes:
            text = canonical_json([c.as_json() for c in self.key_changes])
            out[KEY_CHANGES_HEADER] = base64.b64encode(text.encode()).decode("ascii")
        return out

    @classmethod
    def from_headers(cls, header: Callable[[str], str | None]) -> DocumentSignature | None:
        """The proof in a request's headers (``header(name)`` gives one or None); None when the
        request carries none. Raises ``SignatureFormatError`` when it is malformed."""
        key, signature, changes = header(KEY_HEADER), header(SIGNATURE_HEADER), header(KEY_CHANGES_HEADER)
        if key is None and signature is None and changes is None:
            return None
        if key is None or signature is None:
            raise SignatureFormatError(f"{KEY_HEADER} and {SIGNATURE_HEADER} go together")
        _decode(key.strip(), 32, "key")
        _decode(signature.strip(), 64, "signature")
        parsed: tuple[KeyChange, ...] = ()
        if changes is not None:
            if len(changes) > _MAX_CHANGES_TEXT * 2:
                raise SignatureFormatError(f"{KEY_CHANGES_HEADER} is too long")
            parsed = _changes(_decode_json(changes.strip()))
        return cls(key.strip(), signature.strip(), parsed)

    # -- kept as JSON (the collector's outbox, a bundle's manifest) ---------------------------

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "signature": self.signature}
        if self.key_changes:
            out["key_changes"] = [c.as_json() for c in self.key_changes]
        return out

    def to_text(self) -> str:
        return canonical_json(self.as_json())

    @classmethod
    def from_json(cls, value: Any) -> DocumentSignature:
        if not isinstance(value, Mapping) or not {"key", "signature"} <= set(value) <= {
            "key",
            "signature",
            "key_changes",
        }:
            raise SignatureFormatError("a signature must have key, signature and optional key_changes")
        key, signature = value["key"], value["signature"]
        if not isinstance(key, str) or not isinstance(signature, str):
            raise SignatureFormatError("a signature's key and signature must be strings")
        _decode(key, 32, "key")
        _decode(signature, 64, "signature")
        return cls(key, signature, _changes(value.get("key_changes", [])))

    @classmethod
    def from_text(cls, text: str) -> DocumentSignature:
        try:
            return cls.from_json(json.loads(text))
        except json.JSONDecodeError as exc:
            raise SignatureFormatError("a signature is not JSON") from exc


def _decode_json(text: str) -> Any:
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
        return json.loads(raw)
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise SignatureFormatError(f"{KEY_CHANGES_HEADER} is not base64 of JSON") from exc


def _changes(value: Any) -> tuple[KeyChange, ...]:
    if not isinstance(value, list) or len(value) > MAX_KEY_CHANGES:
        raise SignatureFormatError(f"key changes must be a list of at most {MAX_KEY_CHANGES}")
    return tuple(KeyChange.from_json(v) for v in value)


def keys_linked(start: str, end: str, changes: Iterable[KeyChange]) -> bool:
    """Whether valid key changes lead from key ``start`` to key ``end`` (each signed by the key
    it hands over from); a key is linked to itself."""
    handovers: dict[str, set[str]] = {}
    for change in changes:
        if change.valid():
            handovers.setdefault(change.key, set()).add(change.next_key)
    seen, todo = {start}, [start]
    while todo:
        key = todo.pop()
        if key == end:
            return True
        for nxt in handovers.get(key, ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return False
