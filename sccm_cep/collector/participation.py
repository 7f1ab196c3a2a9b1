"""The program's promises: nothing before joining, everything stops at leaving, feedback only
when given. Join, leave (with a deletion request for the vendor), status and feedback.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sccm_cep.collector.cadence import Cadence, next_due_date, period_of
from sccm_cep.collector.keys import deletion_pseudonyms
from sccm_cep.collector.sites import find_site
from sccm_cep.collector.store import (
    Approval,
    Enrollment,
    Feedback,
    Outbox,
    OutboxState,
    Site,
    Store,
    utcnow,
)
from sccm_cep.contract.deletion import (
    DELETION_KIND,
    DELETION_SCHEMA,
    DELETION_SCHEMA_VERSION,
    deletion_request,
)
from sccm_cep.contract.submission import canonical_json
from sccm_cep.errors import ConfigError
from sccm_cep.model import RECORD_TYPES, Level
from sccm_cep.privacy.approval import save_snapshot
from sccm_cep.privacy.policy import PolicySet

__all__ = [
    "DELETION_SCHEMA",
    "SiteStatus",
    "collected_fields",
    "current_enrollment",
    "first_submission",
    "join",
    "leave",
    "outbox_rows",
    "record_feedback",
    "status",
    "taken_periods",
]

#: Unsent submissions a site's leaving purges from the outbox.
_UNSENT = (OutboxState.PENDING, OutboxState.FAILED, OutboxState.SENDING)


def collected_fields(policies: PolicySet, level: Level) -> dict[str, list[tuple[str, str, str]]]:
    """What joining at ``level`` collects: record → (field, action, purpose) for every sent field."""
    out: dict[str, list[tuple[str, str, str]]] = {}
    for rt in RECORD_TYPES:
        if not level.includes(rt.LEVEL):
            continue
        policy = policies[rt.NAME]
        out[rt.NAME] = [
            (name, policy.field(name).action.value, policy.field(name).purpose)
            for name in policy.sent_fields(level)
        ]
    return out


def current_enrollment(session: Session, site: Site) -> Enrollment | None:
    return session.execute(
        select(Enrollment).where(Enrollment.site_id == site.id, Enrollment.left_at.is_(None))
    ).scalar_one_or_none()


def taken_periods(session: Session, site: Site) -> set[str]:
    rows = session.execute(
        select(Outbox.period).where(Outbox.site_id == site.id, Outbox.kind == "submission")
    )
    return {r[0] for r in rows}


def join(
    store: Store,
    code: str,
    *,
    cadence: Cadence,
    level: Level,
    today: date,
    actor: str,
    policies: PolicySet,
    approved_at: datetime | None = None,
) -> Enrollment:
    """Join the program: records who and when, and the approval of the policy shown.

    ``approved_at`` (UTC) dates the approval, e.g. at ``--as-of``; default: now. The enrollment's
    ``joined_at`` stays the wall clock: the outbox rows it is compared with carry wall-clock times.
    """
    with store.session() as session:
        site = find_site(session, code)
        if current_enrollment(session, site) is not None:
            raise ConfigError(f"site {site.code} has already joined", hint="see 'sccm-cep status'")
        enrollment = Enrollment(
            site_id=site.id,
            joined_on=today,
            joined_at=utcnow(),
            joined_by=actor,
            cadence=cadence.value,
            level=level.value,
            policy_digest=policies.digest,
        )
        session.add(enrollment)
        session.add(
            Approval(
                policy_digest=policies.digest,
                approved_by=actor,
                approved_at=approved_at or utcnow(),
                note=f"shown when site {site.code} joined at level {level.value}",
            )
        )
        save_snapshot(policies)  # what the admin was shown, for 'fields --against' later
        store.audit(
            session,
            "join",
            site=site.code,
            actor=actor,
            cadence=cadence.value,
            level=level.value,
            policy_digest=policies.digest,
            as_of=today.isoformat(),
        )
        session.commit()
        return enrollment


def leave(store: Store, code: str, *, today: date, actor: str) -> tuple[int, str]:
    """Leave at once: purge unsent submissions and queue one deletion request.

    Returns the number of purged documents and the deletion request's document id.
    """
    with store.session() as session:
        site = find_site(session, code)
        enrollment = current_enrollment(session, site)
        if enrollment is None:
            raise ConfigError(f"site {site.code} has not joined", hint="see 'sccm-cep status'")
        enrollment.left_on = today
        enrollment.left_at = utcnow()
        enrollment.left_by = actor
        purged = session.execute(  # type: ignore[attr-defined]
            delete(Outbox).where(
                Outbox.site_id == site.id,
                Outbox.kind == "submission",
                Outbox.state.in_(_UNSENT),
            )
        ).rowcount
        body, doc_id = _deletion_request(session, site, today)
        session.add(
            Outbox.pending(
                site.id,
                DELETION_KIND,
                today.isoformat(),
                0,
                doc_id,
                body,
                schema_version=DELETION_SCHEMA_VERSION,
            )
        )
        store.audit(
            session,
            "leave",
            site=site.code,
            actor=actor,
            purged=purged,
            deletion_request=doc_id,
            as_of=today.isoformat(),
        )
        session.commit()
        return int(purged or 0), doc_id


def _deletion_request(session: Session, site: Site, today: date) -> tuple[bytes, str]:
    """The document asking the vendor to delete what this site sent: under the pseudonym of its
    current key, and under every earlier one (earlier key versions, the derivation before
    per-site keys)."""
    current, earlier = deletion_pseudonyms(session, site)
    doc = deletion_request(current, today, earlier_sites=earlier)
    return canonical_json(doc).encode(), str(doc["document_id"])


def record_feedback(store: Store, code: str, *, score: int, comment: str | None, today: date) -> str:
    """Store the admin's answer for the current period; it goes out with the next submission."""
    if not 0 <= score <= 10:
        raise ConfigError("the score must be a whole number from 0 to 10", hint="e.g. --score 8")
    from sccm_cep.privacy.scrub import scrub

    with store.session() as session:
        site = find_site(session, code)
        enrollment = current_enrollment(session, site)
        if enrollment is None:
            raise ConfigError(f"site {site.code} has not joined", hint="join first: sccm-cep join")
        period = period_of(
            Cadence(enrollment.cadence), today, first_submission=first_submission(session, site, enrollment)
        ).key
        clean = scrub(comment) if comment else None
        row = session.execute(
            select(Feedback).where(Feedback.site_id == site.id, Feedback.period == period)
        ).scalar_one_or_none()
        if row is None:
            session.add(
                Feedback(site_id=site.id, period=period, score=score, comment=clean, created_at=utcnow())
            )
        else:
            row.score, row.comment, row.created_at, row.sent_in = score, clean, utcnow(), None
        store.audit(session, "feedback", site=site.code, period=period)
        session.commit()
        return period


def first_submission(session: Session, site: Site, enrollment: Enrollment) -> date | None:
    """Where biweekly windows start: the first window this enrollment took (None before it)."""
    key = session.execute(
        select(Outbox.period)
        .where(
            Outbox.site_id == site.id,
            Outbox.kind == "submission",
            Outbox.created_at >= enrollment.joined_at,
            Outbox.period.like("%/P14D"),
        )
        .order_by(Outbox.period)
        .limit(1)
    ).scalar_one_or_none()
    return date.fromisoformat(key[:10]) if key else None


@dataclass(frozen=True, slots=True)
class SiteStatus:
    code: str
    name: str | None
    joined: bool
    level: str | None
    cadence: str | None
    joined_on: str | None
    last_period: str | None
    last_created_at: str | None
    last_state: str | None
    next_due: str | None

    def as_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


def status(store: Store, *, today: date) -> list[SiteStatus]:
    out: list[SiteStatus] = []
    with store.session() as session:
        for site in session.execute(select(Site).order_by(Site.code)).scalars():
            enrollment = current_enrollment(session, site)
            last = session.execute(
                select(Outbox)
                .where(Outbox.site_id == site.id, Outbox.kind == "submission")
                .order_by(Outbox.created_at.desc(), Outbox.id.desc())
                .limit(1)
            ).scalar_one_or_none()
            nxt = None
            if enrollment is not None:
                due = next_due_date(
                    Cadence(enrollment.cadence),
                    joined=enrollment.joined_on,
                    today=today,
                    taken=taken_periods(session, site),
                    first_submission=first_submission(session, site, enrollment),
                )
                nxt = due.isoformat() if due else None
            out.append(
                SiteStatus(
                    code=site.code,
                    name=site.name,
                    joined=enrollment is not None,
                    level=enrollment.level if enrollment else None,
                    cadence=enrollment.cadence if enrollment else None,
                    joined_on=enrollment.joined_on.isoformat() if enrollment else None,
                    last_period=last.period if last else None,
                    last_created_at=last.created_at.isoformat(timespec="seconds") + "Z" if last else None,
                    last_state=last.state if last else None,
                    next_due=nxt,
                )
            )
    return out


def outbox_rows(store: Store, *, site: str | None = None) -> list[dict[str, Any]]:
    """Every document the store holds (submissions and deletion requests), oldest first."""
    with store.session() as session:
        query = select(Outbox, Site.code).join(Site, Site.id == Outbox.site_id).order_by(Outbox.id)
        if site:
            query = query.where(Site.code == site.upper())
        return [
            {
                "site": code,
                "period": row.period,
                "document_id": row.document_id,
                "kind": row.kind,
                "revision": row.revision,
                "state": row.state,
                "created_at": row.created_at.isoformat(timespec="seconds") + "Z",
                "size": row.size,
                "sha256": row.sha256,
            }
            for row, code in session.execute(query)
        ]
