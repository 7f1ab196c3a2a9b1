"""The outbox's delivery states: pending → sending → sent | failed | quarantined, each change
committed on its own so a crash leaves a state the next run can finish; retention of sent bodies.
"""

from __future__ import annotations

import gzip
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update

from sccm_cep.collector.sites import find_site
from sccm_cep.collector.store import Outbox, Site, Store
from sccm_cep.delivery.testhook import pause_at
from sccm_cep.delivery.upload import DeliverySettings, Document, Outcome, Uploader
from sccm_cep.errors import ConfigError

__all__ = [
    "RETRY_STATES",
    "SendReport",
    "Sent",
    "apply_retention",
    "count_unsent",
    "document_of",
    "send_pending",
    "show_document",
]

log = logging.getLogger("sccm_cep.delivery")

#: States a run sends: ``sending`` is what a crash mid-send leaves (the receiver de-duplicates).
RETRY_STATES = ("pending", "sending", "failed")


@dataclass(frozen=True, slots=True)
class Sent:
    """One document's result in a run (never its content)."""

    site: str
    document_id: str
    kind: str
    status: str
    attempts: int
    code: int | None
    reason: str
    retry_at: str | None

    def as_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


_SUMMARY_WORDS = (
    ("sent", "sent"),
    ("waiting", "waiting for the receiver"),
    ("unreachable", "not delivered, the receiver is unreachable"),
    ("failed", "failed on the receiver"),
    ("quarantined", "quarantined"),
)


@dataclass(frozen=True, slots=True)
class SendReport:
    """What ``send`` (or the end of ``run --due``) did; ``exit_code`` is 0, 4 or 11."""

    results: tuple[Sent, ...] = ()
    dropped_bodies: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        statuses = {r.status for r in self.results}
        if "quarantined" in statuses:
            return 11
        if statuses & {"unreachable", "failed"}:
            return 4
        return 0

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
            if retry and status != "quarantined":
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


def document_of(row: Outbox) -> Document:
    """The POST for an outbox row: its kind, the schema version inside it, its id, its gzip."""
    if row.body is None:
        raise ConfigError(
            f"document {row.document_id} has no body any more (dropped after the retention period)",
            hint="only its id, sha256 and size are kept",
        )
    head = json.loads(gzip.decompress(row.body))
    return Document(row.kind, str(head.get("schema_version", "1.0")), row.document_id, row.body)


def send_pending(
    store: Store, settings: DeliverySettings, *, site: str | None = None, honour_backoff: bool = True
) -> SendReport:
    """Send every document that is due (pending, failed or left ``sending``, and past its
    next attempt time), then drop sent bodies older than the retention period.

    ``honour_backoff=False`` also tries documents still waiting for their next attempt time:
    an operator who runs ``send`` wants them sent now; the scheduled run keeps the back-off.
    """
    pause_at("outbox-committed")
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
        counts[r.status] = counts.get(r.status, 0) + 1
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
            .values(state="sending", attempts=Outbox.attempts + 1)
        )
        session.commit()
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None
    body = row.body or b""
    pause_at("upload")
    outcome = uploader.deliver(doc, text=lambda: gzip.decompress(body))
    pause_at("posted")
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
    values: dict[str, Any] = {"last_status": outcome.reason or outcome.status}
    if outcome.attempts > 1:
        values["attempts"] = Outbox.attempts + (outcome.attempts - 1)
    if outcome.status == "sent":
        values |= {"state": "sent", "sent_at": now, "next_attempt_at": None}
    elif outcome.status == "quarantined":
        values |= {"state": "quarantined", "next_attempt_at": None}
    elif outcome.status == "failed":
        values |= {"state": "failed", "next_attempt_at": outcome.retry_at}
    else:  # waiting / unreachable: a later run retries
        values |= {"state": "pending", "next_attempt_at": outcome.retry_at}
    with store.session() as session:
        session.execute(update(Outbox).where(Outbox.id == row_id, Outbox.state == "sending").values(**values))
        row = session.get(Outbox, row_id)
        store.audit(
            session,
            f"send.{outcome.status}",
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
            .where(Outbox.state == "sent", Outbox.sent_at.is_not(None), Outbox.sent_at < cutoff)
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
        query = select(Outbox, Site.code).join(Site, Site.id == Outbox.site_id)
        if ref.isdigit():
            query = query.where(Outbox.id == int(ref))
        else:
            query = query.where(Outbox.document_id == ref.lower())
        found = session.execute(query).first()
    if found is None:
        raise ConfigError(f"no outbox document {ref}", hint="see 'sccm-cep outbox list'")
    row, code = found
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
    return meta, None if row.body is None else gzip.decompress(row.body).decode("utf-8")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value else None
