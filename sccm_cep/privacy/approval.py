"""The approval gate: a reviewer approves a policy digest; a changed policy stops collection until then.

An approval records who, when and the digest of the policies' meaning (``PolicySet.digest``),
so comments and layout are not a change. ``policy approve`` also keeps the approved catalog
as a snapshot, so ``fields --against sha256:…`` can show what changed since.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from sccm_cep.collector.store import Approval, Store, utcnow
from sccm_cep.errors import OutputError, PolicyError
from sccm_cep.platform import make_private_folder, write_private_file
from sccm_cep.platform.config import data_dir
from sccm_cep.privacy.catalog import build_catalog, render_json
from sccm_cep.privacy.policy import PolicySet

__all__ = ["ApprovalView", "approve", "history", "latest_approval", "require_approval", "snapshot_path"]


@dataclass(frozen=True, slots=True)
class ApprovalView:
    """One approval as ``policy history`` shows it."""

    policy_digest: str
    approved_by: str
    approved_at: str
    note: str | None

    def as_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


def _view(a: Approval) -> ApprovalView:
    return ApprovalView(
        a.policy_digest, a.approved_by, a.approved_at.isoformat(timespec="seconds") + "Z", a.note
    )


def snapshot_path(digest: str) -> Path:
    """Where the catalog approved under ``digest`` is kept (in the data folder)."""
    name = digest.replace(":", "-")
    if not name.replace("-", "").isalnum():
        raise PolicyError(f"'{digest}' is not a policy digest", hint="a digest looks like sha256:0f3a…")
    return data_dir() / "approved-policies" / f"{name}.json"


def save_snapshot(policies: PolicySet) -> Path:
    """Keep the catalog of ``policies`` so a later change can be reviewed against it."""
    path = snapshot_path(policies.digest)
    text = render_json(build_catalog(policies), policies.digest)
    try:
        make_private_folder(path.parent)
        write_private_file(path, text.encode("utf-8"))  # whole or absent, private from the start
    except OSError as exc:
        raise OutputError(
            f"cannot keep the approved catalog at {path}: {exc.strerror or exc.__class__.__name__}",
            hint="free space in the data folder and run the command again",
        ) from exc
    return path


def approve(store: Store, policies: PolicySet, *, by: str, note: str | None = None) -> ApprovalView:
    """Record ``by``'s approval of the policies' digest, with a snapshot of their catalog."""
    if not by.strip():
        raise PolicyError("an approval needs the reviewer's name", hint="pass --by NAME")
    save_snapshot(policies)
    with store.session() as session:
        row = Approval(policy_digest=policies.digest, approved_by=by.strip(), approved_at=utcnow(), note=note)
        session.add(row)
        store.audit(session, "policy.approve", actor=by.strip(), policy_digest=policies.digest)
        session.commit()
        return _view(row)


def history(store: Store) -> list[ApprovalView]:
    """Every approval, newest first."""
    with store.session() as session:
        rows = session.execute(select(Approval).order_by(Approval.approved_at.desc(), Approval.id.desc()))
        return [_view(a) for a in rows.scalars()]


def latest_approval(store: Store) -> ApprovalView | None:
    found = history(store)
    return found[0] if found else None


def require_approval(store: Store, policies: PolicySet) -> None:
    """Raise PolicyError (exit 3) unless the latest approval is of ``policies.digest``."""
    latest = latest_approval(store)
    if latest is not None and latest.policy_digest == policies.digest:
        return
    short = policies.digest.removeprefix("sha256:")[:12]
    if latest is None:
        raise PolicyError(
            f"the policies (digest {short}) have never been approved; nothing was collected",
            hint="run 'sccm-cep fields' to review them and 'sccm-cep policy approve --by NAME'",
        )
    against = latest.policy_digest
    if not snapshot_path(against).is_file():
        against = "DIR_OF_THE_APPROVED_POLICIES"
    raise PolicyError(
        f"policy changed since last approval (digest {short}, approved {latest.policy_digest.removeprefix('sha256:')[:12]}"
        f" by {latest.approved_by}); nothing was collected",
        hint=f"run 'sccm-cep fields --against {against}' to review and 'sccm-cep policy approve --by NAME'",
    )
