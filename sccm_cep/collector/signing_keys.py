"""A site's Ed25519 signing key and its key changes: the key is derived from the site secret
(so it is kept, carried and rotated with it), and each rotation is handed over by a statement
the outgoing key signs, which the site's deletion request carries (``contract.signing``).
Where the secrets are and which versions this host holds is ``collector.keys``' business.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from sccm_cep.collector.store import Site, SiteKeyChange, utcnow
from sccm_cep.contract.signing import MAX_KEY_CHANGES, KeyChange, SignatureFormatError
from sccm_cep.contract.submission import canonical_json
from sccm_cep.privacy.anonymize import SiteSecret

__all__ = ["key_changes", "make_key_change", "record_key_change", "signing_key_from"]


def signing_key_from(secret: bytes, code: str) -> Ed25519PrivateKey:
    """The Ed25519 key derived from a site secret with HKDF-SHA256 (RFC 5869) under its own
    label and the site code: a one-way derivation, so the public key reveals nothing of the
    secret or the pseudonyms it makes. The seed never leaves this function."""
    seed = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"sccm-cep signing key|{code.upper()}".encode()
    ).derive(secret)
    return Ed25519PrivateKey.from_private_bytes(seed)


def make_key_change(code: str, old: bytes, new: bytes) -> KeyChange:
    """The statement, signed by the key of secret ``old``, that hands site ``code`` (its
    pseudonym under ``old``) over to the key and pseudonym of secret ``new``."""
    old_site = SiteSecret(old, site=code).pseudonym("site", code)
    new_site = SiteSecret(new, site=code).pseudonym("site", code)
    return KeyChange.make(signing_key_from(old, code), old_site, signing_key_from(new, code), new_site)


def record_key_change(session: Session, site: Site, old: bytes, new: bytes) -> None:
    """Keep the key change from ``old`` to the site's current secret ``new`` (not committed).

    It is sent only with the site's deletion request: sending it earlier would link the
    pseudonyms a rotation separates."""
    session.add(
        SiteKeyChange(
            site_id=site.id,
            key_version=site.key_version,
            statement=canonical_json(make_key_change(site.code, old, new).as_json()),
            recorded_at=utcnow(),
        )
    )


def key_changes(session: Session, site: Site, held: Mapping[int, bytes]) -> tuple[KeyChange, ...]:
    """Every key change of the site, oldest first: those recorded at rotations, and those this
    host can still make between consecutive key versions it holds (``held``: version → secret),
    which covers a rotation made on a host that lacked the outgoing key."""
    rows = session.execute(
        select(SiteKeyChange.statement)
        .where(SiteKeyChange.site_id == site.id)
        .order_by(SiteKeyChange.key_version, SiteKeyChange.id)
    ).scalars()
    out: dict[tuple[str, str], KeyChange] = {}
    for text in rows:
        try:
            change = KeyChange.from_json(json.loads(text))
        except (ValueError, SignatureFormatError):
            continue  # a damaged row proves nothing; the receiver refuses what it cannot link
        out.setdefault((change.key, change.next_key), change)
    for version in sorted(held):
        if version + 1 in held:
            change = make_key_change(site.code, held[version], held[version + 1])
            out.setdefault((change.key, change.next_key), change)
    return tuple(out.values())[-MAX_KEY_CHANGES:]
