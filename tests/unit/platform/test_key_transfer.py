"""The export-key file: a round trip, and each way it must refuse (passphrase, site, tampering)."""

from __future__ import annotations

import json

import pytest

from sccm_cep.errors import ConfigError
from sccm_cep.platform.keyfile import FORMAT, open_key, seal_key

KEY = "5c" * 32
FAST = 2**10  # the format carries its own scrypt cost; tests keep it cheap


def _sealed(site: str = "PS1", passphrase: str = "correct horse battery") -> bytes:
    return seal_key(KEY, site=site, key_version=2, passphrase=passphrase, scrypt_n=FAST)


def test_round_trip_keeps_key_and_version_and_never_holds_the_key_in_clear() -> None:
    data = _sealed()
    doc = json.loads(data)
    assert doc["format"] == FORMAT and doc["version"] == 1 and doc["site"] == "PS1"
    assert doc["kdf"]["name"] == "scrypt" and doc["cipher"] == "aes-256-gcm"
    assert KEY.encode() not in data and bytes.fromhex(KEY) not in data
    assert open_key(data, site="PS1", passphrase="correct horse battery") == (KEY, 2)


def test_default_cost_is_memory_hard() -> None:
    doc = json.loads(seal_key(KEY, site="PS1", key_version=1, passphrase="correct horse battery"))
    assert doc["kdf"]["n"] >= 2**15 and doc["kdf"]["r"] == 8


def test_wrong_passphrase_is_one_clear_error() -> None:
    with pytest.raises(ConfigError) as err:
        open_key(_sealed(), site="PS1", passphrase="wrong horse battery")
    assert err.value.exit_code == 3 and "wrong passphrase" in err.value.one_line()


def test_a_key_for_ps1_cannot_be_imported_as_ps2() -> None:
    with pytest.raises(ConfigError, match="key of site PS1, not of site PS2"):
        open_key(_sealed(), site="PS2", passphrase="correct horse battery")
    doc = json.loads(_sealed())
    doc["site"] = "PS2"  # the site is associated data: relabelling the file breaks it
    with pytest.raises(ConfigError, match="wrong passphrase, or the key file was changed"):
        open_key(json.dumps(doc).encode(), site="PS2", passphrase="correct horse battery")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(version=2), "format version 2"),
        (lambda d: d["kdf"].update(n=2**30), "not a sccm-cep key file"),
        (lambda d: d.update(nonce="***"), "not a sccm-cep key file"),
        (lambda d: d.pop("ciphertext"), "not a sccm-cep key file"),
        (lambda d: d.update(key_version=3), "was changed"),
    ],
)
def test_a_damaged_or_unknown_file_is_refused(change: object, message: str) -> None:
    doc = json.loads(_sealed())
    change(doc)  # type: ignore[operator]
    with pytest.raises(ConfigError, match=message):
        open_key(json.dumps(doc).encode(), site="PS1", passphrase="correct horse battery")


def test_not_json_and_short_passphrases_are_refused() -> None:
    with pytest.raises(ConfigError, match="not a sccm-cep key file"):
        open_key(b"5c5c5c", site="PS1", passphrase="correct horse battery")
    with pytest.raises(ConfigError, match="shorter than 8"):
        seal_key(KEY, site="PS1", key_version=1, passphrase="short")
