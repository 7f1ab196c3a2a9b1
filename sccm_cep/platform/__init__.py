"""Secrets, file protection and paths: one seam, a POSIX and a Windows implementation.

``current()`` picks the implementation for this host. A protected file or folder is usable
only by this account (POSIX: mode 0600/0700; Windows: a protected ACL granting this account,
SYSTEM and Administrators). Secrets at rest are sealed where the OS offers it (Windows: DPAPI,
stored as ``dpapi:<base64>``); on POSIX the file's mode is the protection.
"""

from __future__ import annotations

import base64
import binascii
import os
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

from sccm_cep.errors import ConfigError

__all__ = [
    "DPAPI_PREFIX",
    "Exposure",
    "Platform",
    "current",
    "make_private_folder",
    "seal_text",
    "unseal_text",
    "write_private_file",
]

# A plain key is hex or text without this prefix; a sealed one says how it was sealed.
DPAPI_PREFIX = "dpapi:"


@dataclass(frozen=True, slots=True)
class Exposure:
    """Who, besides this account (and on Windows SYSTEM and Administrators), can use a file.

    ``found`` is what was looked at, for ``doctor`` (e.g. ``mode 600`` or ``protected ACL``).
    """

    found: str
    readers: tuple[str, ...] = ()
    writers: tuple[str, ...] = ()

    @property
    def private(self) -> bool:
        return not self.readers and not self.writers

    def describe(self) -> str:
        """``private``, or who else can read and write, in words."""
        parts = []
        if self.readers:
            parts.append("readable by " + ", ".join(self.readers))
        if self.writers:
            parts.append("writable by " + ", ".join(self.writers))
        return "; ".join(parts) or "private"


class Platform(Protocol):
    """What sccm-cep needs from the operating system to keep secrets."""

    name: str
    seals_secrets: bool  # whether seal() encrypts (True on Windows: DPAPI)

    def protect_file(self, path: Path) -> None:
        """Make ``path`` usable by this account only. OSError when that fails."""

    def protect_folder(self, path: Path) -> None:
        """The same for a folder; what is made in it later is private as well."""

    def exposure(self, path: Path) -> Exposure:
        """Who else can read or write ``path``. OSError when it cannot be examined."""

    def seal(self, data: bytes) -> bytes:
        """Encrypt ``data`` for this account at rest (identity where the OS offers nothing)."""

    def unseal(self, data: bytes) -> bytes:
        """Reverse ``seal``; ConfigError when this account cannot."""

    def fix_hint(self, path: Path) -> str:
        """The command an administrator runs to make ``path`` private by hand."""


@cache
def current() -> Platform:
    """The implementation for this host."""
    if sys.platform == "win32":
        from sccm_cep.platform.windows import WindowsPlatform

        return WindowsPlatform()
    from sccm_cep.platform.posix import PosixPlatform

    return PosixPlatform()


def make_private_folder(path: Path, platform: Platform | None = None) -> bool:
    """Create ``path`` (and its parents) if missing; a folder made here is protected.

    A folder that already exists is left as it is (``doctor`` reports who can use it).
    Returns whether it was created. OSError propagates.
    """
    if path.is_dir():
        return False
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    (platform or current()).protect_folder(path)
    return True


def write_private_file(
    path: Path, data: bytes, *, exclusive: bool = False, platform: Platform | None = None
) -> None:
    """Write ``data`` to a file protected before anything is written to it.

    ``exclusive``: create ``path`` or raise FileExistsError; otherwise the file appears whole
    (a protected temporary file, then a rename). OSError propagates.
    """
    chosen = platform or current()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    if exclusive:
        fd = os.open(path, flags, 0o600)
        target = path
    else:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
        target = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            chosen.protect_file(target)
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if target != path:
            os.replace(target, path)
            chosen.protect_file(path)  # the protection moves with a rename; say so explicitly anyway
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def seal_text(text: str, platform: Platform | None = None) -> str:
    """``text`` as it is kept in a file: sealed with a prefix where the OS can seal, else as is."""
    chosen = platform or current()
    if not chosen.seals_secrets:
        return text
    return DPAPI_PREFIX + base64.b64encode(chosen.seal(text.encode("utf-8"))).decode("ascii")


def unseal_text(stored: str, *, what: str, platform: Platform | None = None) -> str:
    """The text behind what ``seal_text`` wrote; ``what`` names the secret in errors."""
    if not stored.startswith(DPAPI_PREFIX):
        return stored
    chosen = platform or current()
    hint = "on the host that made it: sccm-cep site export-key CODE --out FILE; here: sccm-cep site import-key CODE FILE"
    if not chosen.seals_secrets:
        raise ConfigError(f"{what} was sealed with Windows DPAPI on another host", hint=hint)
    try:
        blob = base64.b64decode(stored[len(DPAPI_PREFIX) :], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(f"{what} is damaged (its sealed form is not base64)", hint=hint) from exc
    try:
        return chosen.unseal(blob).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{what} is damaged", hint=hint) from exc
