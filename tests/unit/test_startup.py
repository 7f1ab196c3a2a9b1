"""Start-up: ``--help`` and ``--version`` load click and the command modules only, and ``status``
on a store at the newest schema reads it without alembic or any of the export, privacy, key or
delivery machinery. Each case runs in a fresh interpreter (``-X importtime``) and prints its
wall time; a store that needs a migration still gets it."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sccm_cep.collector import store as store_mod
from sccm_cep.collector.store import Store, migration_head

STORES = Path(__file__).resolve().parents[2] / "fixtures" / "stores"

#: Never needed to print help or the version.
HEAVY = (
    "sqlalchemy",
    "alembic",
    "mako",
    "rich",
    "httpx",
    "jsonschema",
    "cryptography",
    "yaml",
    "phonenumbers",
    "jinja2",
    "filelock",
    "platformdirs",
    "pypsrp",
    "winrm",
    "ldap3",
    "sccm_cep.collector.store",
    "sccm_cep.collector.schedule",
    "sccm_cep.collector.participation",
    "sccm_cep.privacy",
    "sccm_cep.export",
    "sccm_cep.delivery",
    "sccm_cep.review",
    "sccm_cep.receiver",
    "sccm_cep_connectors",
)
#: Never needed to show the status of a store at the newest schema (it needs SQLAlchemy's ORM
#: and rich's tables, nothing more).
NOT_FOR_STATUS = (
    "alembic",
    "mako",
    "rich.progress",
    "httpx",
    "jsonschema",
    "cryptography",
    "yaml",
    "phonenumbers",
    "jinja2",
    "pypsrp",
    "winrm",
    "ldap3",
    "sccm_cep.collector.participation",
    "sccm_cep.collector.keys",
    "sccm_cep.collector.sites",
    "sccm_cep.privacy",
    "sccm_cep.export",
    "sccm_cep.delivery",
    "sccm_cep.review",
    "sccm_cep.receiver",
    "sccm_cep_connectors",
)


def _run(data: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str], float]:
    """``python -X importtime -m sccm_cep ARGS``: the result, the modules it imported, wall time."""
    env = {**os.environ, "SCCM_CEP_DATA_DIR": str(data)}
    env.pop("SCCM_CEP_STATE", None)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "sccm_cep", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    wall = time.perf_counter() - started
    modules = {
        line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")
    }
    return done, modules, wall


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


@pytest.mark.parametrize("args", [["--help"], ["--version"]])
def test_help_and_version_load_no_heavy_library(tmp_path: Path, args: list[str]) -> None:
    done, modules, wall = _run(tmp_path / "data", *args)
    print(f"sccm-cep {' '.join(args)}: {wall:.3f} s wall, {len(modules)} modules")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "sccm_cep.cli.app" in modules and "click" in modules
    assert _loaded(modules, HEAVY) == []
    assert not (tmp_path / "data").exists()  # nothing was created either


def test_status_of_a_current_store_reads_it_without_alembic(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first, modules, _ = _run(data, "status", "--json")
    assert first.returncode == 0, first.stderr[-2000:]
    assert "alembic" in modules  # a new store is made by the migrations
    again, modules, wall = _run(data, "status", "--json")
    print(f"sccm-cep status (store at {migration_head()}): {wall:.3f} s wall, {len(modules)} modules")
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stdout.strip() == "[]"
    assert _loaded(modules, NOT_FOR_STATUS) == []


def test_status_of_an_old_store_still_upgrades_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(STORES / "state-0001.sqlite", data / "state.db")
    done, modules, _ = _run(data, "status", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "alembic" in modules
    with sqlite3.connect(data / "state.db") as db:
        assert db.execute("select version_num from alembic_version").fetchall() == [(migration_head(),)]


def test_the_head_read_from_the_migration_files_is_alembics(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        assert migration_head() is not None
        assert migration_head() == store.head_revision() == store.schema_revision()
    finally:
        store.dispose()


def test_a_migration_added_after_a_store_was_made_is_applied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store at today's head is not "current" any more once a newer migration ships."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    Store(url).dispose()
    old_head = migration_head()
    migrations = tmp_path / "migrations"
    shutil.copytree(store_mod.MIGRATIONS, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    (migrations / "versions" / "9001_probe.py").write_text(
        '"""A later migration, as the next release would ship one."""\n\n'
        "import sqlalchemy as sa\nfrom alembic import op\n\n"
        f'revision = "9001"\ndown_revision = "{old_head}"\nbranch_labels = None\ndepends_on = None\n\n\n'
        "def upgrade() -> None:\n"
        '    op.create_table("startup_probe", sa.Column("id", sa.Integer, primary_key=True))\n\n\n'
        "def downgrade() -> None:\n"
        '    op.drop_table("startup_probe")\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(store_mod, "MIGRATIONS", migrations)
    assert migration_head() == "9001"
    store = Store(url)
    try:
        assert store.schema_revision() == "9001"
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("select count(*) from startup_probe").scalar() == 0
    finally:
        store.dispose()


def test_a_branched_or_unreadable_history_falls_back_to_alembic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    versions = tmp_path / "migrations" / "versions"
    versions.mkdir(parents=True)
    (versions / "a.py").write_text('revision = "a"\ndown_revision = None\n')
    (versions / "b.py").write_text('revision = "b"\ndown_revision = "a"\n')
    (versions / "c.py").write_text('revision = "c"\ndown_revision = "a"\n')
    monkeypatch.setattr(store_mod, "MIGRATIONS", tmp_path / "migrations")
    assert migration_head() is None  # two heads: alembic decides
    (versions / "c.py").write_text('revision = "c"\ndown_revision = ("b",)\n')
    assert migration_head() == "c"
    (versions / "d.py").write_text("revision = not_a_literal\n")
    assert migration_head() is None


def test_the_schedule_kinds_the_cli_offers_are_the_schedulers() -> None:
    from sccm_cep.cli.schedule import KINDS
    from sccm_cep.collector.schedule import KINDS as SCHEDULER_KINDS

    assert tuple(KINDS) == tuple(SCHEDULER_KINDS)


_OPEN = "import sys; from sccm_cep.collector.store import Store; Store(sys.argv[1]).dispose(); print('alembic' in sys.modules)"


@pytest.mark.postgres
def test_a_current_postgres_store_is_opened_without_alembic_and_a_newer_one_refused(pg_base: str) -> None:
    import uuid

    from sqlalchemy import create_engine, text

    from sccm_cep.errors import ConfigError

    name = f"state_{uuid.uuid4().hex[:10]}"
    url = pg_base.rsplit("/", 1)[0] + f"/{name}"
    admin = create_engine(pg_base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        Store(url).dispose()  # made and migrated
        opened = subprocess.run(
            [sys.executable, "-c", _OPEN, url], capture_output=True, text=True, timeout=120, check=True
        )
        assert opened.stdout.strip() == "False"
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("update alembic_version set version_num = '9999'"))
        engine.dispose()
        with pytest.raises(ConfigError, match="newer sccm-cep"):
            Store(url)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
