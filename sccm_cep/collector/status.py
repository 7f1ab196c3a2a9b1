"""Where each site stands: joined or not, at which level and cadence, its last submission and
the next one due. Reads the state store only, so ``sccm-cep status`` (and the runner's due
check) need none of the key, policy or anonymizer machinery that joining and leaving use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sccm_cep.collector.cadence import Cadence, next_due_date
from sccm_cep.collector.store import Enrollment, Outbox, Site, Store
from sccm_cep.collector.store.rows import DamagedRow, checked, first_checked, readable

__all__ = ["SiteStatus", "current_enrollment", "first_submission", "status", "taken_periods"]


def current_enrollment(session: Session, site: Site) -> Enrollment | None:
    """The site's enrollment that has not been left; DamagedRow when that row cannot be read."""
    return first_checked(
        session,
        Enrollment,
        select(Enrollment).where(Enrollment.site_id == site.id, Enrollment.left_at.is_(None)),
    )


def taken_periods(session: Session, site: Site) -> set[str]:
    rows = session.execute(
        select(Outbox.period).where(Outbox.site_id == site.id, Outbox.kind == "submission")
    )
    return {r[0] for r in rows}


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


def status(store: Store, *, today: date) -> tuple[list[SiteStatus], list[DamagedRow]]:
    """Every site's status, and the rows that could not be read (each skips its site only)."""
    with store.session() as session:
        sites = checked(session, Site, select(Site).order_by(Site.code))
        return readable(sites, lambda site: _site_status(session, site, today))


def _site_status(session: Session, site: Site, today: date) -> SiteStatus:
    """One site's status; DamagedRow when its enrollment or last submission cannot be read."""
    enrollment = current_enrollment(session, site)
    last = first_checked(
        session,
        Outbox,
        select(Outbox)
        .where(Outbox.site_id == site.id, Outbox.kind == "submission")
        .order_by(Outbox.created_at.desc(), Outbox.id.desc()),
    )
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
    return SiteStatus(
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
