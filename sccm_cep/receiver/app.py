"""The reference receiver for the vendor, and the one our tests send to: a WSGI app that
validates each document against the shared contract and stores it once by ``document_id``
(``receiver.store``), served by waitress.

API: ``POST /v1/{kind}/{schema_version}/{document_id}`` with a gzip JSON body answers 201
``{"status":"stored"}``, 409 ``{"status":"duplicate"}``, 400 ``{"status":"invalid","reason":…}``,
403 ``{"status":"forbidden","reason":…}`` when the site's bound key did not sign it
(``receiver.keys``), 413 over the size limits, 404 for another path, 503 with ``Retry-After``
when too many requests are in flight or the database fails. ``GET /v1/health``.

The one seam is ``middleware``: it wraps the POST handler inside the in-flight limit (tests
use it to inject faults); production leaves it unset.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from sccm_cep.contract.signing import DocumentSignature, SignatureFormatError
from sccm_cep.contract.submission import canonical_json
from sccm_cep.contract.upload import DocumentKind, UploadTarget, parse_upload_path
from sccm_cep.contract.validation import check_upload
from sccm_cep.errors import ConfigError
from sccm_cep.extras import require
from sccm_cep.receiver import wire
from sccm_cep.receiver.keys import SiteKeys
from sccm_cep.receiver.store import (
    open_receiver_db,
    received_documents,
    store_document,
    stored_digest,
    stored_ids,
)
from sccm_cep.receiver.wire import MAX_BODY, Reject, StartResponse, answer

__all__ = [
    "MAX_BODY",
    "MAX_IN_FLIGHT",
    "Middleware",
    "PostHandler",
    "Receiver",
    "ReceiverApp",
    "open_receiver_db",
    "received_documents",
]

log = logging.getLogger("sccm_cep.receiver.app")

MAX_IN_FLIGHT = 16  # requests handled at once; over it: 503 with Retry-After
MAX_QUEUED = 8  # requests waiting for a worker thread; past it: 503 with Retry-After
CONNECTION_LIMIT = 2048  # open connections at once (idle ones included)
CHANNEL_TIMEOUT = 15  # seconds a connection may sit idle before it is closed

#: A WSGI callable that handles one POST.
PostHandler = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
#: Wraps the POST handler (inside the in-flight limit); for tests and drills.
Middleware = Callable[[PostHandler], PostHandler]


class ReceiverApp:
    """The WSGI application: ``app(environ, start_response)`` over an opened database."""

    def __init__(
        self,
        engine: Engine,
        *,
        max_body: int = MAX_BODY,
        max_in_flight: int = MAX_IN_FLIGHT,
        max_text_in_flight: int = wire.MAX_TEXT_IN_FLIGHT,
        middleware: Middleware | None = None,
        require_signatures: bool = False,
        tokens: frozenset[str] = frozenset(),
        queued: Callable[[], int] | None = None,
        max_queued: int = MAX_QUEUED,
    ) -> None:
        self.engine = engine
        self.keys = SiteKeys(engine, require_signatures=require_signatures)
        #: How many requests wait for a worker thread (the server's queue); past ``max_queued``
        #: a POST is answered 503 at once instead of waiting ever longer (overload shedding).
        self.queued = queued
        self.max_queued = max_queued
        #: Closed enrollment: when not empty, every POST must carry one of these bearer tokens.
        self.tokens = tokens
        self.max_body = max_body
        self.budget = wire.TextBudget(max_text_in_flight)
        self._in_flight = threading.BoundedSemaphore(max_in_flight)
        self._post: PostHandler = middleware(self.handle_post) if middleware else self.handle_post

    def stored(self, kind: str = DocumentKind.SUBMISSION) -> list[str]:
        """The document ids stored for ``kind``."""
        return stored_ids(self.engine, kind)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if method != "POST":
            if method == "GET" and environ.get("PATH_INFO", "") == "/v1/health":
                return answer(start_response, 200, {"status": "ok"})
            return answer(start_response, 404, {"status": "not-found", "reason": "no such path"})
        if self.tokens and not _token_ok(environ, self.tokens):
            return answer(
                start_response,
                401,
                {"status": "unauthorized", "reason": "this receiver needs an enrollment token"},
                {"WWW-Authenticate": 'Bearer realm="sccm-cep"'},
            )
        overloaded = self.queued is not None and self.queued() > self.max_queued
        if overloaded or not self._in_flight.acquire(blocking=False):
            return answer(
                start_response,
                503,
                {"status": "unavailable", "reason": "too many requests in flight"},
                {"Retry-After": "1"},
            )
        try:
            return self._post(environ, start_response)
        finally:
            self._in_flight.release()

    def handle_post(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """One upload: size limit, path, then validate and store."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > self.max_body:
            return answer(
                start_response, 413, {"status": "too-large", "reason": "the body is over the size limit"}
            )
        raw = environ["wsgi.input"].read(length) if length else b""
        target = parse_upload_path(environ.get("PATH_INFO", ""))
        if target is None:
            return answer(
                start_response,
                404,
                {"status": "not-found", "reason": "POST /v1/{kind}/{schema_version}/{document_id}"},
            )
        media = _media_problem(environ)
        if media is not None:
            return answer(start_response, 415, {"status": "invalid", "reason": media})
        taken: list[int] = []
        try:
            proof = _proof(environ)
            status, body = self.accept(target, raw, environ.get("HTTP_CONTENT_ENCODING", ""), taken, proof)
        except Reject as exc:
            status = exc.status
            body = {"status": _REJECTED.get(exc.status, "too-large"), "reason": exc.reason}
        except wire.Busy:
            return answer(
                start_response,
                503,
                {"status": "unavailable", "reason": "too much being received at once"},
                {"Retry-After": "2"},
            )
        except SQLAlchemyError as exc:  # the message could quote the row: log only the kind of error
            log.error("the receiver database failed: %s", exc.__class__.__name__)
            return answer(
                start_response,
                503,
                {"status": "unavailable", "reason": "storage unavailable"},
                {"Retry-After": "5"},
            )
        finally:
            self.budget.give(sum(taken))
        return answer(start_response, status, body)

    def accept(
        self,
        target: UploadTarget,
        raw: bytes,
        encoding: str,
        taken: list[int] | None = None,
        proof: DocumentSignature | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Validate and store one POSTed body; returns the status and the JSON answer.

        What is stored is the document re-encoded canonically, never the bytes as received.
        Under an id already stored, the same content is a duplicate and other content a
        conflict (both 409): a document is never replaced, nor confirmed when it differs."""
        if encoding.strip().lower() == "gzip":
            text: bytes | bytearray = wire.gunzip(raw, self.budget, taken)
        else:
            self.budget.take(len(raw))
            if taken is not None:
                taken.append(len(raw))
            text = raw
        doc = wire.parse_json_object(text)
        violation = check_upload(target, doc)
        if violation is not None:
            raise Reject(400, violation.reason)
        canonical = canonical_json(doc).encode()
        # 403 unless signed by the key bound to the site (the first signed document binds it)
        self.keys.check(target, doc, hashlib.sha256(canonical).hexdigest(), proof)
        stored = store_document(self.engine, target, doc, canonical, None)
        if stored:
            return 201, {"status": "stored", "document_id": target.document_id}
        if stored_digest(self.engine, target.document_id) == hashlib.sha256(canonical).hexdigest():
            return 409, {"status": "duplicate", "document_id": target.document_id}
        return 409, {
            "status": "conflict",
            "document_id": target.document_id,
            "reason": "another document is stored under this id",
        }


#: The answer's status for a refusal's HTTP status.
_REJECTED = {400: "invalid", 403: "forbidden"}


def _proof(environ: dict[str, Any]) -> DocumentSignature | None:
    """The signature headers of the request (None: unsigned); ``Reject`` 400 when malformed."""
    try:
        return DocumentSignature.from_headers(
            lambda name: environ.get("HTTP_" + name.upper().replace("-", "_"))
        )
    except SignatureFormatError as exc:
        raise Reject(400, f"the signature headers are malformed: {exc}") from None


def _media_problem(environ: dict[str, Any]) -> str | None:
    """Why the request's Content-Type / Content-Encoding are not what the API takes (or None)."""
    kind = str(environ.get("CONTENT_TYPE", "")).split(";")[0].strip().lower()
    if kind != "application/json":
        return "Content-Type must be application/json"
    coding = str(environ.get("HTTP_CONTENT_ENCODING", "")).strip().lower()
    if coding not in ("", "identity", "gzip"):
        return "Content-Encoding must be gzip (or none)"
    return None


def _token_ok(environ: dict[str, Any], tokens: frozenset[str]) -> bool:
    """Whether the request's ``Authorization: Bearer …`` is one of ``tokens`` (compared in
    constant time, every token tried, so timing tells nothing of which is close)."""
    scheme, _, given = str(environ.get("HTTP_AUTHORIZATION", "")).partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return False
    offered = given.strip().encode()
    return any([hmac.compare_digest(offered, t.encode()) for t in tokens])


def load_tokens(path: Path) -> frozenset[str]:
    """Enrollment tokens from a file, one a line (blank lines and ``#`` comments skipped)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the token file {path}", hint="one token a line, UTF-8") from exc
    tokens = frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )
    if not tokens or any(len(t) < 16 for t in tokens):
        raise ConfigError(
            f"the token file {path} holds no token, or one shorter than 16 characters",
            hint="e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'",
        )
    return tokens


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
        middleware: Middleware | None = None,
        require_signatures: bool = False,
        tokens: frozenset[str] = frozenset(),
    ) -> None:
        create_server = require("waitress.server").create_server
        self.engine = open_receiver_db(db)
        self.app = ReceiverApp(
            self.engine,
            max_body=max_body,
            max_in_flight=max_in_flight,
            middleware=middleware,
            require_signatures=require_signatures,
            tokens=tokens,
        )
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
            # Idle or trickling clients (slowloris) must not take every connection: many may be
            # open at once (waitress keeps idle ones cheaply in its event loop) and a connection
            # with nothing to do for CHANNEL_TIMEOUT seconds is closed.
            connection_limit=CONNECTION_LIMIT,
            channel_timeout=CHANNEL_TIMEOUT,
            cleanup_interval=max(1, CHANNEL_TIMEOUT // 3),
        )
        dispatcher = self.server.task_dispatcher
        self.app.queued = lambda: len(dispatcher.queue)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.server.effective_host}:{self.server.effective_port}"

    def stored(self, kind: str = DocumentKind.SUBMISSION) -> list[str]:
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

            try:
                server.trigger.pull_trigger(close_all)
            except OSError:
                # The loop already closed its trigger (every channel gone): nothing left to wake.
                server.close()
            self._thread.join(timeout=5)
        else:
            self.server.close()
        self.server.task_dispatcher.shutdown()
        self.engine.dispose()

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
