"""The same promises from both implementations: protected means private, shared is reported,
new files in a protected folder stay private, sealed secrets come back, config goes through it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sccm_cep import platform
from sccm_cep.errors import ConfigError
from sccm_cep.platform import config
from tests.support.fake_win32 import Host


def test_a_protected_file_is_private_and_a_shared_one_is_reported(host: Host, tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    path.write_text("x")
    host.platform.protect_file(path)
    assert host.platform.exposure(path).private
    host.share(path)
    found = host.platform.exposure(path)
    assert not found.private and found.readers
    assert found.describe().startswith("readable by ")


def test_files_made_in_a_protected_folder_are_private(host: Host, tmp_path: Path) -> None:
    folder = tmp_path / "data" / "secrets"
    assert platform.make_private_folder(folder)
    assert host.platform.exposure(folder).private
    platform.write_private_file(folder / "a.key", b"one")
    platform.write_private_file(folder / "b.key", b"two", exclusive=True)
    assert (folder / "a.key").read_bytes() == b"one"
    for name in ("a.key", "b.key"):
        assert host.platform.exposure(folder / name).private
    assert sorted(p.name for p in folder.iterdir()) == ["a.key", "b.key"]  # no temporary file left


def test_an_exclusive_write_never_replaces(host: Host, tmp_path: Path) -> None:
    path = tmp_path / "k"
    platform.write_private_file(path, b"first", exclusive=True)
    with pytest.raises(FileExistsError):
        platform.write_private_file(path, b"second", exclusive=True)
    platform.write_private_file(path, b"third")
    assert path.read_bytes() == b"third"


def test_an_existing_folder_is_left_as_it_is(host: Host, tmp_path: Path) -> None:
    folder = tmp_path / "existing"
    folder.mkdir()
    host.share(folder)
    assert not platform.make_private_folder(folder)
    assert not host.platform.exposure(folder).private


def test_sealed_text_comes_back_and_is_not_stored_in_clear_where_it_can_be_sealed(host: Host) -> None:
    secret = "9f" * 32
    stored = platform.seal_text(secret)
    assert platform.unseal_text(stored, what="the key") == secret
    if host.platform.seals_secrets:
        assert stored.startswith(platform.DPAPI_PREFIX) and secret not in stored
    else:
        assert stored == secret


def test_config_refuses_a_shared_secret_file_and_names_the_fix(host: Host, tmp_path: Path) -> None:
    path = tmp_path / "pw"
    platform.write_private_file(path, b"Pw-Never-Shown-1\n")
    assert config.resolve_secret(f"file:{path}") == "Pw-Never-Shown-1"
    host.share(path)
    with pytest.raises(ConfigError) as err:
        config.resolve_secret(f"file:{path}")
    assert "readable by" in err.value.message and err.value.hint == host.platform.fix_hint(path)
    assert "Pw-Never-Shown-1" not in err.value.one_line()


def test_the_site_key_the_tool_makes_is_usable_at_once(
    host: Host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCCM_CEP_DATA_DIR", str(tmp_path / "data"))
    ref = config.new_secret("site-PS1-v1")
    assert ref == "file:secrets/site-PS1-v1.key"
    key = config.load_secret(ref, base=tmp_path / "data")
    assert len(key) == 32
    path = tmp_path / "data" / "secrets" / "site-PS1-v1.key"
    assert host.platform.exposure(path).private and host.platform.exposure(path.parent).private
    stored = path.read_text().strip()
    assert stored.startswith(platform.DPAPI_PREFIX) == host.platform.seals_secrets
    assert config.new_secret("site-PS1-v1") == ref and config.load_secret(ref, base=tmp_path / "data") == key


@pytest.mark.skipif(os.name == "nt", reason="mode bits are POSIX")
def test_posix_protection_is_0600_and_0700(tmp_path: Path) -> None:
    from sccm_cep.platform.posix import PosixPlatform

    seam = PosixPlatform()
    folder = tmp_path / "f"
    assert platform.make_private_folder(folder, seam)
    platform.write_private_file(folder / "k", b"x", platform=seam)
    assert (folder.stat().st_mode & 0o777, (folder / "k").stat().st_mode & 0o777) == (0o700, 0o600)
    os.chmod(folder / "k", 0o640)
    found = seam.exposure(folder / "k")
    assert found.found == "mode 640" and found.readers and not found.writers
