"""The collection scripts: each parses as PowerShell, is read-only, and ends in one compact JSON document."""

from __future__ import annotations

import re

import pytest
import tree_sitter
import tree_sitter_powershell

from sccm_cep_connectors.winrm.scripts import load_script, script_names

FORBIDDEN = [
    r"Win32_Product",
    r"\b(Set|Remove|New)-\w+",
    r"Invoke-(WmiMethod|CimMethod|Expression|Command)",
    r"\biex\b",
    r"\.(Put|Delete|Install|Uninstall|TriggerSchedule)\s*\(",
]


@pytest.mark.parametrize("name", script_names())
def test_script_parses_as_powershell(name: str) -> None:
    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
    tree = parser.parse(load_script(name).encode("utf-8"))
    assert not tree.root_node.has_error


@pytest.mark.parametrize("name", script_names())
def test_script_is_read_only(name: str) -> None:
    text = load_script(name)
    hits = [p for p in FORBIDDEN if re.search(p, text, re.IGNORECASE)]
    assert not hits


@pytest.mark.parametrize("name", script_names())
def test_script_stops_on_errors_and_prints_one_json_array(name: str) -> None:
    lines = [ln for ln in load_script(name).splitlines() if ln.strip()]
    assert "$ErrorActionPreference = 'Stop'" in lines
    assert "$ProgressPreference = 'SilentlyContinue'" in lines
    assert re.fullmatch(r"ConvertTo-Json -InputObject @\(\$\w+\) -Depth 5 -Compress", lines[-1])


def test_forbidden_construct_check_catches_win32_product() -> None:
    assert any(re.search(p, "Get-CimInstance Win32_Product", re.IGNORECASE) for p in FORBIDDEN)
    assert any(re.search(p, "iex $x", re.IGNORECASE) for p in FORBIDDEN)


@pytest.mark.parametrize("name", script_names())
def test_script_names_itself_in_its_header_line(name: str) -> None:
    # The loopback endpoint (and a capture) find a script's recorded document by this name.
    assert load_script(name).splitlines()[0] == f"# sccm-cep-script: {name}"
