"""The upload API both sides share: the kinds of document, the schema version each is written
in, and the path one is POSTed to (``/v1/{kind}/{schema_version}/{document_id}``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from sccm_cep.contract.deletion import DELETION_KIND, DELETION_SCHEMA_VERSION
from sccm_cep.contract.submission import SCHEMA_VERSION

__all__ = [
    "CURRENT_VERSIONS",
    "DocumentKind",
    "UploadTarget",
    "parse_upload_path",
    "upload_path",
]


class DocumentKind(StrEnum):
    """What a document is; the value is its ``kind`` field and its path segment."""

    SUBMISSION = "submission"
    DELETION_REQUEST = DELETION_KIND


#: The schema version this release writes for each kind.
CURRENT_VERSIONS: dict[DocumentKind, str] = {
    DocumentKind.SUBMISSION: SCHEMA_VERSION,
    DocumentKind.DELETION_REQUEST: DELETION_SCHEMA_VERSION,
}

_PATH = re.compile(r"^/v1/(?P<kind>[a-z-]+)/(?P<version>[0-9.]+)/(?P<id>[0-9a-f-]{36})$")


@dataclass(frozen=True, slots=True)
class UploadTarget:
    """What an upload path names: the document's kind, schema version and id."""

    kind: DocumentKind
    schema_version: str
    document_id: str


def upload_path(kind: str, schema_version: str, document_id: str) -> str:
    """Where a document is POSTed, below the receiver's base URL."""
    return f"/v1/{kind}/{schema_version}/{document_id}"


def parse_upload_path(path: str) -> UploadTarget | None:
    """The target an upload path names, or None for any other path (or an unknown kind)."""
    match = _PATH.match(path)
    if match is None:
        return None
    try:
        kind = DocumentKind(match["kind"])
    except ValueError:
        return None
    return UploadTarget(kind, match["version"], match["id"])
