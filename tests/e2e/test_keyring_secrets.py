"""Site secrets and passwords kept in the OS keyring: referenced, used, never printed or stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from click.testing import CliRunner
from keyring.backend import KeyringBackend

from sccm_cep.cli import cli


class MemoryKeyring(KeyringBackend):
    """A keyring that lives in this process: the real API, no OS service needed."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.items.pop((service, username), None)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    before = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    try:
        yield ring
    finally:
        keyring.set_keyring(before)


def test_site_secret_and_db_password_from_the_keyring(
    memory_keyring: MemoryKeyring, tmp_path: Path, data_dir: Path, sqlite_site: str
) -> None:
    memory_keyring.set_password("sccm-cep-db", "cep_reader", "Kr-Pass-Never-Shown-93")
    state = ["--state", f"sqlite:///{tmp_path / 'state.db'}"]
    runner = CliRunner()
    out: list[str] = []
    stdout: list[str] = []
    for args in (
        [
            "site",
            "register",
            "PS1",
            "--db",
            sqlite_site,
            "--password",
            "keyring:sccm-cep-db/cep_reader",
            "--secret-store",
            "keyring",
        ],
        ["join", "PS1", "--yes", "--as-of", "2026-11-24"],
        ["-v", "run", "--due", "--as-of", "2026-12-01", "--json"],
        ["site", "show", "PS1", "--json"],
    ):
        result = runner.invoke(cli, [*state, *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        out.append(result.output)
        stdout.append(result.stdout)
    shown = json.loads(stdout[-1])
    assert shown["secret_store"] == "keyring" and shown["password_ref"] == "keyring:sccm-cep-db/cep_reader"
    assert [o["status"] for o in json.loads(stdout[2]) if o["step"] == "take"] == ["taken"]
    secret = memory_keyring.get_password("sccm-cep", "site-PS1-v1")
    assert secret is not None and len(bytes.fromhex(secret)) == 32
    assert not (data_dir / "secrets").exists() or not list((data_dir / "secrets").iterdir())
    everything = "".join(out) + (tmp_path / "state.db").read_bytes().decode("latin-1")
    for value in (secret, "Kr-Pass-Never-Shown-93"):
        assert value not in everything


def test_a_missing_keyring_entry_is_a_clear_error(
    memory_keyring: MemoryKeyring, tmp_path: Path, data_dir: Path, sqlite_site: str
) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "export",
            "--db",
            sqlite_site,
            "--password",
            "keyring:nowhere/nobody",
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 3 and "no keyring entry for nowhere/nobody" in result.output
