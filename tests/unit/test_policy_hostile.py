"""Policy files are read as untrusted input: bounded, regular files, no YAML aliases, and
parameters that are numbers only when they are finite and in range."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from sccm_cep.errors import PolicyError
from sccm_cep.privacy.policy import default_policy_dir, load_policies


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(default_policy_dir(), target)
    return target


def _refused(directory: Path) -> str:
    with pytest.raises(PolicyError) as info:
        load_policies(directory)
    return " ".join([info.value.one_line(), *info.value.problems])


def test_a_yaml_alias_bomb_is_refused_at_once(policy_dir: Path) -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [{','.join(['*a' + str(i - 1)] * 9)}]" for i in range(1, 9)]
    bomb = "\n".join(lines) + "\nrecord: software\nfields: *a8\n"
    assert len(bomb) < 2048
    (policy_dir / "software.yaml").write_text(bomb)
    started = time.perf_counter()
    assert "anchors or aliases" in _refused(policy_dir)
    assert time.perf_counter() - started < 2


def test_even_one_alias_is_refused(policy_dir: Path) -> None:
    path = policy_dir / "site.yaml"
    path.write_text(path.read_text() + "\nextra: &x 1\nmore: *x\n")
    assert "anchors or aliases" in _refused(policy_dir)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_policy_linked_to_a_device_is_refused(policy_dir: Path) -> None:
    (policy_dir / "site.yaml").unlink()
    os.symlink("/dev/zero", policy_dir / "site.yaml")
    assert "not a regular file" in _refused(policy_dir)


def test_an_oversized_policy_file_is_refused_unread(policy_dir: Path) -> None:
    path = policy_dir / "site.yaml"
    path.write_text(path.read_text() + "# " + "x" * (1 << 20) + "\n")
    assert "over 256 KB" in _refused(policy_dir)


@pytest.mark.parametrize(
    ("file", "old", "new", "words"),
    [
        ("device.yaml", "edges: [4, 8, 16, 32, 64, 128, 256, 512]", "edges: [4, .nan, 16]", "finite"),
        ("device.yaml", "edges: [4, 8, 16, 32, 64, 128, 256, 512]", "edges: [4, 8, .inf]", "finite"),
        ("device.yaml", "edges: [1, 2, 3, 5, 8]", 'edges: ["2019", "2021"]', "finite numbers"),
    ],
)
def test_band_edges_must_be_finite_increasing_numbers(
    policy_dir: Path, file: str, old: str, new: str, words: str
) -> None:
    path = policy_dir / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    assert words in _refused(policy_dir)


@pytest.mark.parametrize("bad", ["-5", "0", "100000"])
def test_a_scrub_length_must_be_positive_and_bounded(policy_dir: Path, bad: str) -> None:
    path = policy_dir / "deployment.yaml"
    text = path.read_text()
    old = "  deployment_name:\n    action: drop\n"
    assert old in text
    path.write_text(text.replace(old, f"  deployment_name:\n    action: scrub\n    max_length: {bad}\n"))
    assert "max_length must be a whole number" in _refused(policy_dir)


def test_sources_naming_a_connector_that_is_not_installed_are_refused(policy_dir: Path) -> None:
    path = policy_dir / "sources.yaml"
    path.write_text(path.read_text().replace("software: [sccm_sql, winrm]", "software: [sccm_sql, snmp]"))
    assert "no installed connector 'snmp'" in _refused(policy_dir)
