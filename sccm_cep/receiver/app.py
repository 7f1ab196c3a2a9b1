"""The reference receiver for the vendor, and the one our tests send to: a WSGI app that
validates each document against the shared contract and stores it once by ``document_id``
(``receiver.store``), served by waitress.

API: ``POST /v1/{kind}/{schema_version}/{document_id}`` with a gzip JSON body answers 201
``{"status":"stored"}``, 409 ``{"status":"duplicate"}``, 400 ``{"status":"invalid","reason":…}``,
413 over the size limits, 404 for another path, 503 with ``Retry-After`` when too many requests
are in flight or the database fails. ``GET /v1/health``.

The one seam is ``middleware``: it wraps the POST handler inside the in-flight limit (tests
use it to inject faults); production leaves it unset.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from sccm_cep.contract.upload import DocumentKind, UploadTarget, parse_upload_path
from sccm_cep.contract.validation import check_upload
from sccm_cep.extras import require
from sccm_cep.receiver import wire
from sccm_cep.receiver.store import open_receiver_db, received_documents, store_document, stored_ids
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
        middleware: Middleware | None = None,
    ) -> None:
        self.engine = engine
        self.max_body = max_body
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
        if not self._in_flight.acquire(blocking=False):
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
        try:
            status, body = self.accept(target, raw, environ.get("HTTP_CONTENT_ENCODING", ""))
        except Reject as exc:
            status = exc.status
            body = {"status": "invalid" if exc.status == 400 else "too-large", "reason": exc.reason}
        except SQLAlchemyError as exc:  # the message could quote the row: log only the kind of error
            log.error("the receiver database failed: %s", exc.__class__.__name__)
            return answer(
                start_response,
                503,
                {"status": "unavailable", "reason": "storage unavailable"},
                {"Retry-After": "5"},
            )
        return answer(start_response, status, body)

    def accept(self, target: UploadTarget, raw: bytes, encoding: str) -> tuple[int, dict[str, Any]]:
        """Validate and store one POSTed body; returns the status and the JSON answer."""
        gzipped = encoding == "gzip"
        text = wire.gunzip(raw) if gzipped else raw
        doc = wire.parse_json_object(text)
        violation = check_upload(target, doc)
        if violation is not None:
            raise Reject(400, violation.reason)
        if not store_document(self.engine, target, doc, text, raw if gzipped else None):
            return 409, {"status": "duplicate", "document_id": target.document_id}
        return 201, {"status": "stored", "document_id": target.document_id}


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
    ) -> None:
        create_server = require("waitress.server").create_server
        self.engine = open_receiver_db(db)
        self.app = ReceiverApp(
            self.engine, max_body=max_body, max_in_flight=max_in_flight, middleware=middleware
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
        )
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
