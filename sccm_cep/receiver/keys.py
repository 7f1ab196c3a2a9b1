"""Which key speaks for a site: the ``site_keys`` table binds a site pseudonym to the public key
of the first signed document accepted under it (trust on first use), and every later document,
revision and deletion request naming that pseudonym must be signed by that key. A deletion
request may also name earlier pseudonyms of the site: each bound one must be bound to the
signing key, or hand over to it through key changes its old key signed.

Unsigned documents (collectors before signatures) are accepted only for pseudonyms no key is
bound to, and never when the receiver requires signatures. A refusal is 403 with a reason that
quotes no value: the collector quarantines it and never retries.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Engine, MetaData, String, Table, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from sccm_cep.contract.deletion import site_pseudonyms
from sccm_cep.contract.signing import DocumentSignature, keys_linked
from sccm_cep.contract.upload import DocumentKind, UploadTarget
from sccm_cep.receiver.wire import Reject

__all__ = ["SiteKeys", "site_keys"]

metadata = MetaData()
site_keys = Table(
    "site_keys",
    metadata,
    Column("site", String(32), primary_key=True),
    Column("public_key", String(44), nullable=False),  # base64 of the 32 raw bytes
    Column("bound_at", DateTime, nullable=False),
    Column("document_id", String(36), nullable=False),  # the document that bound it
)


class SiteKeys:
    """The bindings in the receiver's database, and the check every upload passes first."""

    def __init__(self, engine: Engine, *, require_signatures: bool = False) -> None:
        self.engine = engine
        self.require_signatures = require_signatures
        # Receivers starting at once on a new database may race to create the table (the
        # loser fails on the catalog's unique key): it tries again and finds it made.
        for attempt in range(3):
            try:
                metadata.create_all(engine)
                break
            except SQLAlchemyError:
                if attempt == 2:
                    raise
                time.sleep(0.2 * (attempt + 1))

    def bound(self, sites: tuple[str, ...]) -> dict[str, str]:
        """The key bound to each of ``sites`` that has one."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(site_keys.c.site, site_keys.c.public_key).where(site_keys.c.site.in_(sites))
            )
            return {str(site): str(key) for site, key in rows}

    def check(
        self, target: UploadTarget, doc: Mapping[str, Any], sha256: str, proof: DocumentSignature | None
    ) -> None:
        """Refuse (``Reject`` 403) a valid document its site did not sign; bind the key of the
        first signed one. ``sha256``: of the document's canonical JSON."""
        sites = site_pseudonyms(doc) if target.kind is DocumentKind.DELETION_REQUEST else (str(doc["site"]),)
        bound = self.bound(sites)
        if proof is None:
            if self.require_signatures:
                raise Reject(403, "the document is not signed, and this receiver requires signatures")
            if bound:
                raise Reject(403, "the document is not signed, and a key is bound to its site")
            return
        if not proof.verifies(target.kind, target.document_id, sha256):
            raise Reject(403, "the signature does not verify for this document")
        site = sites[0]
        if site in bound and bound[site] != proof.key:
            raise Reject(403, "the document is not signed by the key bound to its site")
        for earlier in sites[1:]:
            key = bound.get(earlier)
            if key is not None and not keys_linked(key, proof.key, proof.key_changes):
                raise Reject(
                    403, "an earlier site named is bound to a key that does not hand over to the signer's"
                )
        if site not in bound:
            self._bind(site, proof.key, target.document_id)

    def _bind(self, site: str, key: str, document_id: str) -> None:
        """Bind ``key`` to ``site``; when another upload bound it first, it must be the same key."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(site_keys).values(
                        site=site,
                        public_key=key,
                        bound_at=datetime.now(UTC).replace(tzinfo=None),
                        document_id=document_id,
                    )
                )
        except IntegrityError:
            if self.bound((site,)).get(site) != key:
                raise Reject(403, "the document is not signed by the key bound to its site") from None
