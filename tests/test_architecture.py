"""The architecture in docs/architecture.md holds: its import rules (import-linter contracts
in pyproject.toml), its list of oversized modules and functions, and one version source."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from click.testing import CliRunner

import sccm_cep
from sccm_cep.cli import cli

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
CONTRACTS = [c["id"] for c in PYPROJECT["tool"]["importlinter"]["contracts"]]
NAMES = {c["id"]: c["name"] for c in PYPROJECT["tool"]["importlinter"]["contracts"]}
ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def test_the_contracts_cover_the_rules_the_document_states() -> None:
    assert set(CONTRACTS) >= {
        "receiver-contract-only",
        "contract-stands-alone",
        "nothing-imports-cli",
        "core-without-connectors",
        "connectors-below-export",
        "collector-layers",
    }
    for contract in CONTRACTS:
        assert f"`{contract}`" in ARCHITECTURE, f"docs/architecture.md does not explain {contract}"


@pytest.fixture(scope="module")
def lint_report() -> str:
    run = subprocess.run(
        [str(LINT_IMPORTS), str(ROOT / "pyproject.toml"), "--no-cache", "--no-logo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "COLUMNS": "300"},
    )
    assert "Contracts:" in run.stdout, run.stdout[-2000:] + run.stderr[-2000:]
    return run.stdout


@pytest.mark.parametrize("contract", CONTRACTS)
def test_import_contract_is_kept(contract: str, lint_report: str) -> None:
    name = NAMES[contract]
    verdict = re.search(rf"^{re.escape(name)} (KEPT|BROKEN)", lint_report, re.MULTILINE)
    assert verdict is not None, lint_report
    broken = lint_report[lint_report.find("Broken contracts") :]
    assert verdict.group(1) == "KEPT", broken


def _oversized() -> list[str]:
    found: list[str] = []
    for base in ("sccm_cep", "connectors"):
        for path in sorted((ROOT / base).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            rel = path.relative_to(ROOT).as_posix()
            if len(text.splitlines()) > MAX_MODULE_LINES:
                found.append(rel)
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    assert node.end_lineno is not None
                    if node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES:
                        found.append(f"{rel}:{node.name}")
    return found


def test_every_oversized_module_and_function_is_listed_with_its_reason() -> None:
    section = ARCHITECTURE[ARCHITECTURE.index("## Size exceptions") :]
    listed = set(re.findall(r"`([^`]+)`", section))
    missing = [unit for unit in _oversized() if unit not in listed]
    assert not missing, (
        f"over {MAX_MODULE_LINES} lines (module) or {MAX_FUNCTION_LINES} (function), and not explained "
        f"under 'Size exceptions' in docs/architecture.md: {missing}; split it, or say why not"
    )


def test_the_version_has_one_source() -> None:
    assert "version" not in PYPROJECT["project"]
    assert PYPROJECT["project"]["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "sccm_cep.__version__"}
    assert version("sccm-cep") == sccm_cep.__version__
    printed = CliRunner().invoke(cli, ["--version"]).output
    assert printed.strip() == f"sccm-cep, version {sccm_cep.__version__}"
