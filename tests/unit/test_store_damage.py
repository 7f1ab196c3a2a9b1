"""A state store that is empty, not a database, foreign or damaged is an error naming the file
and the way back (exit 14); it is never silently replaced by a new, empty one."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from sccm_cep.collector.store import Store, default_state_url
from sccm_cep.errors import ConfigError, ExitCode, StoreDamaged


def _cli(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SCCM_CEP_DATA_DIR": str(data)}
    env.pop("SCCM_CEP_STATE", None)
    return subprocess.run(
        [sys.executable, "-m", "sccm_cep", *args], capture_output=True, text=True, env=env, timeout=120
    )


@pytest.fixture(scope="module")
def good_store(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bytes of a real, migrated store with a site in it."""
    data = tmp_path_factory.mktemp("good")
    Store(f"sqlite:///{data / 'state.db'}").dispose()
    with sqlite3.connect(data / "state.db") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return (data / "state.db").read_bytes()


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("content", "words"),
    [(b"", "empty (0 bytes)"), (b"this is not a database at all" * 100, "not a SQLite database")],
)
def test_an_empty_or_foreign_file_is_refused_and_left_alone(
    tmp_path: Path, content: bytes, words: str
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "state.db").write_bytes(content)
    result = _cli(data, "status")
    assert result.returncode == ExitCode.STORE
    line = _one_error_line(result)
    assert words in line and "state.db" in line and "backup" in line
    assert (data / "state.db").read_bytes() == content


def test_a_truncated_store_is_refused(tmp_path: Path, good_store: bytes) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "state.db").write_bytes(good_store[:4096])
    result = _cli(data, "status")
    assert result.returncode == ExitCode.STORE, result.stderr
    _one_error_line(result)


def test_bit_flips_never_end_in_an_internal_error(
    tmp_path: Path, good_store: bytes, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each flip either leaves a readable store or is reported as damage: never exit 1. The
    console entry point runs in this process (its error handling is what is tested)."""
    from sccm_cep.cli.app import main

    monkeypatch.delenv("SCCM_CEP_STATE", raising=False)
    codes = []
    for n, offset in enumerate(range(17, len(good_store), max(1, len(good_store) // 60))):
        data = tmp_path / f"data{n}"
        data.mkdir()
        flipped = bytearray(good_store)
        flipped[offset] ^= 0xFF
        (data / "state.db").write_bytes(bytes(flipped))
        monkeypatch.setenv("SCCM_CEP_DATA_DIR", str(data))
        monkeypatch.setattr(sys, "argv", ["sccm-cep", "status", "--json"])
        with pytest.raises(SystemExit) as done:
            main()
        err = capsys.readouterr().err
        codes.append(done.value.code)
        assert done.value.code in (ExitCode.OK, ExitCode.STORE), (offset, err)
        if done.value.code:
            assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    print(f"bit flips: {len(codes)}, refused {sum(1 for c in codes if c)}")


def test_a_dropped_table_is_reported_not_recreated(tmp_path: Path, good_store: bytes) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "state.db").write_bytes(good_store)
    with sqlite3.connect(data / "state.db") as conn:
        conn.execute("DROP TABLE outbox")
    result = _cli(data, "status")
    assert result.returncode == ExitCode.STORE
    assert "table outbox is missing" in _one_error_line(result)
    with sqlite3.connect(data / "state.db") as conn:
        tables = {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
    assert "outbox" not in tables


def test_a_database_of_something_else_is_not_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    with pytest.raises(StoreDamaged, match="not an sccm-cep store"):
        Store(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
    assert tables == {"invoices"}


@pytest.mark.parametrize("name", ["data?mode=ro", "data%25x", "data#frag", "da ta"])
def test_a_data_folder_name_is_never_read_as_url_parts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    folder = tmp_path / name
    monkeypatch.setenv("SCCM_CEP_DATA_DIR", str(folder))
    store = Store(default_state_url())
    store.dispose()
    assert (folder / "state.db").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_a_new_store_is_made_private_and_works(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "state.db"
    store = Store(f"sqlite:///{path}")
    assert store.schema_revision() == store.head_revision()
    store.dispose()
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_a_state_url_with_a_password_is_refused() -> None:
    with pytest.raises(ConfigError, match="password") as caught:
        Store("postgresql+psycopg://cep:s3cret-pw@127.0.0.1:5432/test")
    assert "s3cret-pw" not in caught.value.one_line()
