"""The policy loader and linter: default deny, closed actions, privacy floors, stable digest."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sccm_cep.errors import PolicyError
from sccm_cep.privacy.policy import Action, default_policy_dir, load_policies


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(default_policy_dir(), target)
    return target


def _problems(directory: Path) -> tuple[str, ...]:
    with pytest.raises(PolicyError) as info:
        load_policies(directory)
    return info.value.problems


def test_shipped_policies_pass_the_lint() -> None:
    policies = load_policies()
    assert policies.digest.startswith("sha256:")
    assert policies["software"].field("product").action is Action.SUPPRESS_BELOW


def test_broken_yaml_names_the_file_and_line(policy_dir: Path) -> None:
    (policy_dir / "software.yaml").write_text("record: software\nfields:\n  publisher: [unclosed\n")
    problems = _problems(policy_dir)
    assert any("software.yaml" in p and "line" in p for p in problems)


def test_a_model_field_without_entry_fails(policy_dir: Path) -> None:
    path = policy_dir / "software.yaml"
    text = path.read_text()
    start = text.index("  version:")
    end = text.index("  installations:")
    path.write_text(text[:start] + text[end:])
    assert any("'version' has no entry" in p for p in _problems(policy_dir))


def test_a_field_the_model_lacks_fails(policy_dir: Path) -> None:
    path = policy_dir / "software.yaml"
    path.write_text(
        path.read_text() + "  install_path:\n    action: drop\n    category: free_text\n    purpose: none\n"
    )
    assert any("'install_path' is not in the model" in p for p in _problems(policy_dir))


def test_an_entry_without_purpose_or_category_fails(policy_dir: Path) -> None:
    path = policy_dir / "hardware_memory.yaml"
    text = path.read_text().replace("    category: technical\n", "", 1)
    text = text.replace("    purpose: Memory sizes as bands, for minimum-requirement decisions.\n", "")
    path.write_text(text)
    problems = _problems(policy_dir)
    assert any("has no purpose" in p for p in problems)
    assert any("category" in p for p in problems)


def test_keeping_a_personal_field_is_refused(policy_dir: Path) -> None:
    path = policy_dir / "configuration_item.yaml"
    text = path.read_text()
    block = text[text.index("  created_by:") : text.index("  ci_type:")]
    path.write_text(text.replace(block, block.replace("action: drop", "action: keep")))
    assert any("'created_by' is personal" in p for p in _problems(policy_dir))


def test_unknown_action_is_refused(policy_dir: Path) -> None:
    path = policy_dir / "software.yaml"
    path.write_text(path.read_text().replace("action: generalize", "action: encrypt", 1))
    assert any("'encrypt' is not one of" in p for p in _problems(policy_dir))


def test_suppression_on_site_objects_is_refused(policy_dir: Path) -> None:
    path = policy_dir / "package.yaml"
    text = path.read_text()
    block = text[text.index("  package_type:") : text.index("  program_count:")]
    path.write_text(text.replace(block, block.replace("action: keep", "action: suppress_below\n    k: 5")))
    assert any("site objects, not devices" in p for p in _problems(policy_dir))


def test_missing_policy_file_for_a_record_fails(policy_dir: Path) -> None:
    (policy_dir / "device.yaml").unlink()
    assert any("record 'device' has no policy file" in p for p in _problems(policy_dir))


def test_digest_ignores_comments_and_layout(policy_dir: Path) -> None:
    before = load_policies(policy_dir).digest
    path = policy_dir / "software.yaml"
    path.write_text("# a new comment\n\n" + path.read_text().replace("    k: 5\n", "    k:    5   # five\n"))
    assert load_policies(policy_dir).digest == before


def test_digest_changes_with_meaning(policy_dir: Path) -> None:
    before = load_policies(policy_dir).digest
    path = policy_dir / "software.yaml"
    path.write_text(path.read_text().replace("    k: 5\n", "    k: 10\n", 1))
    assert load_policies(policy_dir).digest != before
