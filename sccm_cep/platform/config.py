"""Where sccm-cep keeps its files, and how secret references are resolved at use.

A secret is never a value in a setting: it is a reference, ``env:NAME``, ``file:PATH`` or
``keyring:SERVICE/USER``, read only when needed and never printed. A key the tool makes is
recorded relative to the data folder (``file:secrets/site-PS1-v1.key``), so hosts that share a
state store each find it in their own data folder.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

import platformdirs

from sccm_cep import platform
from sccm_cep.errors import ConfigError

__all__ = [
    "SECRETS_FOLDER",
    "data_dir",
    "load_secret",
    "new_secret",
    "read_private_file",
    "resolve_secret",
    "secret_path",
    "secrets_dir",
    "site_secret",
]

ENV_DATA_DIR = "SCCM_CEP_DATA_DIR"
SECRETS_FOLDER = "secrets"


def data_dir() -> Path:
    """The user's data folder (``SCCM_CEP_DATA_DIR`` overrides the platform default)."""
    override = os.environ.get(ENV_DATA_DIR)
    return Path(override) if override else Path(platformdirs.user_data_dir("sccm-cep"))


def secrets_dir() -> Path:
    """Where the keys the tool makes are kept: ``secrets/`` in the data folder."""
    return data_dir() / SECRETS_FOLDER


def secret_path(path: str, base: Path | None = None) -> Path:
    """The file a ``file:`` reference names; a relative path is under ``base`` when given
    (the data folder, for keys the tool made), else under the working folder."""
    found = Path(path)
    return base / found if base is not None and not found.is_absolute() else found


def resolve_secret(ref: str, *, base: Path | None = None) -> str:
    """The value behind a secret reference; errors name the reference, never the value.

    ``base``: the folder a relative ``file:`` path is under (see ``secret_path``)."""
    kind, sep, rest = ref.partition(":")
    if not sep or not rest:
        raise ConfigError(
            "a secret must be given as a reference, not a value",
            hint="use env:NAME, file:PATH or keyring:SERVICE/USER",
        )
    if kind == "env":
        value = os.environ.get(rest)
        if value is None:
            raise ConfigError(f"environment variable {rest} is not set", hint=f"export {rest}=...")
        return value
    if kind == "file":
        return read_private_file(secret_path(rest, base)).strip()
    if kind == "keyring":
        service, _, user = rest.partition("/")
        try:
            import keyring
        except ModuleNotFoundError as exc:
            raise ConfigError(
                "keyring references need the keyring package",
                hint="pip install 'sccm-cep[keyring]'",
            ) from exc
        value = keyring.get_password(service, user)
        if value is None:
            raise ConfigError(f"no keyring entry for {service}/{user}", hint="store it with 'keyring set'")
        return str(value)
    raise ConfigError(f"unknown secret reference kind '{kind}'", hint="use env:, file: or keyring:")


def read_private_file(path: Path) -> str:
    """The text of a secret file that only this account can use, unsealed (DPAPI on Windows)."""
    host = platform.current()
    try:
        exposure = host.exposure(path)
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"secret file {path} does not exist", hint="check the path") from exc
    except OSError as exc:
        raise ConfigError(f"secret file {path} cannot be read", hint="check the path") from exc
    if not exposure.private:
        raise ConfigError(f"secret file {path} is {exposure.describe()}", hint=host.fix_hint(path))
    return platform.unseal_text(text.strip(), what=f"secret file {path}")


_SECRET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,99}")


def new_secret(name: str, *, store: str = "file") -> str:
    """Make a new 256-bit secret called ``name``; return the reference to it (never the value).

    ``file``: a protected file under the data folder's ``secrets/`` (0600; on Windows an ACL,
    the key sealed with DPAPI), referenced relative to the data folder; ``keyring``: the OS
    keyring. An existing file of that name is kept and referenced.
    """
    if not _SECRET_NAME.fullmatch(name):
        # Names are made from site codes read from a store or a source: never a path.
        raise ConfigError(
            "a secret name holds characters other than letters, digits, '-' and '.'",
            hint="a site code is three letters or digits; run 'sccm-cep doctor'",
        )
    value = secrets.token_hex(32)
    if store == "keyring":
        try:
            import keyring

            keyring.set_password("sccm-cep", name, value)
        except Exception as exc:  # keyring backends raise their own types
            raise ConfigError(
                "the keyring could not store the site secret",
                hint="run 'sccm-cep doctor' or use --secret-store file",
            ) from exc
        return f"keyring:sccm-cep/{name}"
    if store != "file":
        raise ConfigError(f"unknown secret store '{store}'", hint="use file or keyring")
    folder = secrets_dir()
    ref = f"file:{SECRETS_FOLDER}/{name}.key"
    try:
        platform.make_private_folder(data_dir())
        if not platform.make_private_folder(folder):
            platform.current().protect_folder(folder)  # it holds only keys: keep it private
        platform.write_private_file(
            folder / f"{name}.key", (platform.seal_text(value) + "\n").encode(), exclusive=True
        )
    except FileExistsError:
        return ref
    except OSError as exc:
        raise ConfigError(
            f"cannot keep the site secret under {folder} ({exc.strerror or exc.__class__.__name__})",
            hint="point --data-dir / SCCM_CEP_DATA_DIR at a folder this account can write",
        ) from exc
    return ref


def load_secret(ref: str, *, base: Path | None = None) -> bytes:
    """The key behind a secret reference, as bytes (64 hex digits, or raw text of >= 32 bytes)."""
    value = resolve_secret(ref, base=base).strip()
    try:
        key = bytes.fromhex(value)
    except ValueError:
        key = value.encode()
    if len(key) < 32:
        raise ConfigError("the site secret is shorter than 256 bits", hint="use 64 hex digits")
    return key


def site_secret(site_code: str, ref: str | None = None) -> bytes:
    """The key for a one-off export: from ``ref``, or a protected file made on first use."""
    if ref:
        return load_secret(ref)
    return load_secret(new_secret(f"site-{site_code.upper()}"), base=data_dir())
