"""A plain ``pip install sccm-cep`` (no extras): every command loads, and each optional part
that is missing says which extra brings it (exit 3), never an internal error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parent.parent


def base_only(code: str, *, extras: tuple[str, ...] = (), cwd: Path | None = None) -> str:
    """Run ``code`` in a new interpreter that can import only the base dependencies (+ extras)."""
    argv = [sys.executable, str(HERE / "base_only.py")]
    if extras:
        argv += ["--extras", ",".join(extras)]
    done = subprocess.run(
        [*argv, "-c", code], capture_output=True, text=True, cwd=cwd or ROOT, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_the_blocker_refuses_an_optional_library_and_allows_a_base_one() -> None:
    out = base_only(
        "import sqlalchemy, click, cryptography\n"
        "try:\n    import psycopg\nexcept ModuleNotFoundError:\n    print('blocked')\n"
    )
    assert out.strip() == "blocked"


def test_every_core_module_imports_with_only_the_base_dependencies() -> None:
    out = base_only(
        "import importlib, pkgutil, sccm_cep, sccm_cep_connectors\n"
        "bad = []\n"
        "for pkg in (sccm_cep,):\n"
        "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "        if '.migrations' in m.name:\n"
        "            continue  # alembic's env.py runs only inside alembic\n"
        "        try:\n"
        "            importlib.import_module(m.name)\n"
        "        except Exception as exc:\n"
        "            bad.append(f'{m.name}: {exc!r}')\n"
        "# the connectors' field maps are data: the catalog reads them without their extras\n"
        "for name in ('sccm_sql', 'winrm', 'ldap'):\n"
        "    importlib.import_module(f'sccm_cep_connectors.{name}.sources')\n"
        "importlib.import_module('sccm_cep_connectors.sccm_sql')\n"
        "print('\\n'.join(bad))\n"
    )
    assert out.strip() == ""


def test_every_command_shows_its_help_with_only_the_base_dependencies() -> None:
    out = base_only(
        "import click, json\n"
        "from click.testing import CliRunner\n"
        "from sccm_cep.cli.app import cli\n"
        "def walk(group, path):\n"
        "    for name, cmd in sorted(group.commands.items()):\n"
        "        yield [*path, name]\n"
        "        if isinstance(cmd, click.Group):\n"
        "            yield from walk(cmd, [*path, name])\n"
        "runner = CliRunner()\n"
        "codes = {' '.join(p): runner.invoke(cli, [*p, '--help']).exit_code for p in walk(cli, [])}\n"
        "print(json.dumps(codes))\n"
    )
    codes = json.loads(out)
    assert len(codes) > 30
    assert {name: code for name, code in codes.items() if code != 0} == {}


# Each optional part, the command that needs it, and the extra the hint must name.
_RUN = """
import contextlib, io, json, sys
from sccm_cep.cli.app import main
err = io.StringIO()
sys.argv = ["sccm-cep", *json.loads({args!r})]
with contextlib.redirect_stderr(err):
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code
print(json.dumps({{"code": code, "stderr": err.getvalue()}}))
"""

CASES = {
    "receiver": (["receiver", "serve", "--db", "sqlite:///{tmp}/r.db", "--listen", "127.0.0.1:0"], ()),
    "postgres": (["--state", "postgresql+psycopg://postgres@127.0.0.1:5432/test", "status"], ()),
    "mssql": (["export", "--db", "mssql+pyodbc://u@sql01/CM_PS1?driver=x", "--out", "{tmp}/out"], ()),
    "keyring": (["export", "--db", "{site}", "--password", "keyring:svc/user", "--out", "{tmp}/out"], ()),
    "ldap": (["site", "discover", "--ldap", "ldap://127.0.0.1:9"], ()),
    "kerberos": (
        ["site", "discover", "--ldap", "ldap://dc01.corp.example:9", "--auth", "kerberos"],
        ("ldap",),
    ),
    "winrm": (["export", "--winrm", "sccm01.corp.example", "--out", "{tmp}/out"], ()),
}


@pytest.mark.parametrize("extra", sorted(CASES))
def test_a_missing_extra_names_itself_and_exits_3(extra: str, tmp_path: Path, sqlite_site: str) -> None:
    args, extras = CASES[extra]
    args = [a.format(tmp=tmp_path, site=sqlite_site) for a in args]
    code = f"import os; os.environ['SCCM_CEP_DATA_DIR'] = {str(tmp_path / 'data')!r}\n" + _RUN.format(
        args=json.dumps(args)
    )
    result = json.loads(base_only(code, extras=extras, cwd=tmp_path).strip().splitlines()[-1])
    assert result["code"] == 3, result
    assert f"pip install 'sccm-cep[{extra}]'" in result["stderr"], result
    assert "internal error" not in result["stderr"]
    assert result["stderr"].count("\n") == 1  # one line


def test_every_extra_in_the_table_is_declared_in_pyproject() -> None:
    import tomllib

    from sccm_cep.extras import EXTRAS

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert {extra for extra, _ in EXTRAS.values()} <= set(declared)


def test_every_package_folder_is_listed_for_the_wheel() -> None:
    """pyproject lists packages by hand (two are mapped from other folders); a package left
    out would be missing from the wheel while every test in the checkout still passes."""
    import tomllib

    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapped = {name: folder for name, folder in setuptools["package-dir"].items() if name}

    def folder_of(package: str) -> Path:
        for name, folder in mapped.items():
            if package == name or package.startswith(name + "."):
                return ROOT / folder / package[len(name) :].lstrip(".").replace(".", "/")
        return ROOT / package.replace(".", "/")

    listed = set(setuptools["packages"])
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "sccm_cep").rglob("__init__.py")
    } | {
        ".".join(("sccm_cep_connectors", *init.parent.relative_to(ROOT / "connectors").parts))
        for init in (ROOT / "connectors").rglob("__init__.py")
    }
    on_disk = {name.removesuffix(".") for name in on_disk}
    assert on_disk - listed == set(), "add these to [tool.setuptools] packages"
    assert all(folder_of(name).is_dir() for name in listed), "a listed package has no folder"
