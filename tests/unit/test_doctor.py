"""The doctor's checks: each failure becomes a Check with a fix, nothing raises, no secret shows."""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import sqlite3
import sys
import types
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import ClassVar

import pytest

from sccm_cep.collector import doctor, doctor_files
from sccm_cep.collector.doctor import Check, has_errors, run_checks
from sccm_cep.errors import SourceError, SourceQueryError, SourceUnreachable

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
CANARY = "canary-Pw-7f3a"
NAMES = [
    "python",
    "odbc",
    "keyring",
    "data-dir",
    "data-dir-permissions",
    "secrets",
    "state-store",
    "state-file",
    "clock",
    "timezone",
]


def _by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def _check(name: str, tmp_path: Path, state_url: str | None = None, data_dir: Path | None = None) -> Check:
    return _by_name(run_checks(state_url=state_url, data_dir=data_dir or tmp_path / "data", now=NOW))[name]


def _fake_import(replacements: dict[str, ModuleType | BaseException]) -> object:
    def load(name: str) -> ModuleType:
        found = replacements.get(name)
        if isinstance(found, BaseException):
            raise found
        return found if found is not None else importlib.import_module(name)

    return load


def test_all_checks_run_in_order_and_a_healthy_setup_has_no_errors(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    sqlite3.connect(db).close()
    checks = run_checks(state_url=f"sqlite:///{db}", data_dir=tmp_path / "data", now=NOW)
    assert [c.name for c in checks] == NAMES
    by_name = _by_name(checks)
    for name in ("python", "data-dir", "data-dir-permissions", "state-store", "clock"):
        assert by_name[name].ok, by_name[name]
    assert by_name["state-store"].detail.endswith("connected")
    assert not has_errors(checks)
    assert all(c.severity == "info" for c in checks if c.ok)
    with pytest.raises(dataclasses.FrozenInstanceError):
        checks[0].ok = False  # type: ignore[misc]


def test_old_python_is_an_error() -> None:
    check = doctor._python((3, 10, 4))
    assert not check.ok and check.severity == "error" and check.fix


# ODBC ------------------------------------------------------------------------------------------


def test_missing_pyodbc_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyodbc", None)  # makes "import pyodbc" fail as if absent
    check = _check("odbc", tmp_path)
    assert not check.ok and check.severity == "warning"
    assert check.fix == "pip install 'sccm-cep[mssql]'"


def test_pyodbc_without_libodbc_names_the_odbc_runtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = ImportError("libodbc.so.2: cannot open shared object file: No such file or directory")
    monkeypatch.setattr(doctor, "_import", _fake_import({"pyodbc": broken}))
    monkeypatch.setattr(sys, "platform", "linux")
    check = _check("odbc", tmp_path)
    assert not check.ok and "ODBC runtime" in check.detail
    assert check.fix is not None and "apt-get install unixodbc" in check.fix
    monkeypatch.setattr(sys, "platform", "win32")
    assert _check("odbc", tmp_path).fix == "install ODBC Driver 18 for SQL Server"


@pytest.mark.parametrize(
    ("drivers", "ok"),
    [
        (["ODBC Driver 18 for SQL Server"], True),
        (["ODBC Driver 17 for SQL Server", "SQLite3"], True),
        (["FreeTDS"], True),
        (["PostgreSQL Unicode"], False),
        ([], False),
    ],
)
def test_odbc_needs_a_sql_server_driver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, drivers: list[str], ok: bool
) -> None:
    fake = types.ModuleType("pyodbc")
    fake.drivers = lambda: drivers  # type: ignore[attr-defined]
    monkeypatch.setattr(doctor, "_import", _fake_import({"pyodbc": fake}))
    check = _check("odbc", tmp_path)
    assert check.ok is ok
    if not ok:
        assert check.severity == "warning" and "ODBC Driver 18" in (check.fix or "")


# keyring ---------------------------------------------------------------------------------------


def _fake_keyring(module: str) -> ModuleType:
    backend = type("Keyring", (), {"__module__": module})
    fake = types.ModuleType("keyring")
    fake.get_keyring = backend  # type: ignore[attr-defined]
    return fake


def test_missing_keyring_is_info_as_file_references_still_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "keyring", None)
    check = _check("keyring", tmp_path)
    assert not check.ok and check.severity == "info"
    assert "file:" in check.detail and check.fix


@pytest.mark.parametrize("module", ["keyring.backends.fail", "keyring.backends.null"])
def test_fail_or_null_keyring_backend_is_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: str
) -> None:
    monkeypatch.setattr(doctor, "_import", _fake_import({"keyring": _fake_keyring(module)}))
    check = _check("keyring", tmp_path)
    assert not check.ok and check.severity == "warning" and check.fix


def test_a_real_keyring_backend_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _fake_keyring("keyring.backends.SecretService")
    monkeypatch.setattr(doctor, "_import", _fake_import({"keyring": fake}))
    check = _check("keyring", tmp_path)
    assert check.ok and "SecretService" in check.detail


# data folder -----------------------------------------------------------------------------------


def test_missing_data_dir_is_created_private(tmp_path: Path) -> None:
    folder = tmp_path / "a" / "b"
    check = _check("data-dir", tmp_path, data_dir=folder)
    assert check.ok and "created" in check.detail
    assert folder.is_dir() and not list(folder.iterdir())  # the probe file is gone


def test_data_dir_under_a_regular_file_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    checks = _by_name(run_checks(state_url=None, data_dir=blocker / "data", now=NOW))
    assert not checks["data-dir"].ok and checks["data-dir"].severity == "error"
    assert checks["data-dir"].fix and "SCCM_CEP_DATA_DIR" in checks["data-dir"].fix
    assert checks["data-dir-permissions"].severity == "info"  # one cause, one error
    assert has_errors(list(checks.values()))


def test_data_dir_that_is_a_file_is_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    check = _check("data-dir", tmp_path, data_dir=blocker)
    assert not check.ok and "not a folder" in check.detail


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0, reason="root and Windows ignore mode bits")
def test_read_only_data_dir_is_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        check = _check("data-dir", tmp_path, data_dir=folder)
    finally:
        folder.chmod(0o700)
    assert not check.ok and "not writable" in check.detail and check.fix


@pytest.mark.skipif(os.name == "nt", reason="mode bits are POSIX")
def test_group_or_world_writable_data_dir_is_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o777)
    check = _check("data-dir-permissions", tmp_path, data_dir=folder)
    assert not check.ok and check.severity == "error"
    assert check.fix == f"chmod 700 {folder}" and "writable by" in check.detail


@pytest.mark.skipif(os.name == "nt", reason="mode bits are POSIX")
def test_readable_data_dir_state_file_and_key_files_are_reported_as_found(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "secrets").mkdir(parents=True)
    data.chmod(0o755)
    (data / "secrets").chmod(0o700)
    (data / "secrets" / "site-PS1-v1.key").write_text("x")
    (data / "secrets" / "site-PS1-v1.key").chmod(0o640)
    (data / "secrets" / "site-PS2-v1.key").write_text("x")
    (data / "secrets" / "site-PS2-v1.key").chmod(0o600)
    state = data / "state.db"
    sqlite3.connect(state).close()
    state.chmod(0o644)
    checks = _by_name(run_checks(state_url=f"sqlite:///{state}", data_dir=data, now=NOW))
    folder, keys, store = checks["data-dir-permissions"], checks["secrets"], checks["state-file"]
    assert (folder.ok, folder.severity) == (False, "warning") and "mode 755" in folder.detail
    assert "readable by" in folder.detail and "all users" in folder.detail
    assert (keys.ok, keys.severity) == (False, "error")
    assert "site-PS1-v1.key is readable by group" in keys.detail
    assert "PS2" not in keys.detail and keys.fix == f"chmod 600 {data / 'secrets' / 'site-PS1-v1.key'}"
    assert (store.ok, store.severity) == (False, "warning") and store.fix == f"chmod 600 {state}"
    (data / "secrets" / "site-PS1-v1.key").chmod(0o600)
    state.chmod(0o600)
    data.chmod(0o700)
    checks = _by_name(run_checks(state_url=f"sqlite:///{state}", data_dir=data, now=NOW))
    assert checks["secrets"].ok and "2 key file(s) are private" in checks["secrets"].detail
    assert checks["state-file"].ok and checks["data-dir-permissions"].detail.endswith("is private (mode 700)")


# state store -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        f"postgresql+nosuchdriver://cep:{CANARY}@db/state",
        f"sqlite:///{'/nonexistent-folder-for-doctor'}/state.db",
        f"postgresql+psycopg://cep:{CANARY}@127.0.0.1:1/state",  # nothing listens on port 1
        f"postgresql+psycopg://cep@127.0.0.1:1/state?password={CANARY}",
    ],
)
def test_broken_state_url_is_an_error_without_the_password(tmp_path: Path, url: str) -> None:
    check = _check("state-store", tmp_path, state_url=url)
    assert not check.ok and check.severity == "error" and check.fix
    assert CANARY not in repr(check)


def test_invalid_state_url_is_not_echoed(tmp_path: Path) -> None:
    check = _check("state-store", tmp_path, state_url=f"::{CANARY}::")
    assert not check.ok and CANARY not in repr(check)


def test_sqlite_state_store_is_not_created_by_the_check(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    check = _check("state-store", tmp_path, state_url=f"sqlite:///{db}")
    assert check.ok and not db.exists()


def test_in_memory_state_store_is_a_warning(tmp_path: Path) -> None:
    check = _check("state-store", tmp_path, state_url="sqlite://")
    assert not check.ok and check.severity == "warning"


def test_no_state_url_is_fine(tmp_path: Path) -> None:
    assert _check("state-store", tmp_path).ok


# clock and robustness --------------------------------------------------------------------------


@pytest.mark.parametrize(("year", "ok"), [(2019, False), (2024, True), (2100, True), (2101, False)])
def test_clock_year_must_be_plausible(tmp_path: Path, year: int, ok: bool) -> None:
    checks = run_checks(state_url=None, data_dir=tmp_path, now=NOW.replace(year=year))
    check = _by_name(checks)["clock"]
    assert check.ok is ok
    assert check.severity == ("info" if ok else "error")


def test_a_check_that_raises_becomes_an_error_without_its_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom() -> Check:
        raise RuntimeError(CANARY)

    monkeypatch.setattr(doctor, "_timezone", boom)
    checks = run_checks(state_url=None, data_dir=tmp_path, now=NOW)
    check = _by_name(checks)["timezone"]
    assert not check.ok and check.severity == "error" and "RuntimeError" in check.detail
    assert CANARY not in repr(checks)


# WinRM scripts and the capture ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Item:
    host: str
    script: str
    rows: list[dict[str, object]] | None
    withheld: int = 0
    error: SourceError | None = None


class _FakeWinRM:
    """Stands for the WinRM connector's capture seam: what each host's scripts gave."""

    capture_treatments: ClassVar[dict[str, dict[str, str]]] = {"site": {"SiteCode": "site_code"}}

    def __init__(self, items: list[_Item], fail: SourceError | None = None) -> None:
        self.items, self.fail, self.asked = items, fail, 0

    def capture(self, flagged: object, public: object) -> Iterator[_Item]:
        self.asked += 1
        yield from self.items
        if self.fail is not None:
            raise self.fail


def test_winrm_checks_report_each_site_script_and_clients_per_script(tmp_path: Path) -> None:
    down = SourceUnreachable("client 10.0.0.7 is unreachable", hint="check the firewall")
    fake = _FakeWinRM(
        [
            _Item("site", "site", [{"SiteCode": "X1Y"}]),
            _Item("client-001", "client_software", [{"DisplayName": "7-Zip"}]),
            _Item("client-002", "client_software", None, error=down),
        ]
    )
    checks = doctor.winrm_checks(fake, None, tool_version="0")
    by_name = _by_name(checks)
    assert (
        by_name["winrm:site"].ok
        and "1 row(s), valid against site.schema.json" in by_name["winrm:site"].detail
    )
    software = by_name["winrm:client_software"]
    assert not software.ok and software.severity == "warning"
    assert software.detail.startswith("1 of 2 client(s) valid") and "unreachable" in software.detail
    assert not has_errors(checks) and fake.asked == 1 and not list(tmp_path.iterdir())


def test_winrm_capture_writes_documents_and_a_manifest_privately(tmp_path: Path) -> None:
    fake = _FakeWinRM([_Item("site", "site", [{"SiteCode": "X1Y"}], withheld=2)])
    folder = tmp_path / "cap"
    checks = doctor.winrm_checks(fake, folder, tool_version="9.9")
    assert _by_name(checks)["winrm-capture"].detail.endswith("2 value(s) withheld")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["tool_version"] == "9.9" and manifest["complete"] is True
    assert manifest["treatments"] == fake.capture_treatments
    (doc,) = manifest["documents"]
    assert doc == {**doc, "host": "site", "script": "site", "rows": 1, "withheld": 2}
    assert json.loads((folder / "site" / "site.json").read_text(encoding="utf-8")) == [{"SiteCode": "X1Y"}]
    if os.name == "posix":
        assert folder.stat().st_mode & 0o077 == 0


def test_a_connector_error_mid_capture_is_an_error_check_and_the_capture_says_incomplete(
    tmp_path: Path,
) -> None:
    broken = SourceQueryError(f"baselines.ps1 printed bad JSON {CANARY}"[:40], hint="reinstall")
    fake = _FakeWinRM([_Item("site", "site", [{"SiteCode": "X1Y"}])], fail=broken)
    checks = doctor.winrm_checks(fake, tmp_path / "cap", tool_version="0")
    assert not _by_name(checks)["winrm"].ok and has_errors(checks)
    manifest = json.loads((tmp_path / "cap" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["complete"] is False and len(manifest["documents"]) == 1


@pytest.mark.parametrize(
    ("name", "publisher", "public"),
    [
        ("Mozilla Firefox (x64 en-US)", "Mozilla", True),
        ("Zoom (j.doe)", "Zoom Video Communications, Inc.", False),
        ("Vandermolen Sprengplaner 3", "Vandermolen Quarrying AG", False),
        (None, "Microsoft Corporation", True),
        (None, "Contoso Ltd", False),
        ("Notepad++", None, False),
    ],
)
def test_a_capture_keeps_only_public_programs(name: str | None, publisher: str | None, public: bool) -> None:
    assert doctor_files._public_program(name, publisher) is public
