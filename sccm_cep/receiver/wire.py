"""The receiver's side of HTTP: reading a POSTed body within the size limits, and writing a
JSON answer. What a valid document is lives in ``sccm_cep.contract.validation``.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from typing import Any

__all__ = [
    "MAX_BODY",
    "MAX_JSON",
    "Reject",
    "StartResponse",
    "answer",
    "gunzip",
    "parse_json_object",
]

MAX_BODY = 16 * 1024 * 1024  # gzip bytes
MAX_JSON = 256 * 1024 * 1024  # after gunzip: a gzip bomb stops here

StartResponse = Callable[..., Any]

_REASONS = {
    200: "OK",
    201: "Created",
    400: "Bad Request",
    404: "Not Found",
    409: "Conflict",
    413: "Content Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class Reject(Exception):
    """A request refused with ``status`` (400 or 413) and a reason that quotes no value."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def answer(
    start_response: StartResponse, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> list[bytes]:
    """Start a JSON answer and return its body."""
    data = json.dumps(body, sort_keys=True).encode()
    start_response(
        f"{status} {_REASONS.get(status, 'Status')}",
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            *(headers or {}).items(),
        ],
    )
    return [data]


def gunzip(raw: bytes) -> bytes:
    """Decompress a gzip body, stopping at ``MAX_JSON`` bytes (a gzip bomb stops there)."""
    limit = MAX_JSON
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise Reject(400, "the body is not valid gzip") from exc
    if len(out) > limit or inflater.unconsumed_tail:
        raise Reject(413, "the document is over the size limit once decompressed")
    if not inflater.eof:
        raise Reject(400, "the gzip body is truncated")
    return out


def parse_json_object(text: bytes) -> dict[str, Any]:
    """The body as a JSON object, within ``MAX_JSON`` bytes."""
    if len(text) > MAX_JSON:
        raise Reject(413, "the document is over the size limit")
    try:
        doc = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Reject(400, "the body is not JSON") from exc
    if not isinstance(doc, dict):
        raise Reject(400, "the body is not a JSON object")
    return doc
