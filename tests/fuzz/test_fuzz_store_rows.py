"""The state store's rows as hostile input: whatever value one row of ``state.db`` holds (a wrong
type, NULL, a 10 MB string, a NUL byte, a value no code writes), ``status``, ``outbox list``,
``site list``, ``site show`` and ``run --due`` report that row in one line and go on with the
others; none of them ends in an internal error (exit 1)."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import shutil
import sqlite3
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sccm_cep.cli.app import main
from sccm_cep.collector.sites import normalize_code
from sccm_cep.errors import ConfigError, ExitCode
from tests.fuzz.conftest import Meter, budget

#: The three sites; every damage goes to the rows of the second one (id 2).
SITES = ("PS1", "PS2", "PS3")
TABLES = ("sites", "enrollments", "outbox", "runs")
TEN_MB = "x" * 10_000_000
#: Stands for TEN_MB in generated examples, so a failing example is printed short.
BIG = "<10 MB of x>"
CAP = 256 * 2**20


def _cli(data: Path, *args: str) -> tuple[int, str, str]:
    """The console entry point in this process (its error handling is what is tested)."""
    old_env, old_argv = os.environ.get("SCCM_CEP_DATA_DIR"), sys.argv
    os.environ["SCCM_CEP_DATA_DIR"] = str(data)
    sys.argv = ["sccm-cep", *args]
    out, err = io.StringIO(), io.StringIO()
    code: Any = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
            except SystemExit as done:
                code = done.code or 0
    finally:
        sys.argv = old_argv
        if old_env is None:
            os.environ.pop("SCCM_CEP_DATA_DIR", None)
        else:
            os.environ["SCCM_CEP_DATA_DIR"] = old_env
    return int(code), out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder with three joined sites, a document and a run each."""
    os.environ.pop("SCCM_CEP_STATE", None)
    data = tmp_path_factory.mktemp("good")
    for code in SITES:
        assert _cli(data, "site", "register", code, "--db", "sqlite:////nonexistent/site.db")[0] == 0
        assert _cli(data, "join", code, "--yes", "--as-of", "2026-01-01")[0] == 0
    with sqlite3.connect(data / "state.db") as conn:
        for i in (1, 2, 3):
            conn.execute(
                "insert into outbox (id, site_id, kind, period, revision, document_id, state, created_at,"
                " body, sha256, size, attempts, schema_version) values (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    i,
                    i,
                    "submission",
                    "2026-Q1",
                    0,
                    f"0000000{i}-0000-5000-8000-000000000000",
                    "sent",
                    "2026-01-10 00:00:00.000000",
                    None,
                    "0" * 64,
                    1,
                    1,
                    "1.0",
                ),
            )
            conn.execute(
                "insert into runs (id, site_id, period, started_at, status) values (?,?,?,?,?)",
                (i, i, "2026-Q1", "2026-01-10 00:00:00.000000", "ok"),
            )
    return data


def _columns(data: Path, table: str) -> list[str]:
    with sqlite3.connect(data / "state.db") as conn:
        return [r[1] for r in conn.execute(f"pragma table_info({table})") if r[1] != "id"]


def _damaged_copy(good: Path, where: Path, table: str, column: str, value: Any) -> bool:
    """A copy of the good folder with one value of row 2 replaced; False when SQLite's own
    constraints refuse that value (then no file can hold it without a damaged schema)."""
    if where.exists():
        shutil.rmtree(where)
    shutil.copytree(good, where)
    with sqlite3.connect(where / "state.db") as conn:
        try:
            conn.execute(
                f'update {table} set "{column}" = ? where id = 2', (TEN_MB if value == BIG else value,)
            )
        except sqlite3.IntegrityError:
            return False
    return True


COMMANDS: list[tuple[str, ...]] = [
    ("status", "--json"),
    ("outbox", "list", "--json"),
    ("site", "list", "--json"),
    ("site", "show", "PS1", "--json"),
    ("run", "--due", "--as-of", "2026-01-02", "--json"),
    ("outbox", "show", "1", "--json"),
]


def _check(data: Path, command: tuple[str, ...]) -> str:
    """Run one command on a damaged store: never exit 1, every error in one line, the other
    sites still shown. Returns how it ended."""
    code, out, err = _cli(data, *command)
    assert code in (ExitCode.OK, ExitCode.RUN_FAILED, ExitCode.STORE), (command, code, err[:500])
    assert "internal error" not in err and "Traceback" not in err, (command, err[:500])
    for line in err.splitlines():
        logged = " WARNING " in line or " INFO " in line  # the run's log records
        assert not line.strip() or line.startswith("error: ") or logged, (command, line[:300])
        assert len(line) < 2000, (command, line[:300])
    if code == ExitCode.STORE:
        assert "damaged" in err and TEN_MB[:100] not in err
    if command[0] in ("status", "site", "run") and command[:2] != ("site", "show"):
        listed = out[: out.rindex("]") + 1] if "]" in out else "[]"
        shown = {r.get("code") or r.get("site") for r in json.loads(listed)}
        assert {"PS1", "PS3"} <= shown, (command, shown)
    if command[:2] == ("outbox", "list"):
        ids = {r["document_id"][:8] for r in json.loads(out)}
        assert {"00000001", "00000003"} <= ids
    return "damage reported" if code else "read"


_VALUES = st.one_of(
    st.none(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.text(max_size=5).map(lambda t: f"P{t}\x00S"),
    st.binary(max_size=30),
    st.sampled_from(["garbage", "2026-13-45", "", "PS1\n", "../x", "[", "{}", "sent ", "enhanced"]),
    st.just(BIG),
)


def test_any_value_in_one_row_is_reported_in_one_line_and_the_others_are_read(
    good: Path, tmp_path: Path, meter: Callable[..., Meter]
) -> None:
    m_ = meter(CAP, "state store rows")
    columns = {t: _columns(good, t) for t in TABLES}

    @budget(12)
    @given(
        st.sampled_from(TABLES).flatmap(lambda t: st.tuples(st.just(t), st.sampled_from(columns[t]))), _VALUES
    )
    def run(where: tuple[str, str], value: Any) -> None:
        if not _damaged_copy(good, tmp_path / "d", *where, value):
            m_.count("refused by SQLite")
            return
        for command in COMMANDS:
            if value == BIG:  # memory measured where it can grow: the 10 MB value
                m_.count(m_.run(functools.partial(_check, tmp_path / "d", command)))
            else:
                m_.inputs += 1
                m_.count(_check(tmp_path / "d", command))

    run()


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("sites", "created_at", "garbage"),  # ValueError: exit 1 everywhere before
        ("sites", "created_at", 12),  # TypeError
        ("sites", "winrm_hosts", "not json"),  # JSONDecodeError in site list
        ("sites", "db_url", "::::"),  # ArgumentError in site list
        ("sites", "name", b"\xff\x00"),  # bytes where text belongs
        ("sites", "code", "P\x00S"),  # NUL: it names the site's lock and key files
        ("enrollments", "cadence", "hourly"),  # ValueError in status
        ("enrollments", "joined_on", BIG),
        ("outbox", "created_at", "yesterday"),
        ("outbox", "state", "lost"),  # LookupError in outbox list
        ("outbox", "document_id", BIG),
    ],
)
def test_each_damaged_row_that_crashed_a_command_is_reported_and_skipped(
    good: Path, tmp_path: Path, table: str, column: str, value: Any, meter: Callable[..., Meter]
) -> None:
    assert _damaged_copy(good, tmp_path / "d", table, column, value)
    m_ = meter(CAP, f"state store {table}.{column} = 10 MB") if value == BIG else None
    ends = {
        m_.run(functools.partial(_check, tmp_path / "d", command)) if m_ else _check(tmp_path / "d", command)
        for command in COMMANDS
    }
    assert "damage reported" in ends
    code, _, err = _cli(tmp_path / "d", "status")
    if code:
        line = next(line for line in err.splitlines() if "damaged" in line)
        assert f"row 2 of table {table} is damaged" in line and "backup" in line


def test_a_damaged_site_named_on_the_command_line_is_exit_14(good: Path, tmp_path: Path) -> None:
    assert _damaged_copy(good, tmp_path / "d", "sites", "created_at", "garbage")
    code, _, err = _cli(tmp_path / "d", "site", "show", "PS2")
    assert code == ExitCode.STORE and err.count("\n") == 1
    assert "column created_at of row 2 of table sites is damaged" in err


@pytest.mark.parametrize(
    ("column", "value", "ref"),
    [
        ("body", b"not gzip at all", "2"),  # BadGzipFile: exit 1 before
        ("created_at", "garbage", "00000002-0000-5000-8000-000000000000"),
    ],
)
def test_outbox_show_of_a_damaged_document_is_exit_14(
    good: Path, tmp_path: Path, column: str, value: Any, ref: str
) -> None:
    assert _damaged_copy(good, tmp_path / "d", "outbox", column, value)
    code, _, err = _cli(tmp_path / "d", "outbox", "show", ref)
    assert code == ExitCode.STORE and err.count("\n") == 1, err
    assert f"column {column} of row 2 of table outbox is damaged" in err


@pytest.mark.parametrize("ref", ["9" * 5000, "٣", "x\x00y"])
def test_outbox_show_of_an_odd_reference_is_not_found(good: Path, ref: str) -> None:
    code, _, err = _cli(good, "outbox", "show", ref)
    assert code == ExitCode.CONFIG and err.count("\n") == 1 and "no outbox document" in err, err


@pytest.mark.parametrize("code", ["PS1\n", "P\x00S", "../", "PS1/", "ÄB1", " PS1"])
def test_a_site_code_with_a_newline_nul_or_path_characters_is_refused(code: str) -> None:
    """The old check took "PS1\\n" (``$`` matches before a final newline) into file names."""
    with pytest.raises(ConfigError, match="is not a site code"):
        normalize_code(code)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("SCCM_CEP_DATA_DIR", str(tmp_path / "data"))
    yield tmp_path / "data"


@pytest.mark.parametrize("name", ["site-../../escape", "site-P\x00S", "site-PS1\n", "site-a/b", ""])
def test_a_secret_name_that_is_not_a_plain_file_name_is_refused(data_dir: Path, name: str) -> None:
    from sccm_cep.platform.config import new_secret

    with pytest.raises(ConfigError, match="secret name"):
        new_secret(name)
    assert not (data_dir.parent / "escape.key").exists()


@pytest.fixture
def hostile_code_site(sqlite_site: str, tmp_path: Path) -> Callable[[str], str]:
    """A copy of the synthetic site whose v_Site row holds the given site code."""

    def make(code: str) -> str:
        path = tmp_path / "site.db"
        shutil.copy(sqlite_site.removeprefix("sqlite:///"), path)
        with sqlite3.connect(path) as conn:
            conn.execute("update v_Site set SiteCode = ?", (code,))
        return f"sqlite:///{path}"

    return make


@pytest.mark.parametrize("code", ["P\x00S", "../../../escape", "PS1\n", "x" * 100_000])
def test_an_export_refuses_a_site_code_from_the_source_that_would_name_a_file_badly(
    hostile_code_site: Callable[[str], str], tmp_path: Path, code: str
) -> None:
    """A one-off export names the site's key file after the code the source holds: a NUL was an
    internal error, ``..`` a key file outside the data folder."""
    data = tmp_path / "data"
    status, _out, err = _cli(data, "export", "--db", hostile_code_site(code), "--out", str(tmp_path / "out"))
    assert status == ExitCode.NOT_A_SITE, err
    assert err.count("\n") == 1 and "site code is not three letters or digits" in err
    assert code not in err and "escape" not in err
    assert not list(tmp_path.rglob("*escape*")) and not (tmp_path / "out").exists()
