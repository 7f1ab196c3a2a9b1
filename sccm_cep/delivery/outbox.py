"""The outbox's delivery states: pending → sending → sent | failed | quarantined, each change
committed on its own so a crash leaves a state the next run can finish; retention of sent bodies.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select, update

from sccm_cep.collector.sites import find_site
from sccm_cep.collector.store import Outbox, OutboxState, Site, Store
from sccm_cep.collector.store.rows import DamagedRow, first_checked
from sccm_cep.contract.signing import DocumentSignature, SignatureFormatError
from sccm_cep.delivery.checkpoints import Step, reached
from sccm_cep.delivery.upload import DeliverySettings, Document, Outcome, Uploader, UploadStatus, exit_code_of
from sccm_cep.errors import ConfigError, ExitCode

__all__ = [
    "RETRY_STATES",
    "SendReport",
    "Sent",
    "apply_retention",
    "body_damage",
    "count_unsent",
    "document_of",
    "pending_from_file",
    "send_pending",
    "show_document",
]

log = logging.getLogger("sccm_cep.delivery")

#: States a run sends: ``sending`` is what a crash mid-send leaves (the receiver de-duplicates).
RETRY_STATES = (OutboxState.PENDING, OutboxState.SENDING, OutboxState.FAILED)

#: The outbox state an upload outcome leaves (waiting / unreachable: a later run retries).
_STATE_AFTER = {
    UploadStatus.SENT: OutboxState.SENT,
    UploadStatus.QUARANTINED: OutboxState.QUARANTINED,
    UploadStatus.FAILED: OutboxState.FAILED,
    UploadStatus.WAITING: OutboxState.PENDING,
    UploadStatus.UNREACHABLE: OutboxState.PENDING,
}


@dataclass(frozen=True, slots=True)
class Sent:
    """One document's result in a run (never its content)."""

    site: str
    document_id: str
    kind: str
    status: UploadStatus
    attempts: int
    code: int | None
    reason: str
    retry_at: str | None

    def as_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


_SUMMARY_WORDS = (
    (UploadStatus.SENT, "sent"),
    (UploadStatus.WAITING, "waiting for the receiver"),
    (UploadStatus.UNREACHABLE, "not delivered, the receiver is unreachable"),
    (UploadStatus.FAILED, "failed on the receiver"),
    (UploadStatus.QUARANTINED, "quarantined"),
)


@dataclass(frozen=True, slots=True)
class SendReport:
    """What ``send`` (or the end of ``run --due``) did; ``exit_code`` is 0, 4 or 11."""

    results: tuple[Sent, ...] = ()
    dropped_bodies: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def exit_code(self) -> ExitCode:
        return exit_code_of(r.status for r in self.results)

    def summary(self) -> str:
        """What was done, in one line: ``1 sent, 1 waiting for the receiver (next try 2026-11-30
        04:00 UTC)``, or ``nothing to send``."""
        if not self.results:
            return "nothing to send"
        parts = []
        for status, words in _SUMMARY_WORDS:
            done = [r for r in self.results if r.status == status]
            if not done:
                continue
            text = f"{len(done)} {words}"
            retry = min((r.retry_at for r in done if r.retry_at), default=None)
            if retry and status is not UploadStatus.QUARANTINED:
                when = datetime.fromisoformat(retry.removesuffix("Z"))
                text += f" (next try {when:%Y-%m-%d %H:%M} UTC)"
            parts.append(text)
        return ", ".join(parts)

    def as_json(self) -> dict[str, Any]:
        return {
            "results": [r.as_json() for r in self.results],
            "counts": self.counts,
            "dropped_bodies": self.dropped_bodies,
            "exit_code": self.exit_code,
        }


def pending_from_file(
    site_id: int, kind: str, period: str, revision: int, document_id: str, path: Path
) -> Outbox:
    """``Outbox.pending`` for a document on disk, gzipped and hashed as it is read in chunks:
    only the compressed body the row stores is ever held in memory."""
    digest, size, packed = hashlib.sha256(), 0, io.BytesIO()
    with path.open("rb") as source, gzip.GzipFile(fileobj=packed, mode="wb") as sink:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
            sink.write(chunk)
            size += len(chunk)
    row = Outbox.pending(site_id, kind, period, revision, document_id, b"")
    row.body, row.sha256, row.size = packed.getvalue(), digest.hexdigest(), size
    return row


def body_damage(body: bytes, sha256: str, size: int) -> str | None:
    """Why a stored gzip body is not the document that was written (None: it is): it must
    unpack, and its bytes must have the sha256 and size recorded when it was written. Read in
    chunks, so the check holds no more than the compressed body in memory."""
    digest, seen = hashlib.sha256(), 0
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(body), mode="rb") as unpacked:
            while chunk := unpacked.read(1 << 20):
                digest.update(chunk)
                seen += len(chunk)
                if seen > size:
                    return "the stored body is longer than the document written"
    except (OSError, EOFError, ValueError):
        return "the stored body is not a readable gzip"
    if seen != size or digest.hexdigest() != sha256:
        return "the stored body no longer matches the sha256 recorded when it was written"
    return None


def document_of(row: Outbox) -> Document:
    """The POST for an outbox row: its kind, schema version and id, and its gzip."""
    if row.body is None:
        raise ConfigError(
            f"document {row.document_id} has no body any more (dropped after the retention period)",
            hint="only its id, sha256 and size are kept",
        )
    return Document(row.kind, row.schema_version, row.document_id, row.body, _signature(row))


def _signature(row: Outbox) -> DocumentSignature | None:
    """The row's signature; None when it has none, or one that is damaged (``signature_damage``
    keeps such a row from being sent)."""
    try:
        return None if row.signature is None else DocumentSignature.from_text(row.signature)
    except SignatureFormatError:
        return None


def signature_damage(row: Outbox) -> str | None:
    """Why the row's stored signature cannot be sent (None: it can, or the row has none)."""
    if row.signature is None:
        return None
    try:
        DocumentSignature.from_text(row.signature)
    except SignatureFormatError as exc:
        return f"the stored signature is damaged ({exc})"
    return None


def send_pending(
    store: Store, settings: DeliverySettings, *, site: str | None = None, honour_backoff: bool = True
) -> SendReport:
    """Send every document that is due (pending, failed or left ``sending``, and past its
    next attempt time), then drop sent bodies older than the retention period.

    ``honour_backoff=False`` also tries documents still waiting for their next attempt time:
    an operator who runs ``send`` wants them sent now; the scheduled run keeps the back-off.
    """
    reached(Step.OUTBOX_COMMITTED)
    now = settings.clock()
    with store.session() as session:
        query = (
            select(Outbox.id, Site.code)
            .join(Site, Site.id == Outbox.site_id)
            .where(Outbox.state.in_(RETRY_STATES))
            .order_by(Outbox.id)
        )
        if honour_backoff:
            query = query.where(or_(Outbox.next_attempt_at.is_(None), Outbox.next_attempt_at <= now))
        if site:
            query = query.where(Site.id == find_site(session, site).id)
        due = [(row_id, code) for row_id, code in session.execute(query)]
    results: list[Sent] = []
    if due:
        with Uploader(settings) as uploader:
            for row_id, code in due:
                sent = _send_one(store, uploader, row_id, code)
                if sent is not None:
                    results.append(sent)
    dropped = apply_retention(store, now=settings.clock(), days=settings.retention_days)
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status.value] = counts.get(r.status.value, 0) + 1
    return SendReport(tuple(results), dropped, counts)


def count_unsent(store: Store, *, sites: tuple[str, ...] = ()) -> int:
    """How many documents wait to be sent (pending, failed or left ``sending``), back-off or not."""
    with store.session() as session:
        query = (
            select(func.count(Outbox.id))
            .join(Site, Site.id == Outbox.site_id)
            .where(Outbox.state.in_(RETRY_STATES))
        )
        if sites:
            query = query.where(Site.code.in_([s.upper() for s in sites]))
        return int(session.execute(query).scalar_one())


def _send_one(store: Store, uploader: Uploader, row_id: int, code: str) -> Sent | None:
    with store.session() as session:
        row = session.get(Outbox, row_id)
        if row is None or row.state not in RETRY_STATES:
            return None
        doc = document_of(row)
        # Claim it only if nobody changed it since we read it; committed before the POST, so a
        # crash mid-send leaves 'sending', which the next run sends again.
        claimed = session.execute(
            update(Outbox)
            .where(Outbox.id == row_id, Outbox.state == row.state, Outbox.attempts == row.attempts)
            .values(state=OutboxState.SENDING, attempts=Outbox.attempts + 1)
        )
        session.commit()
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None
    body = row.body or b""
    damage = body_damage(body, row.sha256, row.size) or signature_damage(row)
    if damage is not None:
        # The stored bytes are no longer the document that was written: never send them. The
        # row keeps its body, so nothing is lost; re-export the period to replace it.
        outcome = Outcome(UploadStatus.QUARANTINED, 0, reason=f"{damage}; not sent, re-export the period")
    else:
        reached(Step.UPLOAD)
        outcome = uploader.deliver(doc, text=lambda: gzip.decompress(body))
    reached(Step.POSTED)
    _record(store, row_id, code, outcome, uploader.settings.clock())
    log.info("%s %s: %s", code, doc.document_id, outcome.status)
    return Sent(
        code,
        doc.document_id,
        doc.kind,
        outcome.status,
        outcome.attempts,
        outcome.code,
        outcome.reason,
        outcome.retry_at.isoformat(timespec="seconds") + "Z" if outcome.retry_at else None,
    )


def _record(store: Store, row_id: int, code: str, outcome: Outcome, now: datetime) -> None:
    state = _STATE_AFTER[outcome.status]
    values: dict[str, Any] = {
        "last_status": outcome.reason or outcome.status.value,
        "state": state,
        "next_attempt_at": None if state in (OutboxState.SENT, OutboxState.QUARANTINED) else outcome.retry_at,
    }
    if outcome.attempts > 1:
        values["attempts"] = Outbox.attempts + (outcome.attempts - 1)
    if state is OutboxState.SENT:
        values["sent_at"] = now
    with store.session() as session:
        session.execute(
            update(Outbox).where(Outbox.id == row_id, Outbox.state == OutboxState.SENDING).values(**values)
        )
        row = session.get(Outbox, row_id)
        store.audit(
            session,
            f"send.{outcome.status.value}",
            site=code,
            document_id=row.document_id if row else None,
            http_status=outcome.code,
        )
        session.commit()


def apply_retention(store: Store, *, now: datetime, days: int) -> int:
    """Drop the body of every document sent more than ``days`` ago; ids, sha256, size and
    dates stay. Returns how many bodies were dropped."""
    cutoff = now - timedelta(days=days)
    with store.session() as session:
        dropped = session.execute(
            update(Outbox)
            .where(Outbox.state == OutboxState.SENT, Outbox.sent_at.is_not(None), Outbox.sent_at < cutoff)
            .where(Outbox.body.is_not(None))
            .values(body=None)
        ).rowcount  # type: ignore[attr-defined]
        if dropped:
            store.audit(session, "outbox.retention", dropped=int(dropped), days=days)
        session.commit()
    return int(dropped or 0)


def show_document(store: Store, ref: str) -> tuple[dict[str, Any], str | None]:
    """An outbox row (by document_id or outbox id) and its stored JSON text (None once dropped)."""
    with store.session() as session:
        query = select(Outbox)
        if ref.isascii() and ref.isdigit() and len(ref) < 19:
            query = query.where(Outbox.id == int(ref))
        else:
            query = query.where(Outbox.document_id == ref.lower())
        row = first_checked(session, Outbox, query)  # DamagedRow (exit 14) for a damaged row
        site = first_checked(session, Site, select(Site).where(Site.id == row.site_id)) if row else None
        code = site.code if site else "?"
    if row is None:
        shown = ref if ref.isprintable() and len(ref) <= 64 else "of that id"
        raise ConfigError(f"no outbox document {shown}", hint="see 'sccm-cep outbox list'")
    try:
        text = None if row.body is None else gzip.decompress(row.body).decode("utf-8")
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        raise DamagedRow("outbox", row.id, "body") from exc
    meta = {
        "id": row.id,
        "site": code,
        "document_id": row.document_id,
        "kind": row.kind,
        "period": row.period,
        "revision": row.revision,
        "state": row.state,
        "created_at": _iso(row.created_at),
        "sent_at": _iso(row.sent_at),
        "attempts": row.attempts,
        "last_status": row.last_status,
        "size": row.size,
        "sha256": row.sha256,
    }
    return meta, text


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value else None
