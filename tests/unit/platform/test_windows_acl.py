"""The Windows implementation against stand-ins of win32security / win32crypt: the exact ACL it
sets, what it reports as readable, DPAPI bound to the account, and doctor's findings."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sccm_cep import platform
from sccm_cep.collector.doctor import run_checks
from sccm_cep.errors import ConfigError
from sccm_cep.platform import config
from sccm_cep.platform.windows import WindowsPlatform
from tests.support.fake_win32 import (
    ADMINS,
    FULL,
    ME,
    ORPHAN,
    SYSTEM,
    USERS,
    FakeAcl,
    FakeWin32Api,
    FakeWin32Crypt,
    FakeWin32Security,
    FakeWinError,
    Host,
)


def _security(host: Host) -> FakeWin32Security:
    assert host.security is not None
    return host.security


def test_protect_sets_a_protected_acl_of_owner_system_and_administrators(
    windows: Host, tmp_path: Path
) -> None:
    path = tmp_path / "k.key"
    path.write_text("x")
    windows.platform.protect_file(path)
    windows.platform.protect_folder(tmp_path)
    security = _security(windows)
    assert {str(path), str(tmp_path)} <= security.protected  # nothing inherited from the parent
    file_acl, folder_acl = security.acls[str(path)], security.acls[str(tmp_path)]
    assert file_acl is not None and folder_acl is not None
    assert file_acl.aces == [((0, 0), FULL, ME), ((0, 0), FULL, SYSTEM), ((0, 0), FULL, ADMINS)]
    assert [flags for (_t, flags), _m, _s in folder_acl.aces] == [0x3, 0x3, 0x3]  # files made later inherit


def test_what_programdata_hands_down_is_reported_not_called_fine(windows: Host, tmp_path: Path) -> None:
    path = tmp_path / "k.key"
    path.write_text("x")
    found = windows.platform.exposure(path)
    assert found.readers == ("BUILTIN\\Users",) and not found.writers


def test_exposure_reads_the_dacl_entry_by_entry(windows: Host, tmp_path: Path) -> None:
    path = tmp_path / "k.key"
    path.write_text("x")
    security = _security(windows)
    security.acls[str(path)] = FakeAcl(
        [
            ((0, 0), FULL, ME),
            ((0, 0x8), FULL, USERS),  # inherit-only: does not apply to the file itself
            ((1, 0), FULL, USERS),  # a deny entry grants nothing
            ((0, 0), 0x2, ORPHAN),  # write only, by a deleted account
        ]
    )
    found = windows.platform.exposure(path)
    assert found.readers == () and found.writers == ("S-1-5-21-1-2-3-1105",)
    security.acls[str(path)] = None
    assert windows.platform.exposure(path).readers == ("Everyone (no access list)",)


def test_a_failed_acl_call_is_an_oserror_and_the_key_is_not_left_behind(
    windows: Host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCCM_CEP_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "data" / "secrets").mkdir(parents=True)
    security = _security(windows)
    security.acls[str(tmp_path / "data")] = FakeAcl()
    security.acls[str(tmp_path / "data" / "secrets")] = FakeAcl()
    security.fail_next = FakeWinError(5, "SetNamedSecurityInfo", "Access is denied.")
    with pytest.raises(OSError, match="Access is denied"):
        windows.platform.protect_file(tmp_path)
    security.fail_next = None

    allow = security.SetNamedSecurityInfo

    def refuse(name: str, *args: Any) -> None:
        if name.endswith(".key"):  # the folders are protected, the key file is refused
            raise FakeWinError(5, "SetNamedSecurityInfo", "Access is denied.")
        allow(name, *args)

    monkeypatch.setattr(security, "SetNamedSecurityInfo", refuse)
    with pytest.raises(ConfigError, match="Access is denied"):
        config.new_secret("site-PS1-v1")
    assert not (tmp_path / "data" / "secrets" / "site-PS1-v1.key").exists()


def test_dpapi_is_bound_to_the_account_that_sealed(windows: Host, tmp_path: Path) -> None:
    stored = platform.seal_text("ab" * 32)
    other = WindowsPlatform(
        win32security=FakeWin32Security(),
        win32crypt=FakeWin32Crypt("HOST\\someone-else"),
        win32api=FakeWin32Api(),
    )
    with pytest.raises(ConfigError) as err:
        platform.unseal_text(stored, what="the key", platform=other)
    assert "another Windows account" in err.value.message and "import-key" in (err.value.hint or "")


def test_a_dpapi_key_copied_to_a_posix_host_says_how_to_move_it(windows: Host, tmp_path: Path) -> None:
    from sccm_cep.platform.posix import PosixPlatform

    stored = platform.seal_text("ab" * 32)
    with pytest.raises(ConfigError) as err:
        platform.unseal_text(stored, what="secret file k.key", platform=PosixPlatform())
    assert "sealed with Windows DPAPI on another host" in err.value.message
    assert "import-key" in (err.value.hint or "")


def test_fix_hint_is_an_icacls_command(windows: Host, tmp_path: Path) -> None:
    hint = windows.platform.fix_hint(tmp_path)
    assert hint.startswith(f'icacls "{tmp_path}" /inheritance:r') and "(OI)(CI)F" in hint


def test_doctor_on_windows_reports_who_else_can_read(windows: Host, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "secrets").mkdir()
    (data / "secrets" / "site-PS1-v1.key").write_text("x")
    (data / "state.db").write_bytes(b"")
    now = datetime(2026, 11, 24, tzinfo=UTC)
    checks = {
        c.name: c
        for c in run_checks(
            state_url=f"sqlite:///{data / 'state.db'}", data_dir=data, now=now, host=windows.platform
        )
    }
    assert not checks["data-dir-permissions"].ok and "BUILTIN\\Users" in checks["data-dir-permissions"].detail
    assert checks["secrets"].severity == "error" and "site-PS1-v1.key is readable by BUILTIN\\Users" in (
        checks["secrets"].detail
    )
    assert not checks["state-file"].ok and "icacls" in (checks["state-file"].fix or "")
    for path in (data, data / "secrets"):
        windows.platform.protect_folder(path)
    for path in (data / "secrets" / "site-PS1-v1.key", data / "state.db"):
        windows.platform.protect_file(path)
    checks = {
        c.name: c
        for c in run_checks(
            state_url=f"sqlite:///{data / 'state.db'}", data_dir=data, now=now, host=windows.platform
        )
    }
    for name in ("data-dir-permissions", "secrets", "state-file"):
        assert checks[name].ok, checks[name]
