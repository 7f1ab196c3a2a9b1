"""The deletion request both sides share: what a site that leaves sends so the vendor deletes
everything it stored under the site's pseudonyms. Built by the collector (``leave``), validated
by the receiver against ``schemas/deletion-request-1.0.json``.

``site`` is the pseudonym of the site's current key; ``earlier_sites`` (optional, added within
1.0: a request without it stays valid) lists the others its submissions carry: those of earlier
key versions (``site rotate-key``) and of releases before per-site keys. ``contributor``
(optional, also added within 1.0) is the pseudonym of the collector installation, as its
submissions carry it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = [
    "DELETION_KIND",
    "DELETION_SCHEMA",
    "DELETION_SCHEMA_FILE",
    "DELETION_SCHEMA_VERSION",
    "DELETION_SCOPE",
    "MAX_EARLIER_SITES",
    "deletion_document_id",
    "deletion_request",
    "load_deletion_schema",
    "site_pseudonyms",
]

DELETION_SCHEMA = "urn:sccm-cep:deletion-request"
DELETION_SCHEMA_VERSION = "1.0"
DELETION_SCHEMA_FILE = f"deletion-request-{DELETION_SCHEMA_VERSION}.json"
DELETION_KIND = "deletion-request"
#: The only scope there is: every submission stored under the site's pseudonym.
DELETION_SCOPE = "all-submissions"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, DELETION_SCHEMA)
#: At most this many earlier pseudonyms in one request (the schema's maxItems).
MAX_EARLIER_SITES = 256


def deletion_document_id(site: str, requested_on: str) -> str:
    """UUIDv5 of site pseudonym and request day: leaving twice on one day sends one request."""
    return str(uuid.uuid5(_NAMESPACE, f"{site}|{requested_on}"))


def deletion_request(
    site: str,
    requested_on: date,
    *,
    earlier_sites: Iterable[str] = (),
    contributor: str | None = None,
) -> dict[str, Any]:
    """The request for ``site`` (its current pseudonym) and ``earlier_sites`` (its other ones)
    made on ``requested_on``, from ``contributor``; render it with ``canonical_json``."""
    day = requested_on.isoformat()
    doc: dict[str, Any] = {
        "schema": DELETION_SCHEMA,
        "schema_version": DELETION_SCHEMA_VERSION,
        "kind": DELETION_KIND,
        "document_id": deletion_document_id(site, day),
        "site": site,
        "requested_on": day,
        "scope": DELETION_SCOPE,
    }
    earlier = sorted(set(earlier_sites) - {site})
    if len(earlier) > MAX_EARLIER_SITES:
        raise ValueError(f"a deletion request names at most {MAX_EARLIER_SITES} earlier pseudonyms")
    if earlier:
        doc["earlier_sites"] = earlier
    if contributor:
        doc["contributor"] = contributor
    return doc


def site_pseudonyms(doc: Mapping[str, Any]) -> tuple[str, ...]:
    """Every site pseudonym a (valid) deletion request names: ``site`` first."""
    return (str(doc["site"]), *(str(s) for s in doc.get("earlier_sites", ())))


@lru_cache(maxsize=1)
def load_deletion_schema() -> dict[str, Any]:
    """The committed deletion-request schema shipped with the package."""
    text = (
        resources.files("sccm_cep.contract")
        .joinpath("schemas", DELETION_SCHEMA_FILE)
        .read_text(encoding="utf-8")
    )
    schema: dict[str, Any] = json.loads(text)
    return schema
