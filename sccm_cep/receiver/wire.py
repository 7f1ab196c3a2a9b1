"""The receiver's side of HTTP: reading a POSTed body within the size limits, and writing a
JSON answer. What a valid document is lives in ``sccm_cep.contract.validation``.
"""

from __future__ import annotations

import json
import re
import threading
import zlib
from collections.abc import Callable
from typing import Any

__all__ = [
    "MAX_BODY",
    "MAX_DENSITY",
    "MAX_JSON",
    "MAX_TEXT_IN_FLIGHT",
    "Busy",
    "Reject",
    "StartResponse",
    "TextBudget",
    "answer",
    "gunzip",
    "parse_json_object",
]

MAX_BODY = 16 * 1024 * 1024  # gzip bytes
#: After gunzip: a gzip bomb stops here. The largest real document, level enhanced at 175,000
#: devices, is about 75 MiB of JSON (about 450 bytes per device row, measured).
MAX_JSON = 128 * 1024 * 1024
#: Decompressed bytes all requests may hold at once (see TextBudget): one largest document.
MAX_TEXT_IN_FLIGHT = 128 * 1024 * 1024
#: At most one JSON object or array per this many bytes of a document (real ones: one per
#: 280 bytes or more; a parsed object costs about 4 times its text).
MAX_DENSITY = 64
#: The longest run of bytes without a double quote a document may hold (real ones: about
#: 100; every string and every key is quoted): a giant string is refused before parsing.
MAX_UNQUOTED_RUN = 4096
_LONG_RUN = re.compile(rb'[^"]{%d}' % (MAX_UNQUOTED_RUN + 1))
_STEP = 1 << 20

StartResponse = Callable[..., Any]

_REASONS = {
    200: "OK",
    201: "Created",
    400: "Bad Request",
    404: "Not Found",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
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


class Busy(Exception):
    """The receiver holds as much decompressed text as it may at once: answer 503, retry later."""


class TextBudget:
    """How many decompressed bytes all requests together may hold at once. A request takes
    what it inflates, chunk by chunk, and gives it back when it is done; one that cannot take
    more is answered 503 with Retry-After, so memory stays bounded whatever the clients send."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._used = 0
        self._lock = threading.Lock()

    def take(self, n: int) -> None:
        with self._lock:
            if self._used + n > self.limit:
                raise Busy
            self._used += n

    def give(self, n: int) -> None:
        with self._lock:
            self._used = max(0, self._used - n)


def gunzip(raw: bytes, budget: TextBudget | None = None, taken: list[int] | None = None) -> bytearray:
    """Decompress one gzip member in 1 MiB steps, stopping at ``MAX_JSON`` bytes (a gzip bomb
    stops there) and taking each step from ``budget`` (recorded in ``taken`` to give back).
    Anything after the member (junk, a second member) is refused: only what was validated is
    ever stored."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = bytearray()
    pending = raw
    try:
        while not inflater.eof:
            chunk = inflater.decompress(pending, _STEP)
            pending = inflater.unconsumed_tail
            if not chunk and not pending:
                break
            if len(out) + len(chunk) > MAX_JSON:
                raise Reject(413, "the document is over the size limit once decompressed")
            if not out and chunk.lstrip()[:1] not in (b"{", b""):
                raise Reject(400, "the body is not JSON (it does not start with an object)")  # at once
            if budget is not None:
                budget.take(len(chunk))
                if taken is not None:
                    taken.append(len(chunk))
            out += chunk
    except zlib.error as exc:
        raise Reject(400, "the body is not valid gzip") from exc
    if not inflater.eof:
        raise Reject(400, "the gzip body is truncated")
    if inflater.unused_data or pending:
        raise Reject(400, "the body holds data after its gzip stream")
    return out  # not copied to bytes: the text is held once


def parse_json_object(text: bytes | bytearray) -> dict[str, Any]:
    """The body as a JSON object, within ``MAX_JSON`` bytes, ``MAX_DENSITY`` and
    ``MAX_UNQUOTED_RUN``, both checked at C speed before parsing, so nesting bombs and giant
    strings never reach the parser."""
    if len(text) > MAX_JSON:
        raise Reject(413, "the document is over the size limit")
    containers = text.count(b"{") + text.count(b"[")
    if containers > len(text) // MAX_DENSITY + 64:
        raise Reject(400, "the body nests more objects and arrays than any document")
    if _LONG_RUN.search(text):
        raise Reject(400, "the body holds a longer string or number than any document")
    try:
        doc = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Reject(400, "the body is not JSON") from exc
    except RecursionError as exc:
        raise Reject(400, "the body nests deeper than any document") from exc
    if not isinstance(doc, dict):
        raise Reject(400, "the body is not a JSON object")
    return doc
