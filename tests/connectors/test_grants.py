"""The read-only login's T-SQL: valid T-SQL, SELECT on exactly the declared views, as documented."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from sccm_cep_connectors.sccm_sql import grants
from sccm_cep_connectors.sccm_sql.views import VIEWS

DOC = Path(__file__).resolve().parents[2] / "docs" / "deploy-windows.md"
DOC_COMMAND = "-m sccm_cep_connectors.sccm_sql.grants --site PS1 --login 'CORP\\svc-cep'"


def statements(script: str) -> list[Any]:
    parsed = sqlglot.parse(script, read="tsql", error_level=ErrorLevel.RAISE)
    return [s for s in parsed if s is not None]


@pytest.mark.parametrize("login", ["CORP\\svc-cep", "CORP\\svc-cep$", "cep_reader"])
def test_script_parses_as_tsql_and_grants_select_on_exactly_the_declared_views(login: str) -> None:
    script = grants.grant_script("PS1", login)
    parsed = statements(script)
    granted = []
    for s in parsed:
        if isinstance(s, exp.Grant):
            assert [p.this.name for p in s.args["privileges"]] == ["SELECT"]
            assert [p.this.name for p in s.args["principals"]] == [login]
            assert not s.args.get("grant_option")
            table = s.args["securable"]
            assert table.db == "dbo"
            granted.append(table.name)
    assert sorted(granted) == sorted(VIEWS)
    # Only USE, GRANT and the two CREATEs sqlglot keeps as opaque commands: nothing else.
    kinds = [type(s).__name__ for s in parsed]
    assert kinds.count("Grant") == len(VIEWS)
    assert [s.this.name for s in parsed if isinstance(s, exp.Use)] == ["master", "CM_PS1"]
    commands = [s.sql(dialect="tsql") for s in parsed if isinstance(s, exp.Command)]
    assert len(commands) == 2 and len(parsed) == len(VIEWS) + 4
    assert commands[0].startswith(f"CREATE LOGIN [{login}] ")
    assert commands[1] == f"CREATE USER [{login}] FOR LOGIN [{login}] WITH DEFAULT_SCHEMA = [dbo]"


def test_windows_login_is_created_from_windows_and_has_no_password() -> None:
    script = grants.grant_script("ps1", "CORP\\svc-cep")
    assert "CREATE LOGIN [CORP\\svc-cep] FROM WINDOWS WITH DEFAULT_DATABASE = [CM_PS1];" in script
    assert "PASSWORD" not in script


def test_sql_login_gets_a_placeholder_password_to_replace() -> None:
    script = grants.grant_script("PS1", "cep_reader")
    assert f"WITH PASSWORD = N'{grants.PASSWORD_PLACEHOLDER}', CHECK_POLICY = ON" in script
    assert "FROM WINDOWS" not in script


def test_script_grants_nothing_but_select() -> None:
    script = grants.grant_script("PS1", "CORP\\svc-cep")
    code = [ln for ln in script.splitlines() if not ln.startswith("--")]
    forbidden = r"\b(db_datareader|db_owner|ALTER|INSERT|UPDATE|DELETE|EXECUTE|CONTROL|sp_addrolemember)\b"
    assert not [ln for ln in code if re.search(forbidden, ln, re.IGNORECASE)]


@pytest.mark.parametrize(
    ("site", "login"),
    [
        ("PS", "CORP\\svc-cep"),
        ("PS1; DROP", "CORP\\svc-cep"),
        ("PS1", "CORP\\svc]; DROP LOGIN sa; --"),
        ("PS1", "x' OR 1=1"),
        ("PS1", ""),
    ],
)
def test_names_that_cannot_be_quoted_safely_are_refused(site: str, login: str) -> None:
    with pytest.raises(ValueError):
        grants.grant_script(site, login)


def test_brackets_in_a_name_are_doubled() -> None:
    assert grants._bracket("a]b") == "[a]]b]"


def test_command_line_prints_the_script(capsys: pytest.CaptureFixture[str]) -> None:
    assert grants.main(["--site", "PS1", "--login", "CORP\\svc-cep"]) == 0
    assert capsys.readouterr().out == grants.grant_script("PS1", "CORP\\svc-cep")


def test_command_line_refuses_a_bad_site_code_with_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        grants.main(["--site", "P-1", "--login", "CORP\\svc-cep"])
    assert exc.value.code == 2
    assert "three letters or digits" in capsys.readouterr().err


def test_deployment_guide_shows_exactly_what_the_generator_prints() -> None:
    text = DOC.read_text(encoding="utf-8")
    at = text.index(DOC_COMMAND)
    block = re.search(r"```sql\n(.*?)```", text[at:], re.DOTALL)
    assert block is not None
    assert block.group(1) == grants.grant_script("PS1", "CORP\\svc-cep")
