"""``sccm-cep policy``: lint the field policies, approve them, and the approval history."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from sccm_cep.cli.common import (
    add_plain_row,
    json_option,
    policies_option,
)
from sccm_cep.cli.context import App, expected
from sccm_cep.errors import PolicyError

if TYPE_CHECKING:
    from sccm_cep.privacy.policy import PolicySet

__all__ = ["policy"]


@click.group()
def policy() -> None:
    """Field policies: check them against the model."""


@policy.command("lint")
@policies_option
@click.pass_obj
def policy_lint(app: App, policies_dir: Path | None) -> None:
    """Check every policy file against the canonical model; exit 3 on any problem."""
    from sccm_cep.privacy.policy import default_policy_dir, lint, load_policies

    with expected(app):
        directory = policies_dir or default_policy_dir()
        try:
            loaded: PolicySet = load_policies(directory)
        except PolicyError as exc:
            for problem in exc.problems or (exc.message,):
                app.err.print(f"  {problem}", markup=False, highlight=False, soft_wrap=True)
            raise
    assert not lint(loaded.policies.values())
    fields = sum(len(p.fields) for p in loaded.policies.values())
    app.out.print(
        f"{len(loaded.policies)} policies, {fields} fields: ok ({loaded.digest})",
        markup=False,
        highlight=False,
    )


@policy.command("approve")
@click.option("--by", "by", required=True, help="Name of the reviewer approving the policies.")
@click.option("--note", help="Why, or what was reviewed (kept locally).")
@policies_option
@json_option
@click.pass_obj
def policy_approve(app: App, by: str, note: str | None, policies_dir: Path | None, as_json: bool) -> None:
    """Record that NAME approved the current policies (their digest), unblocking collection."""
    from sccm_cep.privacy import approval as approval_mod
    from sccm_cep.privacy.policy import load_policies

    with expected(app):
        policies = load_policies(policies_dir)
        done = approval_mod.approve(app.store, policies, by=by, note=note)
    if as_json:
        app.emit_json(done.as_json())
    else:
        app.say(f"approved {done.policy_digest} by {done.approved_by} at {done.approved_at}")


@policy.command("history")
@json_option
@click.pass_obj
def policy_history(app: App, as_json: bool) -> None:
    """Every policy approval, newest first."""
    from rich.table import Table

    from sccm_cep.privacy import approval as approval_mod

    with expected(app):
        rows = approval_mod.history(app.store)
    if as_json:
        app.emit_json([r.as_json() for r in rows])
        return
    table = Table(title="Policy approvals")
    for name in ("approved at (UTC)", "by", "policy digest", "note"):
        table.add_column(name)
    for r in rows:
        add_plain_row(table, r.approved_at, r.approved_by, r.policy_digest, r.note or "")
    app.out.print(table)
