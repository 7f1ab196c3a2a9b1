"""The reference receiver for the vendor, and the one our tests send to: it validates, stores
each document once by ``document_id`` in a folder, and can be told to misbehave for tests.

API: ``POST /v1/{kind}/{schema_version}/{document_id}`` with a gzip JSON body answers 201
``{"status":"stored"}``, 409 ``{"status":"duplicate"}``, 400 ``{"status":"invalid","reason":…}``,
413 over the size limits, and 503/429 with ``Retry-After`` when told to. ``GET /v1/health``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import threading
import time
import zlib
from collections import deque
from dataclasses import dataclass
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema

from sccm_cep.participation import DELETION_SCHEMA
from sccm_cep.submission import SCHEMA_VERSION, load_schema

__all__ = ["Fault", "Receiver"]

log = logging.getLogger("sccm_cep.receiver")

MAX_BODY = 16 * 1024 * 1024  # gzip bytes
MAX_JSON = 256 * 1024 * 1024  # after gunzip: a gzip bomb stops here
KINDS = ("submission", "deletion-request")
_PATH = re.compile(r"^/v1/(?P<kind>[a-z-]+)/(?P<version>[0-9.]+)/(?P<id>[0-9a-f-]{36})$")
_HEX32 = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True, slots=True)
class Fault:
    """What to do instead of answering one request: ``status`` (503, 429, 500 …) with an optional
    ``retry_after``, ``hang`` seconds before answering, or ``drop`` the connection unanswered."""

    status: int | None = None
    retry_after: str | None = None
    hang: float = 0.0
    drop: bool = False


class _Reject(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Receiver:
    """A ThreadingHTTPServer storing documents under ``data``: ``{kind}/{document_id}.json``."""

    def __init__(
        self, data: Path, *, host: str = "127.0.0.1", port: int = 0, max_body: int = MAX_BODY
    ) -> None:
        self.data = data
        self.max_body = max_body
        self.faults: deque[Fault] = deque()
        self.requests = 0
        self._lock = threading.Lock()
        for kind in KINDS:
            (data / kind).mkdir(parents=True, exist_ok=True)
        self.server = ThreadingHTTPServer((host, port), _handler(self))
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def fail_next(self, n: int, fault: Fault) -> None:
        """Apply ``fault`` to the next ``n`` POSTs (for tests and drills)."""
        with self._lock:
            self.faults.extend([fault] * n)

    def _next_fault(self) -> Fault | None:
        with self._lock:
            self.requests += 1
            return self.faults.popleft() if self.faults else None

    def start(self) -> Receiver:
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def stored(self, kind: str = "submission") -> list[str]:
        """The document ids stored for ``kind``."""
        return sorted(p.name.removesuffix(".json") for p in (self.data / kind).glob("*.json"))

    # -- handling -----------------------------------------------------------------------------

    def accept(
        self, kind: str, version: str, doc_id: str, raw: bytes, encoding: str
    ) -> tuple[int, dict[str, Any]]:
        """Validate and store one POSTed body; returns the status and the JSON answer."""
        text = _gunzip(raw) if encoding == "gzip" else raw
        if len(text) > MAX_JSON:
            raise _Reject(413, "the document is over the size limit")
        try:
            doc = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise _Reject(400, "the body is not JSON") from exc
        if not isinstance(doc, dict):
            raise _Reject(400, "the body is not a JSON object")
        if doc.get("document_id") != doc_id:
            raise _Reject(400, "the document_id in the path differs from the body's")
        if doc.get("kind") != kind or doc.get("schema_version") != version:
            raise _Reject(400, "the kind or schema_version in the path differs from the body's")
        if kind == "submission":
            _check_submission(doc)
        else:
            _check_deletion(doc)
        if not self._store(kind, doc_id, text):
            return 409, {"status": "duplicate", "document_id": doc_id}
        if kind == "deletion-request":
            self._delete_site(str(doc["site"]))
        return 201, {"status": "stored", "document_id": doc_id}

    def _store(self, kind: str, doc_id: str, text: bytes) -> bool:
        """Write once: a hard link to the final name fails if another request got there first."""
        final = self.data / kind / f"{doc_id}.json"
        if final.exists():
            return False
        fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=".partial-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.link(tmp, final)
        except FileExistsError:
            return False
        finally:
            Path(tmp).unlink(missing_ok=True)
        return True

    def _delete_site(self, pseudonym: str) -> None:
        """A deletion request removes every submission stored under that site pseudonym."""
        for path in (self.data / "submission").glob("*.json"):
            try:
                site = json.loads(path.read_bytes()).get("site")
            except (OSError, ValueError):
                continue
            if site == pseudonym:
                path.unlink(missing_ok=True)


def _gunzip(raw: bytes) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(raw, MAX_JSON + 1)
    except zlib.error as exc:
        raise _Reject(400, "the body is not valid gzip") from exc
    if len(out) > MAX_JSON or inflater.unconsumed_tail:
        raise _Reject(413, "the document is over the size limit once decompressed")
    if not inflater.eof:
        raise _Reject(400, "the gzip body is truncated")
    return out


@lru_cache(maxsize=1)
def _validator() -> Any:
    schema = load_schema()
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _check_submission(doc: dict[str, Any]) -> None:
    if doc.get("schema_version") != SCHEMA_VERSION:
        raise _Reject(400, f"schema_version must be {SCHEMA_VERSION}")
    error = jsonschema.exceptions.best_match(_validator().iter_errors(doc))
    if error is not None:
        # Name the place and the rule, never the value: the client shows this to the admin.
        where = "/".join(str(p) for p in error.absolute_path) or "(document)"
        raise _Reject(400, f"does not validate against the schema at {where}: {error.validator} rule")


def _check_deletion(doc: dict[str, Any]) -> None:
    expected = {"schema", "schema_version", "kind", "document_id", "site", "requested_on", "scope"}
    if set(doc) != expected:
        raise _Reject(400, "a deletion request has exactly: " + ", ".join(sorted(expected)))
    if doc["schema"] != DELETION_SCHEMA or doc["scope"] != "all-submissions":
        raise _Reject(400, "not a deletion request of scope all-submissions")
    if not isinstance(doc["site"], str) or not _HEX32.match(doc["site"]):
        raise _Reject(400, "site must be a 32-digit pseudonym")
    if not isinstance(doc["requested_on"], str) or not re.match(r"^\d{4}-\d{2}-\d{2}$", doc["requested_on"]):
        raise _Reject(400, "requested_on must be YYYY-MM-DD")


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "sccm-cep-receiver"

        def log_message(self, format: str, *args: Any) -> None:
            log.info("%s %s", self.address_string(), format % args)

        def _answer(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body, sort_keys=True).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/v1/health":
                self._answer(200, {"status": "ok"})
            else:
                self._answer(404, {"status": "not-found", "reason": "no such path"})

        def do_POST(self) -> None:
            fault = receiver._next_fault()
            match = _PATH.match(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            if fault is not None and fault.drop:
                self.close_connection = True
                self.connection.close()  # unanswered, mid-request: the client sees a network error
                return
            if length > receiver.max_body:
                self.close_connection = True  # the body is not read: drop the connection after
                self._answer(413, {"status": "too-large", "reason": "the body is over the size limit"})
                return
            raw = self.rfile.read(length)
            if fault is not None:
                if fault.hang:
                    time.sleep(fault.hang)
                if fault.status:
                    headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                    self._answer(
                        fault.status, {"status": "unavailable", "reason": "try again later"}, headers
                    )
                    return
            if match is None or match["kind"] not in KINDS:
                self._answer(
                    404, {"status": "not-found", "reason": "POST /v1/{kind}/{schema_version}/{document_id}"}
                )
                return
            try:
                status, body = receiver.accept(
                    match["kind"],
                    match["version"],
                    match["id"],
                    raw,
                    self.headers.get("Content-Encoding", ""),
                )
            except _Reject as exc:
                status, body = (
                    exc.status,
                    {"status": "invalid" if exc.status == 400 else "too-large", "reason": exc.reason},
                )
            self._answer(status, body)

    return Handler
