"""Site keys on collector hosts that share one state store: relative references, the one-line
error of a host without the key, export-key / import-key, and what remove and register leave."""

from __future__ import annotations

import json
import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from click.testing import CliRunner, Result
from keyring.backend import KeyringBackend
from sqlalchemy import create_engine, select, text

from sccm_cep.cli import cli
from sccm_cep.collector.store import Site, Store

PASSPHRASE = "Tr4nsfer-Passphrase-Never-Shown"
MISSING = "site PS1: its key (version 1) is not on this host"
HOW = "sccm-cep site import-key PS1 FILE"


class Host:
    """One collector host: its own data folder, the shared state store."""

    def __init__(self, data: Path, state: str) -> None:
        self.data, self.state = data, state
        self.printed: list[str] = []

    def __call__(self, *args: str, code: int = 0, input: str | None = None) -> Result:
        result = CliRunner().invoke(
            cli,
            ["--data-dir", str(self.data), "--state", self.state, *args],
            input=input,
            catch_exceptions=False,
        )
        self.printed.append(result.output)
        assert result.exit_code == code, result.output
        return result

    def pseudonym(self) -> str:
        return self("verify-pseudonym", "PS1", "--kind", "device", "--value", "GUID:1").stdout


def _secret_ref(state: str) -> str:
    store = Store(state)
    try:
        with store.session() as session:
            return str(session.execute(select(Site.secret_ref).where(Site.code == "PS1")).scalar_one())
    finally:
        store.dispose()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _two_hosts_share_one_store(
    state: str, tmp_path: Path, sqlite_site: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = Host(tmp_path / "host-a", state), Host(tmp_path / "host-b", state)
    a("site", "register", "PS1", "--db", sqlite_site)
    a("join", "PS1", "--yes", "--as-of", "2026-11-24")
    assert _secret_ref(state) == "file:secrets/site-PS1-v1.key"  # resolved in each host's data folder
    key = (tmp_path / "host-a" / "secrets" / "site-PS1-v1.key").read_text().strip()

    # Host B has no key: one line naming the site and how to bring the key, in every command.
    run = b("run", "--period", "2026-Q4", "--site", "PS1", "--json", code=10)
    assert MISSING in run.output and HOW in run.output
    preview = b("preview", "PS1", code=3)
    assert preview.stderr.startswith(f"error: configuration: {MISSING}") and HOW in preview.stderr
    assert preview.stderr.strip().count("\n") == 0

    exported = tmp_path / "carry" / "ps1.cepkey"
    a("site", "export-key", "PS1", "--out", str(exported), input=f"{PASSPHRASE}\n{PASSPHRASE}\n")
    assert key not in exported.read_text() and _mode(exported) == 0o600

    monkeypatch.setenv("CEP_WRONG", "not-the-passphrase")
    wrong = b("site", "import-key", "PS1", str(exported), "--passphrase", "env:CEP_WRONG", code=3)
    assert "wrong passphrase" in wrong.stderr and wrong.stderr.strip().count("\n") == 0
    monkeypatch.setenv("CEP_PASS", PASSPHRASE)
    assert (
        "key imported" in b("site", "import-key", "PS1", str(exported), "--passphrase", "env:CEP_PASS").output
    )
    assert (
        "already holds"
        in b("site", "import-key", "PS1", str(exported), "--passphrase", "env:CEP_PASS").output
    )

    imported = tmp_path / "host-b" / "secrets" / "site-PS1-v1.key"
    assert imported.read_text().strip() == key and _mode(imported) == 0o600
    taken = json.loads(b("run", "--period", "2026-Q4", "--site", "PS1", "--json").stdout)
    assert [o["status"] for o in taken if o["step"] == "take"] == ["taken"]
    assert a.pseudonym() == b.pseudonym()
    for printed in a.printed + b.printed:
        assert key not in printed and PASSPHRASE not in printed


@pytest.mark.postgres
def test_two_hosts_sharing_a_postgres_store_each_use_their_own_data_folder(
    pg_base: str, tmp_path: Path, data_dir: Path, sqlite_site: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"state_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        _two_hosts_share_one_store(pg_base.rsplit("/", 1)[0] + f"/{name}", tmp_path, sqlite_site, monkeypatch)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_two_hosts_sharing_a_sqlite_store_each_use_their_own_data_folder(
    tmp_path: Path, data_dir: Path, sqlite_site: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _two_hosts_share_one_store(f"sqlite:///{tmp_path / 'shared.db'}", tmp_path, sqlite_site, monkeypatch)


@pytest.fixture
def pair(tmp_path: Path, data_dir: Path, sqlite_site: str) -> tuple[Host, Host]:
    state = f"sqlite:///{tmp_path / 'shared.db'}"
    a, b = Host(tmp_path / "host-a", state), Host(tmp_path / "host-b", state)
    a("site", "register", "PS1", "--db", sqlite_site)
    a("site", "register", "PS2", "--db", sqlite_site)
    return a, b


def test_import_refuses_another_sites_key_and_a_different_key_without_replace(
    pair: tuple[Host, Host], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = pair
    monkeypatch.setenv("CEP_PASS", PASSPHRASE)
    pass_ref = ("--passphrase", "env:CEP_PASS")
    a("site", "export-key", "PS1", "--out", str(tmp_path / "ps1.cepkey"), *pass_ref)
    wrong_site = a("site", "import-key", "PS2", str(tmp_path / "ps1.cepkey"), *pass_ref, code=3)
    assert "holds the key of site PS1, not of site PS2" in wrong_site.stderr
    b("site", "register", "PS3", "--db", "sqlite:///nowhere.db")  # B makes its own, different key
    b("site", "export-key", "PS3", "--out", str(tmp_path / "ps3.cepkey"), *pass_ref)
    a("site", "import-key", "PS3", str(tmp_path / "ps3.cepkey"), *pass_ref)
    assert (
        a("verify-pseudonym", "PS3", "--kind", "device", "--value", "x").stdout
        == b("verify-pseudonym", "PS3", "--kind", "device", "--value", "x").stdout
    )
    # A different key of the same site and version is kept unless --replace.
    b_key = tmp_path / "host-b" / "secrets" / "site-PS1-v1.key"
    b_key.write_text("ab" * 32 + "\n")
    b_key.chmod(0o600)
    refused = b("site", "import-key", "PS1", str(tmp_path / "ps1.cepkey"), *pass_ref, code=3)
    assert "already has a different key" in refused.stderr and "--replace" in refused.stderr
    b("site", "import-key", "PS1", str(tmp_path / "ps1.cepkey"), *pass_ref, "--replace")
    assert a.pseudonym() == b.pseudonym()


def test_export_asks_twice_and_refuses_a_mismatch(pair: tuple[Host, Host], tmp_path: Path) -> None:
    a, _ = pair
    out = tmp_path / "k.cepkey"
    result = CliRunner().invoke(
        cli,
        ["--data-dir", str(a.data), "--state", a.state, "site", "export-key", "PS1", "--out", str(out)],
        input=f"{PASSPHRASE}\nsomething-else-1\n{PASSPHRASE}\n{PASSPHRASE}\n",
    )
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output and PASSPHRASE not in result.output
    assert json.loads(out.read_text())["site"] == "PS1"


def test_an_absolute_reference_of_an_older_release_keeps_working(
    pair: tuple[Host, Host], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = pair
    absolute = tmp_path / "host-a" / "secrets" / "site-PS1-v1.key"
    store = Store(a.state)
    with store.session() as session:
        session.execute(
            text("update sites set secret_ref = :ref where code = 'PS1'"), {"ref": f"file:{absolute}"}
        )
        session.commit()
    store.dispose()
    first = a.pseudonym()
    monkeypatch.setenv("CEP_PASS", PASSPHRASE)
    a("site", "export-key", "PS1", "--out", str(tmp_path / "k"), "--passphrase", "env:CEP_PASS")
    os.rename(absolute, tmp_path / "moved.key")  # as if host B had no such path
    assert MISSING in b("verify-pseudonym", "PS1", "--kind", "device", "--value", "x", code=3).stderr
    b("site", "import-key", "PS1", str(tmp_path / "k"), "--passphrase", "env:CEP_PASS")
    assert (tmp_path / "host-b" / "secrets" / "site-PS1-v1.key").exists()
    assert b.pseudonym() == first


def test_register_makes_the_data_folder_store_and_key_private(data_dir: Path, sqlite_site: str) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["site", "register", "PS1", "--db", sqlite_site])
    assert result.exit_code == 0, result.output
    assert _mode(data_dir) == 0o700 and _mode(data_dir / "state.db") == 0o600
    assert _mode(data_dir / "secrets") == 0o700 and _mode(data_dir / "secrets" / "site-PS1-v1.key") == 0o600
    duplicate = runner.invoke(cli, ["site", "register", "PS1", "--db", sqlite_site])
    assert duplicate.exit_code == 3 and "see 'sccm-cep site show PS1'" in duplicate.stderr
    doctor = runner.invoke(cli, ["doctor", "--json"])
    found = {c["name"]: c for c in json.loads(doctor.stdout)}
    for name in ("data-dir-permissions", "secrets", "state-file"):
        assert found[name]["ok"] and "private" in found[name]["detail"], found[name]
    (data_dir / "secrets" / "site-PS1-v1.key").chmod(0o644)
    found = {c["name"]: c for c in json.loads(runner.invoke(cli, ["doctor", "--json"]).stdout)}
    assert not found["secrets"]["ok"] and "site-PS1-v1.key is readable by" in found["secrets"]["detail"]


def test_remove_deletes_every_key_version_on_this_host(data_dir: Path, sqlite_site: str) -> None:
    runner = CliRunner()
    for args in (["site", "register", "PS1", "--db", sqlite_site], ["site", "rotate-key", "PS1", "--yes"]):
        assert runner.invoke(cli, args).exit_code == 0
    keys = sorted(p.name for p in (data_dir / "secrets").iterdir())
    assert keys == ["site-PS1-v1.key", "site-PS1-v2.key"]
    assert runner.invoke(cli, ["site", "remove", "PS1", "--yes"]).exit_code == 0
    assert not list((data_dir / "secrets").iterdir())


class MemoryKeyring(KeyringBackend):
    priority = 1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        del self.items[(service, username)]


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    before = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    try:
        yield ring
    finally:
        keyring.set_keyring(before)


def test_keyring_keys_move_between_hosts_and_go_with_remove(
    memory_keyring: MemoryKeyring,
    tmp_path: Path,
    data_dir: Path,
    sqlite_site: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a = Host(tmp_path / "a", f"sqlite:///{tmp_path / 'shared.db'}")
    a("site", "register", "PS1", "--db", sqlite_site, "--secret-store", "keyring")
    a("site", "rotate-key", "PS1", "--yes")
    value = memory_keyring.items[("sccm-cep", "site-PS1-v2")]
    monkeypatch.setenv("CEP_PASS", PASSPHRASE)
    a("site", "export-key", "PS1", "--out", str(tmp_path / "k"), "--passphrase", "env:CEP_PASS")
    del memory_keyring.items[("sccm-cep", "site-PS1-v2")]  # as on a host without it
    assert "site PS1: its key (version 2) is not on this host" in a("preview", "PS1", code=3).stderr
    a("site", "import-key", "PS1", str(tmp_path / "k"), "--passphrase", "env:CEP_PASS")
    assert memory_keyring.items[("sccm-cep", "site-PS1-v2")] == value
    a("site", "remove", "PS1", "--yes")
    assert memory_keyring.items == {}
