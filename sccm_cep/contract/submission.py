"""The submission contract both sides share: schema version and file, the envelope's fields,
canonical JSON and document ids. The receiver imports this and nothing of the collector.
"""

from __future__ import annotations

import json
import uuid
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = [
    "ENVELOPE",
    "MAX_INT",
    "MAX_TEXT",
    "SCHEMA_FILE",
    "SCHEMA_ID",
    "SCHEMA_VERSION",
    "canonical_json",
    "document_id",
    "load_schema",
]

SCHEMA_ID = "urn:sccm-cep:submission"
SCHEMA_VERSION = "1.0"
#: The largest integer a document may carry (a PostgreSQL ``integer``), and the longest string
#: in a record row (the collector sends a longer value as 'other').
MAX_INT = 2**31 - 1
MAX_TEXT = 256
SCHEMA_FILE = f"submission-{SCHEMA_VERSION}.json"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, SCHEMA_ID)
ENVELOPE = (
    "schema",
    "schema_version",
    "kind",
    "document_id",
    "site",
    "period",
    "level",
    "generated_at",
    "tool_version",
    "policy_digest",
    "content_digest",
    "sources",
    "revision",
)


def canonical_json(value: Any) -> str:
    """The one JSON rendering used for documents and digests."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def document_id(site: str, period: str, schema_version: str = SCHEMA_VERSION, revision: int = 0) -> str:
    """UUIDv5 of site pseudonym, period and schema version: a re-export of a period collides.

    A forced re-take of a period is a new revision with its own id (it names the one it
    supersedes), so the receiver keeps both and knows which is current.
    """
    name = f"{site}|{period}|{schema_version}" + (f"|r{revision}" if revision else "")
    return str(uuid.uuid5(_NAMESPACE, name))


# -- schema ---------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def load_schema() -> dict[str, Any]:
    """The committed schema file shipped with the package."""
    text = resources.files("sccm_cep.contract").joinpath("schemas", SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
