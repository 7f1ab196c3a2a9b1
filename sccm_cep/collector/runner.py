"""``run --due``: for every joined site, take the period's submission when one is due, once.

Each site is worked under its lock (a file lock on SQLite, a row lock with SKIP LOCKED on
PostgreSQL); the due check is repeated under the lock, and the outbox's unique key on
(site, kind, period, revision) refuses a second document for a period even if two hosts
raced past every other guard. A failed run leaves no document and no half-written state.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sccm_cep.collector.cadence import Cadence, Period, due_period, parse_period
from sccm_cep.collector.contributor import contributor_pseudonym
from sccm_cep.collector.directory import coverage_source
from sccm_cep.collector.keys import record_site_pseudonyms, signing_key, site_secret
from sccm_cep.collector.participation import (
    comment_to_send,
    current_enrollment,
    first_submission,
    taken_periods,
)
from sccm_cep.collector.sites import find_site, open_site_connectors
from sccm_cep.collector.store import Enrollment, Feedback, Outbox, OutboxState, Run, Site, Store, utcnow
from sccm_cep.collector.store.rows import DamagedRow, checked
from sccm_cep.connector import Connector
from sccm_cep.contract.signing import DocumentSignature
from sccm_cep.delivery.checkpoints import Step, reached
from sccm_cep.delivery.outbox import pending_from_file
from sccm_cep.errors import ConfigError, SccmCepError
from sccm_cep.export.pipeline import RECONFIRM_NOTE, run_export
from sccm_cep.model import Level
from sccm_cep.platform.workdir import private_workdir
from sccm_cep.privacy.approval import require_approval
from sccm_cep.privacy.policy import PolicySet

__all__ = ["RunOutcome", "open_sources", "run_due", "run_period"]

log = logging.getLogger("sccm_cep.collector.runner")


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """What happened to one site in one run."""

    site: str
    status: str  # taken | not-due | not-joined | busy | failed
    period: str | None = None
    document_id: str | None = None
    message: str | None = None
    exit_code: int = 0

    def as_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


def run_due(
    store: Store,
    policies: PolicySet,
    *,
    today: date,
    sites: tuple[str, ...] = (),
    progress: Callable[[str, int], None] | None = None,
) -> list[RunOutcome]:
    """Take every due submission; sites not joined or not due are reported, not touched.
    ``progress`` is handed to each export (``export.pipeline.collect``)."""
    with store.session() as session:
        query = select(Site).order_by(Site.code)
        if sites:
            query = query.where(Site.code.in_([s.upper() for s in sites]))
        read = list(checked(session, Site, query))
    targets = [(s.id, s.code) for s in read if not isinstance(s, DamagedRow)]
    if sites and len(read) != len(set(sites)):
        raise ConfigError("a --site given is not registered", hint="see 'sccm-cep site list'")
    # A damaged row fails its own site only, in one line; every other site is run.
    outcomes = [_damaged("?", s) for s in read if isinstance(s, DamagedRow)]
    # One look at every site, outside any lock: most days nothing is due anywhere.
    state = {site_id: _state(store, site_id, today) for site_id, _ in targets}
    if "due" in state.values():
        # A policy changed since it was approved: nothing is collected for any site.
        require_approval(store, policies)
    for site_id, code in targets:
        seen = state[site_id]
        try:
            if isinstance(seen, DamagedRow):
                raise seen
            outcomes.append(
                _take_due(store, policies, site_id, code, today, progress)
                if seen == "due"
                else RunOutcome(code, seen)
            )
        except DamagedRow as exc:
            outcomes.append(_damaged(code, exc))
    return outcomes


def _damaged(code: str, exc: DamagedRow) -> RunOutcome:
    log.warning("site %s: a damaged row of the state store was skipped (%s)", code, exc.table)
    return RunOutcome(code, "failed", message=exc.one_line(), exit_code=exc.exit_code)


def _state(store: Store, site_id: int, today: date) -> str | DamagedRow:
    """'not-joined', 'not-due' or 'due' for one site, as seen without its lock (or the damaged
    row that keeps it from being seen)."""
    with store.session() as session:
        site = session.get(Site, site_id)
        try:
            enrollment = current_enrollment(session, site) if site else None
        except DamagedRow as exc:
            return exc
        if site is None or enrollment is None:
            return "not-joined"
        return "not-due" if _due(session, site, enrollment, today) is None else "due"


def _take_due(
    store: Store,
    policies: PolicySet,
    site_id: int,
    code: str,
    today: date,
    progress: Callable[[str, int], None] | None = None,
) -> RunOutcome:
    """Under the site's lock, check again (another run may have just taken it), then take it."""
    with store.site_lock(site_id, code) as locked:
        if locked is None:
            return RunOutcome(code, "busy", message="another run holds this site")
        site = locked.get(Site, site_id)
        assert site is not None
        enrollment = current_enrollment(locked, site)
        period = _due(locked, site, enrollment, today) if enrollment else None
        if enrollment is None or period is None:
            return RunOutcome(code, "not-due")
        return _take(store, locked, policies, site, enrollment, period.key, revision=0, progress=progress)


def _due(session: Session, site: Site, enrollment: Enrollment, today: date) -> Period | None:
    return due_period(
        Cadence(enrollment.cadence),
        joined=enrollment.joined_on,
        today=today,
        taken=taken_periods(session, site),
        first_submission=first_submission(session, site, enrollment),
    )


def run_period(
    store: Store,
    policies: PolicySet,
    code: str,
    period: str,
    *,
    force: bool,
    progress: Callable[[str, int], None] | None = None,
) -> RunOutcome:
    """Take one named period. A period already taken needs ``force``: a new revision supersedes it."""
    try:
        parse_period(period)
    except ValueError as exc:
        raise ConfigError(str(exc), hint="e.g. --period 2026-Q4") from exc
    with store.session() as session:
        site = find_site(session, code)
        site_id, site_code = site.id, site.code
    with store.site_lock(site_id, site_code) as locked:
        if locked is None:
            return RunOutcome(site_code, "busy", period, message="another run holds this site")
        held = locked.get(Site, site_id)
        assert held is not None
        site = held
        enrollment = current_enrollment(locked, site)
        if enrollment is None:
            raise ConfigError(f"site {site_code} has not joined", hint="join first: sccm-cep join")
        require_approval(store, policies)
        revisions = locked.execute(
            select(func.max(Outbox.revision)).where(
                Outbox.site_id == site.id, Outbox.kind == "submission", Outbox.period == period
            )
        ).scalar()
        if revisions is not None and not force:
            raise ConfigError(
                f"period {period} of site {site_code} was already taken",
                hint="add --force to supersede it with a new revision",
            )
        revision = 0 if revisions is None else revisions + 1
        return _take(store, locked, policies, site, enrollment, period, revision=revision, progress=progress)


def _take(
    store: Store,
    session: Session,
    policies: PolicySet,
    site: Site,
    enrollment: Enrollment,
    period: str,
    *,
    revision: int,
    progress: Callable[[str, int], None] | None = None,
) -> RunOutcome:
    run = Run(
        site_id=site.id, period=period, started_at=utcnow(), status="running", host=socket.gethostname()
    )
    previous = None
    if revision:
        previous = session.execute(
            select(Outbox).where(
                Outbox.site_id == site.id,
                Outbox.kind == "submission",
                Outbox.period == period,
                Outbox.revision == revision - 1,
            )
        ).scalar_one_or_none()
    # The latest answer not yet carried goes out with this submission ("not asked, not sent");
    # its comment only as a person confirmed it.
    answer = session.execute(
        select(Feedback)
        .where(Feedback.site_id == site.id, Feedback.sent_in.is_(None))
        .order_by(Feedback.created_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    try:
        row, pseudonym, reconfirm = _export(
            store,
            site,
            policies,
            enrollment,
            period,
            revision,
            (answer.score, comment_to_send(answer)) if answer else None,
            previous.document_id if previous else None,
            progress,
        )
    except SccmCepError as exc:
        session.rollback()
        _record_failure(store, site, period, exc)
        # The exit code and phase only: a message can quote what the site returned.
        log.warning("site %s %s: failed in %s (exit %d)", site.code, period, exc.phase, exc.exit_code)
        return RunOutcome(site.code, "failed", period, message=exc.one_line(), exit_code=exc.exit_code)
    doc_id = row.document_id
    session.add(row)
    # What a later deletion request must name, even after the key is rotated.
    record_site_pseudonyms(session, site, [pseudonym])
    if previous is not None and previous.state != "sent":
        previous.state = OutboxState.SUPERSEDED
    if answer is not None:
        answer.sent_in = doc_id
    run.status, run.finished_at = "ok", utcnow()
    session.add(run)
    store.audit(session, "run", site=site.code, period=period, revision=revision, document_id=doc_id)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return RunOutcome(site.code, "not-due", period, message="already taken by another run")
    log.info("site %s %s: taken as document %s (revision %d)", site.code, period, doc_id, revision)
    if reconfirm:
        log.warning("site %s %s: %s", site.code, period, RECONFIRM_NOTE)
        return RunOutcome(site.code, "taken", period, doc_id, message=RECONFIRM_NOTE)
    return RunOutcome(site.code, "taken", period, doc_id)


def open_sources(site: Site) -> list[Connector]:
    """Every source a run of ``site`` reads, opened: its registered connectors (database first,
    then WinRM) and, for a site registered from AD, the AD coverage source."""
    opened = open_site_connectors(site)
    connection = json.loads(site.ad_info).get("connection") if site.ad_info else None
    if connection:
        try:
            opened.append(coverage_source(opened[0], connection))
        except BaseException:
            for each in opened:
                each.close()
            raise
    return opened


def _export(
    store: Store,
    site: Site,
    policies: PolicySet,
    enrollment: Enrollment,
    period: str,
    revision: int,
    feedback: tuple[int, str | None] | None,
    supersedes: str | None,
    progress: Callable[[str, int], None] | None = None,
) -> tuple[Outbox, str, bool]:
    """Write the period's document to a private temporary folder and hand the file to the outbox;
    with the outbox row, the site pseudonym the document carries, and whether the feedback
    comment was held back to be confirmed again."""
    secret = site_secret(site)
    key = signing_key(site)
    contributor = contributor_pseudonym(store, create=True)
    opened = open_sources(site)
    try:
        with private_workdir("run-") as tmp:
            result = run_export(
                opened,
                policies,
                level=Level(enrollment.level),
                period=period,
                secret_for=lambda _code: secret,
                out_dir=Path(tmp),
                site_code=site.code,
                feedback=feedback,
                revision=revision,
                supersedes=supersedes,
                contributor=contributor,
                progress=progress,
            )
            reached(Step.EXPORT)  # a crash point the kill tests stop at: written, not in the outbox
            written = result.written
            row = pending_from_file(
                site.id, "submission", period, revision, written.document_id, written.path
            )
            # Signed as it enters the outbox: what is sent later is what the site signed.
            row.signature = DocumentSignature.make(key, row.kind, row.document_id, row.sha256).to_text()
            reconfirm = RECONFIRM_NOTE in result.notes
            return row, secret.pseudonym("site", site.code), reconfirm
    finally:
        for each in opened:
            each.close()


def _record_failure(store: Store, site: Site, period: str, exc: SccmCepError) -> None:
    with store.session() as session:
        session.add(
            Run(
                site_id=site.id,
                period=period,
                started_at=utcnow(),
                finished_at=utcnow(),
                status="failed",
                message=exc.one_line(),
                host=socket.gethostname(),
            )
        )
        store.audit(session, "run.failed", site=site.code, period=period, error=exc.__class__.__name__)
        session.commit()
