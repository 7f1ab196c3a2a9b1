"""A registered, joined synthetic site driven through the CLI, for the reviewer's commands."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from sccm_cep.cli import cli

POLICIES = Path(__file__).resolve().parents[2] / "policies"


class Cli:
    """Runs sccm-cep commands against one state store and checks the exit code."""

    def __init__(self, state: str) -> None:
        self.state = state

    def __call__(self, *args: str, code: int = 0) -> Result:
        result = CliRunner().invoke(cli, ["--state", self.state, *args], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--json").stdout)


@pytest.fixture
def cep(tmp_path: Path, data_dir: Path, sqlite_site: str) -> Iterator[Cli]:
    runner = Cli(f"sqlite:///{tmp_path / 'state.db'}")
    runner("site", "register", "PS1", "--db", sqlite_site, "--name", "HQ")
    runner("join", "PS1", "--yes", "--as-of", "2026-10-01")
    yield runner


@pytest.fixture
def policy_copy(tmp_path: Path) -> Path:
    """A private copy of the shipped policies a test may change."""
    target = tmp_path / "policies"
    shutil.copytree(POLICIES, target)
    return target
