"""The deletion request both sides share: what a site that leaves sends so the vendor deletes
everything it stored under the site's pseudonym. Built by the collector (``leave``), validated
by the receiver against ``schemas/deletion-request-1.0.json``.
"""

from __future__ import annotations

import json
import uuid
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
    "deletion_document_id",
    "deletion_request",
    "load_deletion_schema",
]

DELETION_SCHEMA = "urn:sccm-cep:deletion-request"
DELETION_SCHEMA_VERSION = "1.0"
DELETION_SCHEMA_FILE = f"deletion-request-{DELETION_SCHEMA_VERSION}.json"
DELETION_KIND = "deletion-request"
#: The only scope there is: every submission stored under the site's pseudonym.
DELETION_SCOPE = "all-submissions"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, DELETION_SCHEMA)


def deletion_document_id(site: str, requested_on: str) -> str:
    """UUIDv5 of site pseudonym and request day: leaving twice on one day sends one request."""
    return str(uuid.uuid5(_NAMESPACE, f"{site}|{requested_on}"))


def deletion_request(site: str, requested_on: date) -> dict[str, Any]:
    """The request for ``site`` (its pseudonym) made on ``requested_on``; render it with
    ``canonical_json``."""
    day = requested_on.isoformat()
    return {
        "schema": DELETION_SCHEMA,
        "schema_version": DELETION_SCHEMA_VERSION,
        "kind": DELETION_KIND,
        "document_id": deletion_document_id(site, day),
        "site": site,
        "requested_on": day,
        "scope": DELETION_SCOPE,
    }


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
