"""SQLAlchemy models of the state store: sites, enrollments, runs, the outbox, approvals,
feedback and audit events. Secrets are never stored: only references to them.
"""

from __future__ import annotations

import gzip
import hashlib
from datetime import UTC, date, datetime
from enum import StrEnum

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from sccm_cep.contract.upload import CURRENT_VERSIONS, DocumentKind

__all__ = [
    "Approval",
    "AuditEvent",
    "Base",
    "Enrollment",
    "Feedback",
    "Outbox",
    "OutboxState",
    "Run",
    "Setting",
    "Site",
    "SiteKeyChange",
    "SitePseudonym",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Site(Base):
    """A registered SCCM site and how to reach it (credentials as references only)."""

    __tablename__ = "sites"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(3), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    db_url: Mapped[str | None] = mapped_column(Text)
    password_ref: Mapped[str | None] = mapped_column(Text)
    winrm_hosts: Mapped[str | None] = mapped_column(Text)  # JSON list of host names
    secret_ref: Mapped[str] = mapped_column(Text)
    key_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    ad_info: Mapped[str | None] = mapped_column(Text)  # JSON: what discovery found in AD


class SitePseudonym(Base):
    """A site pseudonym the site's documents were sent under, with the key version that made
    it: a deletion request names every one, so rotating the key does not strand what was sent
    before. Recorded when a submission is taken and when the key is rotated; never a secret.
    Two hosts may record the same one at once: duplicates are harmless, so none is refused."""

    __tablename__ = "site_pseudonyms"
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    key_version: Mapped[int] = mapped_column(Integer)
    pseudonym: Mapped[str] = mapped_column(String(32))
    recorded_at: Mapped[datetime] = mapped_column(DateTime)


class SiteKeyChange(Base):
    """A key change (``contract.signing.KeyChange``, canonical JSON) signed by the site's
    outgoing signing key at ``site rotate-key``: its deletion request carries every one, so the
    receiver deletes what earlier keys sent. Public, never a secret."""

    __tablename__ = "site_key_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    key_version: Mapped[int] = mapped_column(Integer)  # the version handed over to
    statement: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(DateTime)


class Enrollment(Base):
    """One participation: from joining to leaving. The current one has no ``left_at``."""

    __tablename__ = "enrollments"
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    joined_on: Mapped[date] = mapped_column(Date)
    joined_at: Mapped[datetime] = mapped_column(DateTime)
    joined_by: Mapped[str] = mapped_column(String(200))
    cadence: Mapped[str] = mapped_column(String(16))
    level: Mapped[str] = mapped_column(String(16))
    policy_digest: Mapped[str] = mapped_column(String(80))
    left_on: Mapped[date | None] = mapped_column(Date)
    left_at: Mapped[datetime | None] = mapped_column(DateTime)
    left_by: Mapped[str | None] = mapped_column(String(200))


class Run(Base):
    """One attempt to take a site's submission."""

    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    period: Mapped[str | None] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16))  # ok | failed
    message: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str | None] = mapped_column(String(255))


class OutboxState(StrEnum):
    """Where an outbox document is: pending → sending → sent | failed | quarantined, or
    superseded by a forced re-take. Stored as these strings."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    QUARANTINED = "quarantined"
    SUPERSEDED = "superseded"


class _OutboxStateColumn(TypeDecorator[str]):
    """VARCHAR(16) holding an ``OutboxState`` value: a write of any other string fails, a read
    gives the enum member."""

    impl = String(16)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else OutboxState(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else OutboxState(value)


class Outbox(Base):
    """A document waiting to be sent, or sent: the gzip of its exact bytes."""

    __tablename__ = "outbox"
    __table_args__ = (UniqueConstraint("site_id", "kind", "period", "revision", name="uq_outbox_period"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # submission | deletion-request
    period: Mapped[str] = mapped_column(String(32))
    revision: Mapped[int] = mapped_column(Integer, default=0)
    document_id: Mapped[str] = mapped_column(String(36), unique=True)
    #: The version of the document's schema, so sending it needs no parse of the body.
    schema_version: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(_OutboxStateColumn())  # an OutboxState
    created_at: Mapped[datetime] = mapped_column(DateTime)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_status: Mapped[str | None] = mapped_column(Text)
    #: When the receiver accepted it; the body is dropped a retention period later.
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: The site's signature of the document (``contract.signing.DocumentSignature`` as JSON),
    #: made when it entered the outbox; None for rows from before signatures.
    signature: Mapped[str | None] = mapped_column(Text)

    @classmethod
    def pending(
        cls,
        site_id: int,
        kind: str,
        period: str,
        revision: int,
        document_id: str,
        body: bytes,
        *,
        schema_version: str | None = None,
    ) -> Outbox:
        """A new document waiting to be sent: its exact bytes, gzipped, with their sha256.
        ``schema_version``: the one it was written in (default: what this release writes for
        ``kind``)."""
        return cls(
            site_id=site_id,
            kind=kind,
            period=period,
            revision=revision,
            document_id=document_id,
            schema_version=schema_version or CURRENT_VERSIONS[DocumentKind(kind)],
            state=OutboxState.PENDING,
            created_at=datetime.now(UTC).replace(tzinfo=None),
            body=gzip.compress(body),
            sha256=hashlib.sha256(body).hexdigest(),
            size=len(body),
            attempts=0,
        )


class Approval(Base):
    """A reviewer's approval of a policy digest."""

    __tablename__ = "approvals"
    id: Mapped[int] = mapped_column(primary_key=True)
    policy_digest: Mapped[str] = mapped_column(String(80), index=True)
    approved_by: Mapped[str] = mapped_column(String(200))
    approved_at: Mapped[datetime] = mapped_column(DateTime)
    note: Mapped[str | None] = mapped_column(Text)


class Feedback(Base):
    """The admin's 0-10 answer given in a period; it rides on the next submission taken.
    The comment is stored already scrubbed, and only as the admin confirmed that exact text;
    ``comment_sha256`` is the SHA-256 of it (UTF-8): a comment without a matching digest and a
    ``confirmed_at`` is never sent."""

    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("site_id", "period", name="uq_feedback_period"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    period: Mapped[str] = mapped_column(String(32))
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    #: The submission that carried the answer; None while it waits for the next one.
    sent_in: Mapped[str | None] = mapped_column(String(36))
    comment_sha256: Mapped[str | None] = mapped_column(String(64))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)
    confirmed_by: Mapped[str | None] = mapped_column(String(200))


class Setting(Base):
    """A value of the installation, by name (e.g. ``contributor_ref``: a secret reference,
    never a secret)."""

    __tablename__ = "settings"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class AuditEvent(Base):
    """Who did what, when. ``detail`` is JSON and never holds a secret or a site value."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    site_code: Mapped[str | None] = mapped_column(String(3))
    detail: Mapped[str | None] = mapped_column(Text)
