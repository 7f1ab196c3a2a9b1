"""A site key carried between collector hosts, encrypted under a passphrase: never in clear.

The file is one JSON object (format ``sccm-cep-site-key``, version 1)::

    {"format": "sccm-cep-site-key", "version": 1, "site": "PS1", "key_version": 1,
     "kdf": {"name": "scrypt", "n": 32768, "r": 8, "p": 1, "salt": "<base64>"},
     "cipher": "aes-256-gcm", "nonce": "<base64>", "ciphertext": "<base64>"}

The key is AES-256-GCM encrypted under a key derived from the passphrase with scrypt (memory
hard). Every field but the ciphertext is the associated data, so a file made for site PS1
cannot be opened as PS2, and no field can be changed unnoticed.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from sccm_cep.errors import ConfigError

__all__ = ["FORMAT", "MIN_PASSPHRASE", "open_key", "seal_key"]

FORMAT = "sccm-cep-site-key"
VERSION = 1
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1  # 32 MiB, about 0.1 s
MAX_SCRYPT_N = 2**18  # what a file may ask for: bounded, so a crafted file cannot exhaust memory
MIN_PASSPHRASE = 8


def seal_key(key: str, *, site: str, key_version: int, passphrase: str, scrypt_n: int = SCRYPT_N) -> bytes:
    """The file's bytes for ``key`` (the site's key text) under ``passphrase``."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise ConfigError(
            f"the passphrase is shorter than {MIN_PASSPHRASE} characters", hint="choose a longer passphrase"
        )
    salt, nonce = os.urandom(16), os.urandom(12)
    header: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "site": site,
        "key_version": key_version,
        "kdf": {"name": "scrypt", "n": scrypt_n, "r": SCRYPT_R, "p": SCRYPT_P, "salt": _b64(salt)},
        "cipher": "aes-256-gcm",
        "nonce": _b64(nonce),
    }
    sealed = AESGCM(_derive(passphrase, header["kdf"], salt)).encrypt(
        nonce, key.encode("utf-8"), _aad(header)
    )
    return (json.dumps({**header, "ciphertext": _b64(sealed)}, indent=2, sort_keys=True) + "\n").encode()


def open_key(data: bytes, *, site: str, passphrase: str) -> tuple[str, int]:
    """The key text and its key version, if ``data`` is a key file of ``site`` and the passphrase fits."""
    hint = "make it with 'sccm-cep site export-key CODE --out FILE' on the host that has the key"
    try:
        doc = json.loads(data.decode("utf-8"))
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ValueError("not a key file")
        if doc.get("version") != VERSION:
            raise ConfigError(
                f"the key file is of format version {doc.get('version')}, which this sccm-cep does not know",
                hint="upgrade sccm-cep on this host",
            )
        kdf = doc["kdf"]
        if kdf.get("name") != "scrypt" or doc.get("cipher") != "aes-256-gcm":
            raise ValueError("unknown algorithm")
        if not (
            isinstance(kdf["n"], int)
            and 2 <= kdf["n"] <= MAX_SCRYPT_N
            and kdf["r"] == SCRYPT_R
            and kdf["p"] == SCRYPT_P
        ):
            raise ValueError("unsupported scrypt parameters")
        salt, nonce, sealed = _unb64(kdf["salt"]), _unb64(doc["nonce"]), _unb64(doc["ciphertext"])
        found_site, key_version = str(doc["site"]), int(doc["key_version"])
    except ConfigError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
        raise ConfigError("the file is not a sccm-cep key file", hint=hint) from exc
    if found_site != site:
        raise ConfigError(
            f"the key file holds the key of site {found_site}, not of site {site}",
            hint=f"import it as {found_site}, or export the key of {site}",
        )
    header = {k: v for k, v in doc.items() if k != "ciphertext"}
    try:
        plain = AESGCM(_derive(passphrase, kdf, salt)).decrypt(nonce, sealed, _aad(header))
    except InvalidTag as exc:
        raise ConfigError(
            "wrong passphrase, or the key file was changed", hint="give the passphrase used for export-key"
        ) from exc
    return plain.decode("utf-8"), key_version


def _derive(passphrase: str, kdf: dict[str, Any], salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, n=int(kdf["n"]), r=int(kdf["r"]), p=int(kdf["p"])).derive(
        passphrase.encode("utf-8")
    )


def _aad(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any) -> bytes:
    return base64.b64decode(str(text), validate=True)
