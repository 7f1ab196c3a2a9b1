"""The program's promises: nothing before joining, everything stops at leaving, feedback only
when given, free text only as a person confirmed it. Join, leave (with a deletion request for
the vendor), status and feedback.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sccm_cep.collector.cadence import Cadence, period_of
from sccm_cep.collector.contributor import contributor_pseudonym, set_contributor
from sccm_cep.collector.keys import deletion_pseudonyms, held_secrets, signing_key
from sccm_cep.collector.signing_keys import key_changes
from sccm_cep.collector.sites import find_site
from sccm_cep.collector.status import (
    SiteStatus,
    current_enrollment,
    first_submission,
    status,
    taken_periods,
)
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
from sccm_cep.collector.store.rows import DamagedRow, checked, readable
from sccm_cep.contract.deletion import (
    DELETION_KIND,
    DELETION_SCHEMA,
    DELETION_SCHEMA_VERSION,
    deletion_request,
)
from sccm_cep.contract.signing import DocumentSignature, public_key_text
from sccm_cep.contract.submission import canonical_json
from sccm_cep.errors import ConfigError, NotConfirmed
from sccm_cep.model import RECORD_TYPES, Level
from sccm_cep.privacy.approval import save_snapshot
from sccm_cep.privacy.policy import PolicySet

__all__ = [
    "DELETION_SCHEMA",
    "SiteStatus",
    "collected_fields",
    "comment_to_send",
    "current_enrollment",
    "first_submission",
    "join",
    "leave",
    "outbox_rows",
    "record_feedback",
    "scrubbed_comment",
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
    contributor: str | None = None,
) -> Enrollment:
    """Join the program: records who and when, and the approval of the policy shown.

    ``approved_at`` (UTC) dates the approval, e.g. at ``--as-of``; default: now. The enrollment's
    ``joined_at`` stays the wall clock: the outbox rows it is compared with carry wall-clock times.
    The installation's contributor secret is made at the first join, or taken from the
    ``contributor`` reference (the same on every collector of one organization).
    """
    with store.session() as session:
        site = find_site(session, code)
        if current_enrollment(session, site) is not None:
            raise ConfigError(f"site {site.code} has already joined", hint="see 'sccm-cep status'")
    set_contributor(store, contributor)
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
            # The key pair every document of the site is signed with (derived from the site
            # secret, see collector.keys.signing_key); its public half, never the private one.
            signing_key=public_key_text(signing_key(site)),
        )
        session.commit()
        return enrollment


def leave(store: Store, code: str, *, today: date, actor: str) -> tuple[int, str]:
    """Leave at once: purge unsent submissions and queue one deletion request.

    Returns the number of purged documents and the deletion request's document id.
    """
    contributor = contributor_pseudonym(store)  # recorded at join: no secret is needed
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
        body, doc_id = _deletion_request(session, site, today, contributor)
        row = Outbox.pending(
            site.id, DELETION_KIND, today.isoformat(), 0, doc_id, body, schema_version=DELETION_SCHEMA_VERSION
        )
        # Signed by the current key, with the key changes that hand every earlier key over to
        # it: the receiver deletes what an earlier pseudonym holds only with that proof.
        row.signature = DocumentSignature.make(
            signing_key(site), row.kind, doc_id, row.sha256, key_changes(session, site, held_secrets(site))
        ).to_text()
        session.add(row)
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


def _deletion_request(
    session: Session, site: Site, today: date, contributor: str | None
) -> tuple[bytes, str]:
    """The document asking the vendor to delete what this site sent: under the pseudonym of its
    current key, and under every earlier one (earlier key versions, the derivation before
    per-site keys)."""
    current, earlier = deletion_pseudonyms(session, site)
    doc = deletion_request(current, today, earlier_sites=earlier, contributor=contributor)
    return canonical_json(doc).encode(), str(doc["document_id"])


def scrubbed_comment(comment: str | None) -> str | None:
    """The comment as it would be sent: scrubbed (None when nothing is left). This exact text
    is what the admin confirms."""
    from sccm_cep.privacy.scrub import scrub

    return scrub(comment) if comment else None


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def record_feedback(
    store: Store,
    code: str,
    *,
    score: int,
    comment: str | None,
    today: date,
    confirmed_text: str | None = None,
    actor: str | None = None,
) -> str:
    """Store the admin's answer for the current period; it goes out with the next submission.

    A comment is kept only scrubbed, and only when ``confirmed_text`` is exactly (byte for
    byte) the scrubbed text the admin was shown (``scrubbed_comment``); else nothing is stored.
    """
    if not 0 <= score <= 10:
        raise ConfigError("the score must be a whole number from 0 to 10", hint="e.g. --score 8")
    clean = scrubbed_comment(comment)
    if clean is not None and confirmed_text != clean:
        # Neither text is quoted: the message goes to logs, the admin saw the text already.
        raise NotConfirmed(
            "the confirmed text is not exactly the comment as it would be sent; nothing was stored",
            hint="run without --confirm-text to see the text and confirm it, or pass that exact"
            " text to --confirm-text",
        )
    with store.session() as session:
        site = find_site(session, code)
        enrollment = current_enrollment(session, site)
        if enrollment is None:
            raise ConfigError(f"site {site.code} has not joined", hint="join first: sccm-cep join")
        period = period_of(
            Cadence(enrollment.cadence), today, first_submission=first_submission(session, site, enrollment)
        ).key
        row = session.execute(
            select(Feedback).where(Feedback.site_id == site.id, Feedback.period == period)
        ).scalar_one_or_none()
        if row is None:
            row = Feedback(site_id=site.id, period=period)
            session.add(row)
        row.score, row.comment, row.created_at, row.sent_in = score, clean, utcnow(), None
        row.comment_sha256 = _digest(clean) if clean is not None else None
        row.confirmed_at = utcnow() if clean is not None else None
        row.confirmed_by = actor if clean is not None else None
        store.audit(session, "feedback", site=site.code, period=period, comment=clean is not None)
        session.commit()
        return period


def comment_to_send(answer: Feedback) -> str | None:
    """The answer's comment if a person confirmed exactly this text, else None: a comment
    stored before confirmations, or changed since, never goes out."""
    text = answer.comment
    if not text or answer.confirmed_at is None or answer.comment_sha256 != _digest(text):
        return None
    return text


def outbox_rows(store: Store, *, site: str | None = None) -> tuple[list[dict[str, Any]], list[DamagedRow]]:
    """Every document the store holds (submissions and deletion requests), oldest first, and the
    rows that could not be read (each is skipped, the others are listed)."""
    with store.session() as session:
        codes = {s.id: s.code for s in checked(session, Site, select(Site)) if not isinstance(s, DamagedRow)}
        query = select(Outbox).join(Site, Site.id == Outbox.site_id).order_by(Outbox.id)
        if site:
            query = query.where(Site.code == site.upper())
        return readable(checked(session, Outbox, query), lambda row: _outbox_entry(row, codes))


def _outbox_entry(row: Outbox, codes: Mapping[int, str]) -> dict[str, Any]:
    """One outbox row as ``outbox list`` shows it."""
    return {
        "site": codes.get(row.site_id, "?"),
        "period": row.period,
        "document_id": row.document_id,
        "kind": row.kind,
        "revision": row.revision,
        "state": row.state,
        "created_at": row.created_at.isoformat(timespec="seconds") + "Z",
        "size": row.size,
        "sha256": row.sha256,
    }
