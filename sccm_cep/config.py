"""Where sccm-cep keeps its files, and how secret references are resolved at use.

A secret is never a value in a setting: it is a reference, ``env:NAME``, ``file:PATH`` or
``keyring:SERVICE/USER``, read only when needed and never printed.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

import platformdirs

from sccm_cep.errors import ConfigError

__all__ = ["data_dir", "load_secret", "new_secret", "resolve_secret", "site_secret"]

ENV_DATA_DIR = "SCCM_CEP_DATA_DIR"


def data_dir() -> Path:
    """The user's data folder (``SCCM_CEP_DATA_DIR`` overrides the platform default)."""
    override = os.environ.get(ENV_DATA_DIR)
    return Path(override) if override else Path(platformdirs.user_data_dir("sccm-cep"))


def resolve_secret(ref: str) -> str:
    """The value behind a secret reference; errors name the reference, never the value."""
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
        return _read_private_file(Path(rest)).strip()
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


def _read_private_file(path: Path) -> str:
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise ConfigError(f"secret file {path} cannot be read", hint="check the path") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"secret file {path} is readable by other users", hint=f"chmod 600 {path}")
    return path.read_text(encoding="utf-8")


def new_secret(name: str, *, store: str = "file") -> str:
    """Make a new 256-bit secret called ``name``; return the reference to it (never the value).

    ``file``: a 0600 file under the data folder's ``secrets/``; ``keyring``: the OS keyring.
    """
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
    folder = data_dir() / "secrets"
    path = folder / f"{name}.key"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return f"file:{path}"
    except OSError as exc:
        raise ConfigError(
            f"cannot keep the site secret under {folder} ({exc.strerror or exc.__class__.__name__})",
            hint="point --data-dir / SCCM_CEP_DATA_DIR at a folder this account can write",
        ) from exc
    with os.fdopen(fd, "w") as out:
        out.write(value + "\n")
    return f"file:{path}"


def load_secret(ref: str) -> bytes:
    """The key behind a secret reference, as bytes (64 hex digits, or raw text of >= 32 bytes)."""
    value = resolve_secret(ref).strip()
    try:
        key = bytes.fromhex(value)
    except ValueError:
        key = value.encode()
    if len(key) < 32:
        raise ConfigError("the site secret is shorter than 256 bits", hint="use 64 hex digits")
    return key


def site_secret(site_code: str, ref: str | None = None) -> bytes:
    """The key for a one-off export: from ``ref``, or a 0600 file made on first use."""
    return load_secret(ref or new_secret(f"site-{site_code.upper()}"))
