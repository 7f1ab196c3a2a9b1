"""The console entry point as an admin meets it: help with examples, legacy code pages,
prompts answered "no", and options that cannot work together."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import click
import pytest

from sccm_cep.cli.app import EXIT_CANCELLED, cli, main
from sccm_cep.cli.help import EXAMPLES


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found += _commands(command, (*path, name))
        else:
            found.append((*path, name))
    return found


ALL = _commands(cli)


def run_main(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], *, encoding: str = "utf-8", stdin: str = ""
) -> tuple[int, str, str]:
    """main() with real text streams in ``encoding`` (strict), as a console would give them."""
    out, err = io.BytesIO(), io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(out, encoding=encoding, errors="strict"))
    monkeypatch.setattr(sys, "stderr", io.TextIOWrapper(err, encoding=encoding, errors="strict"))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode()), encoding=encoding))
    monkeypatch.setattr(sys, "argv", ["sccm-cep", *argv])
    with pytest.raises(SystemExit) as done:
        main()
    sys.stdout.flush()
    sys.stderr.flush()
    code = done.value.code
    return (
        (code if isinstance(code, int) else 0),
        out.getvalue().decode(encoding),
        err.getvalue().decode(encoding),
    )


def test_every_example_names_a_command_that_exists() -> None:
    assert set(EXAMPLES) <= {" ".join(p) for p in ALL}
    for path, examples in EXAMPLES.items():
        for example in examples:
            assert example.startswith("sccm-cep "), example
            words = [w for w in example.split() if not w.startswith("-")]
            assert path.split() == [w for w in words[1:] if w in path.split()][: len(path.split())], example


@pytest.mark.parametrize("path", [" ".join(p) for p in ALL])
def test_every_command_help_shows_an_example_and_its_environment_variables(
    path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run_main(monkeypatch, [*path.split(), "--help"], encoding="cp1252")
    assert code == 0
    assert "Examples:" in out
    assert f"sccm-cep {path}".strip() in out.replace("--data-dir C:\\ProgramData\\sccm-cep ", "")
    command = cli
    for word in path.split():
        assert isinstance(command, click.Group)
        command = command.commands[word]
    for param in command.params:
        if isinstance(param, click.Option) and isinstance(param.envvar, str):
            assert param.envvar in " ".join(out.split()), f"{path}: {param.envvar} not shown"


def test_root_help_lists_the_environment_every_command_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    _, out, _ = run_main(monkeypatch, ["--help"])
    for name in ("SCCM_CEP_DATA_DIR", "SCCM_CEP_STATE", "SCCM_CEP_ENDPOINT", "SCCM_CEP_DEBUG"):
        assert name in out


def test_a_character_the_code_page_lacks_does_not_crash_the_output(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run_main(monkeypatch, ["preview", "--help"], encoding="cp1252")
    assert code == 0 and "preview" in out


def test_an_export_prints_its_summary_on_a_cp1252_console(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sqlite_site: str
) -> None:
    monkeypatch.setenv("SCCM_CEP_DATA_DIR", str(tmp_path / "data"))
    code, out, err = run_main(
        monkeypatch, ["export", "--db", sqlite_site, "--out", str(tmp_path / "out")], encoding="cp1252"
    )
    assert code == 0, err
    assert "CEP submission" in out


def test_answering_no_at_a_prompt_cancels_with_its_own_exit_code(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sqlite_site: str
) -> None:
    monkeypatch.setenv("SCCM_CEP_DATA_DIR", str(tmp_path / "data"))
    code, _, err = run_main(monkeypatch, ["site", "register", "PS1", "--db", sqlite_site])
    assert code == 0, err
    code, _, err = run_main(monkeypatch, ["site", "remove", "PS1"], stdin="n\n")
    assert code == EXIT_CANCELLED == 13
    assert err.startswith("error: cancelled") and err.count("\n") == 1
    code, out, _ = run_main(monkeypatch, ["site", "list"])
    assert "PS1" in out  # nothing was changed


def test_no_answer_at_all_at_a_prompt_also_cancels(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sqlite_site: str
) -> None:
    monkeypatch.setenv("SCCM_CEP_DATA_DIR", str(tmp_path / "data"))
    run_main(monkeypatch, ["site", "register", "PS1", "--db", sqlite_site])
    code, _, _ = run_main(monkeypatch, ["site", "remove", "PS1"], stdin="")
    assert code == EXIT_CANCELLED


def test_a_session_configuration_with_the_winrs_transport_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SCCM_CEP_DATA_DIR", str(tmp_path / "data"))
    code, _, err = run_main(
        monkeypatch,
        [
            "export",
            "--winrm",
            "sccm01.corp.example",
            "--winrm-transport",
            "winrm",
            "--winrm-configuration",
            "sccm-cep",
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert code == 3
    assert "needs the psrp transport" in err and err.count("\n") == 1


def test_the_readme_exit_code_table_lists_every_exit_code() -> None:
    import re

    from sccm_cep.errors import ExitCode

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme.split("### Exit codes", 1)[1].split("\n\n", 2)[1]
    documented = {int(m) for m in re.findall(r"^\| (\d+) \|", table, flags=re.M)}
    assert documented == {int(code) for code in ExitCode}


def test_no_command_module_exits_with_a_literal_number() -> None:
    import re

    cli_dir = Path(__file__).resolve().parents[2] / "sccm_cep" / "cli"
    literal = re.compile(r"sys\.exit\(\s*\d")
    offenders = [p.name for p in cli_dir.glob("*.py") if literal.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
