"""The approval gate: a changed policy blocks collection (exit 3) until a reviewer approves it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from sccm_cep.collector.store import Store
from sccm_cep.errors import PolicyError
from sccm_cep.privacy.approval import require_approval, snapshot_path
from sccm_cep.privacy.policy import load_policies


def _weaken(policies: Path) -> None:
    path = policies / "software.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("k: 5", "k: 3", 1), encoding="utf-8")


def test_joining_records_an_approval_that_satisfies_the_gate(cep: Any) -> None:
    history = cep.json("policy", "history")
    assert len(history) == 1 and history[0]["policy_digest"] == load_policies().digest
    require_approval(Store(cep.state), load_policies())


def test_changed_policy_blocks_until_approved(cep: Any, policy_copy: Path) -> None:
    _weaken(policy_copy)
    changed = load_policies(policy_copy)
    store = Store(cep.state)
    with pytest.raises(PolicyError) as caught:
        require_approval(store, changed)
    assert caught.value.exit_code == 3
    text = caught.value.one_line()
    assert "policy changed since last approval" in text
    assert "sccm-cep fields --against" in text and "sccm-cep policy approve --by NAME" in text
    approved = cep.json(
        "policy", "approve", "--by", "Dana Privacy", "--note", "k 3 ok", "--policies", str(policy_copy)
    )
    assert approved["policy_digest"] == changed.digest
    require_approval(store, changed)
    with pytest.raises(PolicyError):
        require_approval(store, load_policies())  # the latest approval is what counts


def test_comments_and_formatting_do_not_need_a_new_approval(cep: Any, policy_copy: Path) -> None:
    path = policy_copy / "device.yaml"
    before = path.read_text(encoding="utf-8")
    # The same meaning written differently: flow style, other key order, other indentation,
    # a comment on top, no comments inside.
    reformatted = "# a comment\n\n" + yaml.safe_dump(
        yaml.safe_load(before), default_flow_style=True, sort_keys=True, indent=4, width=60
    )
    path.write_text(reformatted, encoding="utf-8")
    assert reformatted.splitlines() != before.splitlines()
    require_approval(Store(cep.state), load_policies(policy_copy))


def test_approval_keeps_a_snapshot_the_catalog_can_diff_against(cep: Any, policy_copy: Path) -> None:
    digest = load_policies().digest
    cep("policy", "approve", "--by", "Dana Privacy")
    assert snapshot_path(digest).is_file()
    _weaken(policy_copy)
    result = cep("fields", "--format", "csv", "--policies", str(policy_copy), "--against", digest)
    changed = [line for line in result.stdout.splitlines() if "changed" in line]
    assert len(changed) == 1 and changed[0].startswith("software,software,publisher")


def test_history_lists_newest_first_and_approve_needs_a_name(cep: Any) -> None:
    cep("policy", "approve", "--by", "Second Reviewer")
    history = cep.json("policy", "history")
    assert history[0]["approved_by"] == "Second Reviewer"
    assert "Second Reviewer" in cep("policy", "history").stdout
    cep("policy", "approve", "--by", "  ", code=3)
    cep("policy", "approve", code=2)
