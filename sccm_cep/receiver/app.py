"""The reference receiver for the vendor, and the one our tests send to: a WSGI app that
validates each document, stores it once by ``document_id`` in a database (PostgreSQL, or
SQLite for a quick local run) through SQLAlchemy Core, and can be told to misbehave for tests.

API: ``POST /v1/{kind}/{schema_version}/{document_id}`` with a gzip JSON body answers 201
``{"status":"stored"}``, 409 ``{"status":"duplicate"}``, 400 ``{"status":"invalid","reason":…}``,
413 over the size limits, 503 with ``Retry-After`` when too many requests are in flight (or
when told to), and 429 when told to. ``GET /v1/health``. Served by waitress.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import re
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import jsonschema
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    create_engine,
    delete,
    insert,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, SQLAlchemyError

from sccm_cep.collector.participation import DELETION_SCHEMA
from sccm_cep.contract.submission import SCHEMA_VERSION, load_schema
from sccm_cep.errors import ConfigError
from sccm_cep.extras import require

__all__ = ["Fault", "Receiver", "ReceiverApp", "open_receiver_db", "received_documents"]

log = logging.getLogger("sccm_cep.receiver.app")

MAX_BODY = 16 * 1024 * 1024  # gzip bytes
MAX_JSON = 256 * 1024 * 1024  # after gunzip: a gzip bomb stops here
MAX_IN_FLIGHT = 16  # requests handled at once; over it: 503 with Retry-After
KINDS = ("submission", "deletion-request")
_PATH = re.compile(r"^/v1/(?P<kind>[a-z-]+)/(?P<version>[0-9.]+)/(?P<id>[0-9a-f-]{36})$")
_HEX32 = re.compile(r"^[0-9a-f]{32}$")

StartResponse = Callable[..., Any]

metadata = MetaData()
received_documents = Table(
    "received_documents",
    metadata,
    Column("document_id", String(36), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("schema_version", String(16), nullable=False),
    Column("site", String(32), nullable=False, index=True),
    Column("period", String(16)),
    Column("revision", Integer),
    Column("received_at", DateTime, nullable=False),
    Column("body", LargeBinary, nullable=False),  # the document's JSON, gzip-compressed
    Column("sha256", String(64), nullable=False),  # of the uncompressed JSON
)


def open_receiver_db(url: str) -> Engine:
    """Open the receiver's database and create its table when missing."""
    try:
        shown = make_url(url).render_as_string(hide_password=True)
        engine = create_engine(url, pool_pre_ping=True, hide_parameters=True)
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise ConfigError(
            "the receiver database URL is not valid",
            hint="use postgresql+psycopg://USER@HOST/DB or sqlite:///PATH",
        ) from exc
    try:
        metadata.create_all(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise ConfigError(
            f"cannot open the receiver database {shown}",
            hint="check --db, that the server runs and that the user may create tables",
        ) from exc
    return engine


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


class ReceiverApp:
    """The WSGI application: ``app(environ, start_response)`` over an opened database."""

    def __init__(
        self, engine: Engine, *, max_body: int = MAX_BODY, max_in_flight: int = MAX_IN_FLIGHT
    ) -> None:
        self.engine = engine
        self.max_body = max_body
        self.faults: deque[Fault] = deque()
        self.requests = 0
        self._lock = threading.Lock()
        self._in_flight = threading.BoundedSemaphore(max_in_flight)

    def fail_next(self, n: int, fault: Fault) -> None:
        """Apply ``fault`` to the next ``n`` POSTs (for tests and drills)."""
        with self._lock:
            self.faults.extend([fault] * n)

    def _next_fault(self) -> Fault | None:
        with self._lock:
            self.requests += 1
            return self.faults.popleft() if self.faults else None

    def stored(self, kind: str = "submission") -> list[str]:
        """The document ids stored for ``kind``."""
        query = (
            select(received_documents.c.document_id)
            .where(received_documents.c.kind == kind)
            .order_by(received_documents.c.document_id)
        )
        with self.engine.connect() as conn:
            return [str(v) for v in conn.execute(query).scalars()]

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "")
        if method != "POST":
            if method == "GET" and path == "/v1/health":
                return _answer(start_response, 200, {"status": "ok"})
            return _answer(start_response, 404, {"status": "not-found", "reason": "no such path"})
        if not self._in_flight.acquire(blocking=False):
            return _answer(
                start_response,
                503,
                {"status": "unavailable", "reason": "too many requests in flight"},
                {"Retry-After": "1"},
            )
        try:
            return self._post(environ, start_response, path)
        finally:
            self._in_flight.release()

    def _post(self, environ: dict[str, Any], start_response: StartResponse, path: str) -> Iterable[bytes]:
        fault = self._next_fault()
        if fault is not None and fault.drop:
            # Promise a body and send none: the server closes the connection, the client sees a
            # network error mid-answer.
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "100")])
            return []
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > self.max_body:
            return _answer(
                start_response,
                413,
                {"status": "too-large", "reason": "the body is over the size limit"},
            )
        raw = environ["wsgi.input"].read(length) if length else b""
        if fault is not None:
            if fault.hang:
                time.sleep(fault.hang)
            if fault.status:
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                return _answer(
                    start_response,
                    fault.status,
                    {"status": "unavailable", "reason": "try again later"},
                    headers,
                )
        match = _PATH.match(path)
        if match is None or match["kind"] not in KINDS:
            return _answer(
                start_response,
                404,
                {"status": "not-found", "reason": "POST /v1/{kind}/{schema_version}/{document_id}"},
            )
        try:
            status, body = self.accept(
                match["kind"], match["version"], match["id"], raw, environ.get("HTTP_CONTENT_ENCODING", "")
            )
        except _Reject as exc:
            status, body = (
                exc.status,
                {"status": "invalid" if exc.status == 400 else "too-large", "reason": exc.reason},
            )
        except SQLAlchemyError as exc:  # the message could quote the row: log only the kind of error
            log.error("the receiver database failed: %s", exc.__class__.__name__)
            status, body = 503, {"status": "unavailable", "reason": "storage unavailable"}
            return _answer(start_response, status, body, {"Retry-After": "5"})
        return _answer(start_response, status, body)

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
        row = {
            "document_id": doc_id,
            "kind": kind,
            "schema_version": version,
            "site": str(doc["site"]),
            "period": doc.get("period"),
            "revision": doc.get("revision"),
            "received_at": datetime.now(UTC).replace(tzinfo=None),
            "body": raw if encoding == "gzip" else gzip.compress(text),
            "sha256": hashlib.sha256(text).hexdigest(),
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(received_documents).values(**row))
                if kind == "deletion-request":
                    # A deletion request removes every submission stored under that pseudonym.
                    conn.execute(
                        delete(received_documents).where(
                            received_documents.c.site == row["site"],
                            received_documents.c.kind == "submission",
                        )
                    )
        except IntegrityError:
            return 409, {"status": "duplicate", "document_id": doc_id}
        return 201, {"status": "stored", "document_id": doc_id}


def _answer(
    start_response: StartResponse, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> list[bytes]:
    data = json.dumps(body, sort_keys=True).encode()
    reason = _REASONS.get(status, "Status")
    start_response(
        f"{status} {reason}",
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            *(headers or {}).items(),
        ],
    )
    return [data]


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


class Receiver:
    """The app served by waitress on ``host:port`` (0: a free port), in a thread or in the foreground."""

    def __init__(
        self,
        db: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        max_body: int = MAX_BODY,
        max_in_flight: int = MAX_IN_FLIGHT,
        threads: int = 8,
    ) -> None:
        create_server = require("waitress.server").create_server
        self.engine = open_receiver_db(db)
        self.app = ReceiverApp(self.engine, max_body=max_body, max_in_flight=max_in_flight)
        self.server: Any = create_server(
            self.app,
            host=host,
            port=port,
            threads=threads,
            ident="sccm-cep-receiver",
            clear_untrusted_proxy_headers=True,
            # waitress buffers a body before the app sees it (1 GiB by default): bound it near
            # our own limit, leaving the app's 413 with its reason authoritative below that.
            max_request_body_size=max(2 * max_body, 1 << 20),
        )
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.server.effective_host}:{self.server.effective_port}"

    @property
    def requests(self) -> int:
        return self.app.requests

    @property
    def faults(self) -> deque[Fault]:
        return self.app.faults

    def fail_next(self, n: int, fault: Fault) -> None:
        """Apply ``fault`` to the next ``n`` POSTs (for tests and drills)."""
        self.app.fail_next(n, fault)

    def stored(self, kind: str = "submission") -> list[str]:
        """The document ids stored for ``kind``."""
        return self.app.stored(kind)

    def start(self) -> Receiver:
        self._thread = threading.Thread(target=self.server.run, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.server.run()

    def stop(self) -> None:
        """Close the listening socket and every connection from the server's own loop, then wait."""
        if self._thread is not None:
            server = self.server

            def close_all() -> None:
                for channel in list(server._map.values()):
                    channel.close()

            server.trigger.pull_trigger(close_all)
            self._thread.join(timeout=5)
        else:
            self.server.close()
        self.server.task_dispatcher.shutdown()
        self.engine.dispose()

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


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
