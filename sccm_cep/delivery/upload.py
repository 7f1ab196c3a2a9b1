"""One document to the receiver over HTTPS: endpoint rules, retries with backoff and jitter,
``Retry-After``, and the answers that count as success, retry later or quarantine.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import random
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx

from sccm_cep.contract.signing import DocumentSignature
from sccm_cep.contract.upload import upload_path
from sccm_cep.delivery.answers import answer_json, is_duplicate, refusal_reason, retry_after, seconds_until
from sccm_cep.errors import ConfigError, ExitCode, SccmCepError
from sccm_cep.platform.config import data_dir, resolve_secret

__all__ = [
    "DEFAULT_MAX_BYTES",
    "BundleError",
    "DeliveryError",
    "DeliverySettings",
    "Document",
    "EndpointUnreachable",
    "Outcome",
    "UploadStatus",
    "Uploader",
    "check_endpoint",
]

log = logging.getLogger("sccm_cep.delivery")

DEFAULT_MAX_BYTES = 16 * 1024 * 1024  # gzip bytes on the wire; the reference receiver's default too
RETRYABLE_STATUS = frozenset({429, 502, 503, 504})
SUCCESS_STATUS = frozenset({200, 201, 202})
CONFIG_FILE = "delivery.json"


class DeliveryError(SccmCepError):
    """Sending to the vendor's receiver failed."""

    phase = "delivery"


class EndpointUnreachable(DeliveryError):
    """The receiver did not answer after the attempts of this run; a later run retries."""

    exit_code = ExitCode.UNREACHABLE
    retryable = True


class BundleError(DeliveryError):
    """An offline bundle or receipts file is not intact or not ours."""

    exit_code = ExitCode.BUNDLE


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


#: The real wait between attempts. ``DeliverySettings``' default ``sleep`` looks it up at each
#: call, so a test driving a whole command (which builds its own settings) can replace it here.
pause: Callable[[float], None] = time.sleep


def _pause(seconds: float) -> None:
    pause(seconds)


@dataclass(frozen=True)
class DeliverySettings:
    """How to reach the receiver and how hard to try. ``transport``, ``sleep``, ``clock`` and
    ``rng`` are seams for tests; the defaults are the real network, time and randomness."""

    endpoint: str | None = None
    ca_bundle: Path | None = None
    proxy: str | None = None
    #: A secret reference (``env:NAME``, ``file:PATH``, ``keyring:SERVICE/USER``) to the
    #: receiver's enrollment token, for a vendor with closed enrollment; resolved at use.
    token_ref: str | None = None
    max_attempts: int = 5
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    #: A Retry-After longer than this is not slept through: the document waits for a later run.
    max_wait: float = 120.0
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_bytes: int = DEFAULT_MAX_BYTES
    retention_days: int = 365
    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] = _pause
    clock: Callable[[], datetime] = _utcnow
    rng: random.Random = field(default_factory=random.Random)

    @classmethod
    def resolve(
        cls,
        *,
        endpoint: str | None = None,
        ca_bundle: Path | None = None,
        proxy: str | None = None,
        max_attempts: int | None = None,
        retention_days: int | None = None,
        **seams: Any,
    ) -> DeliverySettings:
        """Options first, then ``SCCM_CEP_ENDPOINT`` / ``SCCM_CEP_RETENTION_DAYS`` /
        ``SCCM_CEP_TOKEN``, then the data folder's ``delivery.json`` (keys ``endpoint``,
        ``ca_bundle``, ``proxy``, ``token``, ``retention_days``)."""
        conf = _config_file()
        env_days = os.environ.get("SCCM_CEP_RETENTION_DAYS")
        days = retention_days
        if days is None and env_days:
            try:
                days = int(env_days)
            except ValueError as exc:
                raise ConfigError("SCCM_CEP_RETENTION_DAYS is not a whole number", hint="e.g. 365") from exc
        if days is None:
            days = int(conf.get("retention_days", 365))
        if days < 0:
            raise ConfigError("the retention period cannot be negative", hint="e.g. --retention-days 365")
        ca = ca_bundle or (Path(conf["ca_bundle"]) if conf.get("ca_bundle") else None)
        return cls(
            endpoint=endpoint or os.environ.get("SCCM_CEP_ENDPOINT") or conf.get("endpoint"),
            ca_bundle=ca,
            proxy=proxy or conf.get("proxy"),
            token_ref=os.environ.get("SCCM_CEP_TOKEN") or conf.get("token"),
            max_attempts=max_attempts or 5,
            retention_days=days,
            **seams,
        )


def _config_file() -> dict[str, Any]:
    path = data_dir() / CONFIG_FILE
    if not path.exists():
        return {}
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path} cannot be read as JSON", hint="fix or remove the file") from exc
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path} must hold a JSON object", hint='e.g. {"endpoint": "https://..."}')
    return loaded


def check_endpoint(endpoint: str | None) -> str:
    """The endpoint without a trailing slash; https://, or http:// to a loopback address only."""
    if not endpoint:
        raise ConfigError(
            "no endpoint to send to",
            hint="give --endpoint https://..., set SCCM_CEP_ENDPOINT, or 'endpoint' in delivery.json",
        )
    try:
        url = httpx.URL(endpoint)
    except (httpx.InvalidURL, ValueError) as exc:
        raise ConfigError("the endpoint is not a valid URL", hint="e.g. https://cep.example.com") from exc
    if url.userinfo:
        raise ConfigError(
            "the endpoint must not carry a user name or password", hint="remove it from the URL"
        )
    if url.scheme == "http" and not _is_loopback(url.host):
        raise ConfigError(
            "plain http:// is accepted only for a receiver on this machine (loopback)",
            hint="use an https:// endpoint",
        )
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigError("the endpoint must be an https:// URL", hint="e.g. https://cep.example.com")
    return str(url).rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class Document:
    """What one POST carries: the gzip of a document's exact bytes, where it goes, and the
    site's signature of it (sent as headers; None for documents queued before signatures)."""

    kind: str
    schema_version: str
    document_id: str
    body: bytes  # gzip
    signature: DocumentSignature | None = None

    def headers(self) -> dict[str, str]:
        """The request headers: gzip JSON, and the signature headers when it is signed."""
        out = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
        return out | (self.signature.headers() if self.signature is not None else {})

    def path(self) -> str:
        return upload_path(self.kind, self.schema_version, self.document_id)


class UploadStatus(StrEnum):
    """What became of one document in a run (the strings are shown and stored as they are)."""

    #: Accepted, also when the receiver already had it.
    SENT = "sent"
    #: The receiver asked us to come back later (429, 503).
    WAITING = "waiting"
    #: No answer, or a gateway error.
    UNREACHABLE = "unreachable"
    #: Another server error; a later run retries.
    FAILED = "failed"
    #: Refused: never retried.
    QUARANTINED = "quarantined"

    @property
    def final(self) -> bool:
        """No further try in this run."""
        return self in (UploadStatus.SENT, UploadStatus.QUARANTINED, UploadStatus.FAILED)


def exit_code_of(statuses: Iterable[str]) -> ExitCode:
    """The exit code of a send or bundle upload: any refusal 11, else any document the receiver
    did not take 4 (a later run retries), else 0."""
    seen = set(statuses)
    if UploadStatus.QUARANTINED in seen:
        return ExitCode.QUARANTINED
    if seen & {UploadStatus.UNREACHABLE, UploadStatus.FAILED}:
        return ExitCode.UNREACHABLE
    return ExitCode.OK


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one document in this run (``status``: see ``UploadStatus``)."""

    status: UploadStatus
    attempts: int
    code: int | None = None
    reason: str = ""
    retry_at: datetime | None = None


def tls_context(ca_bundle: Path | None = None) -> ssl.SSLContext:
    """How the receiver's certificate is validated (always, with its host name).

    By default against the operating system's trust store (truststore): on Windows the
    certificate store, so an enterprise CA deployed by group policy is trusted as the
    browser trusts it; elsewhere OpenSSL's system store. ``ca_bundle`` trusts only that file.
    """
    if ca_bundle is not None:
        if not ca_bundle.is_file():
            raise ConfigError(f"CA bundle {ca_bundle} does not exist", hint="check --ca-bundle")
        return ssl.create_default_context(cafile=str(ca_bundle))
    import truststore

    context: ssl.SSLContext = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return context


def _authorization(token_ref: str | None) -> dict[str, str]:
    """The ``Authorization`` header for a receiver with closed enrollment (none without one).
    The token is a secret: only its reference is configured, and it is never printed."""
    if not token_ref:
        return {}
    token = resolve_secret(token_ref).strip()
    if not token or any(c.isspace() for c in token):
        raise ConfigError(
            "the enrollment token is empty or holds white space", hint="check SCCM_CEP_TOKEN / delivery.json"
        )
    return {"Authorization": f"Bearer {token}"}


class Uploader:
    """An HTTP client for one run: certificate validation on, explicit timeouts, proxies from
    the standard environment variables or ``proxy`` (https only: plain http goes to loopback
    directly, never through a proxy)."""

    def __init__(self, settings: DeliverySettings) -> None:
        self.settings = settings
        self.endpoint = check_endpoint(settings.endpoint)
        clear = httpx.URL(self.endpoint).scheme == "http"
        if clear and settings.proxy:
            raise ConfigError(
                "a plain http:// endpoint is never reached through a proxy (the proxy would see the document)",
                hint="remove the proxy (--proxy, delivery.json) or use an https:// endpoint",
            )
        self.client = httpx.Client(
            verify=tls_context(settings.ca_bundle),
            proxy=settings.proxy,
            transport=settings.transport,
            # Proxies from the environment (HTTP_PROXY, ALL_PROXY, ...) only for https: a
            # loopback http:// receiver is reached directly, whatever the environment says.
            trust_env=settings.proxy is None and not clear,
            timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
            follow_redirects=False,
            headers={"User-Agent": "sccm-cep", **_authorization(settings.token_ref)},
        )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Uploader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def deliver(self, doc: Document, *, text: Callable[[], bytes]) -> Outcome:
        """Send ``doc`` with up to ``max_attempts`` tries; ``text`` gives its JSON bytes (to keep
        a refusal reason from quoting it)."""
        s = self.settings
        if len(doc.body) > s.max_bytes:
            return Outcome(
                UploadStatus.QUARANTINED,
                0,
                reason=f"{len(doc.body):,} bytes gzip, over the {s.max_bytes:,}-byte limit; not sent",
            )
        last = Outcome(UploadStatus.UNREACHABLE, 0)
        for attempt in range(1, s.max_attempts + 1):
            last = self._once(doc, attempt, text)
            if last.status.final:
                return last
            wait = seconds_until(last.retry_at, s.clock())
            if wait is None:
                wait = s.rng.uniform(0, min(s.backoff_cap, s.backoff_base * 2 ** (attempt - 1)))
            if attempt == s.max_attempts or wait > s.max_wait:
                break
            log.info("%s: %s, retrying in %.1f s", doc.document_id, last.reason, wait)
            s.sleep(wait)
        retry_at = last.retry_at or s.clock() + timedelta(
            seconds=min(s.backoff_cap, s.backoff_base * 2**s.max_attempts)
        )
        return Outcome(last.status, last.attempts, last.code, last.reason, retry_at)

    def _once(self, doc: Document, attempt: int, text: Callable[[], bytes]) -> Outcome:
        try:
            response = self.client.post(
                self.endpoint + doc.path(),
                content=doc.body,
                headers=doc.headers(),
            )
        except httpx.TimeoutException:
            return Outcome(UploadStatus.UNREACHABLE, attempt, reason="timed out")
        except httpx.TransportError as exc:
            # The exception text can name hosts and proxies but never the document.
            return Outcome(
                UploadStatus.UNREACHABLE, attempt, reason=f"network error ({exc.__class__.__name__})"
            )
        code = response.status_code
        answer = answer_json(response)
        if code in SUCCESS_STATUS or (code == 409 and is_duplicate(answer, doc.document_id)):
            dup = " (the receiver already had it)" if is_duplicate(answer, doc.document_id) else ""
            return Outcome(UploadStatus.SENT, attempt, code, f"HTTP {code}{dup}")
        if code == 401:
            # Not the document's fault: the enrollment token is missing or wrong. Kept to retry
            # once it is set, never quarantined.
            return Outcome(
                UploadStatus.FAILED,
                attempt,
                code,
                "HTTP 401: the receiver needs an enrollment token (SCCM_CEP_TOKEN or 'token' in delivery.json)",
                self.settings.clock() + timedelta(seconds=self.settings.backoff_cap),
            )
        reason = f"HTTP {code}: {refusal_reason(response, answer, text)}"
        if code in RETRYABLE_STATUS:
            status = UploadStatus.WAITING if code in (429, 503) else UploadStatus.UNREACHABLE
            after = retry_after(response.headers.get("Retry-After"), self.settings.clock())
            return Outcome(status, attempt, code, reason, after)
        if 400 <= code < 500:
            # 413 included: the same bytes would be refused again, so it never loops.
            return Outcome(UploadStatus.QUARANTINED, attempt, code, reason)
        return Outcome(
            UploadStatus.FAILED,
            attempt,
            code,
            reason,
            self.settings.clock() + timedelta(seconds=self.settings.backoff_cap),
        )
