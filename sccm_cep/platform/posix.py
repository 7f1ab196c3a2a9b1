"""POSIX file protection: mode 0600 for files, 0700 for folders; secrets are not sealed."""

from __future__ import annotations

import grp
import os
import stat
from pathlib import Path

from sccm_cep.platform import Exposure

__all__ = ["PosixPlatform"]


class PosixPlatform:
    """Mode bits are the whole protection: the file's owner only."""

    name = "posix"
    seals_secrets = False

    def protect_file(self, path: Path) -> None:
        os.chmod(path, 0o600)

    def protect_folder(self, path: Path) -> None:
        os.chmod(path, 0o700)

    def exposure(self, path: Path) -> Exposure:
        st = path.stat()
        mode = stat.S_IMODE(st.st_mode)
        group = _group_name(st.st_gid)
        readers = [who for who, bit in ((group, stat.S_IRGRP), ("all users", stat.S_IROTH)) if mode & bit]
        writers = [who for who, bit in ((group, stat.S_IWGRP), ("all users", stat.S_IWOTH)) if mode & bit]
        return Exposure(found=f"mode {mode:o}", readers=tuple(readers), writers=tuple(writers))

    def seal(self, data: bytes) -> bytes:
        return data

    def unseal(self, data: bytes) -> bytes:
        return data

    def fix_hint(self, path: Path) -> str:
        return f"chmod {'700' if path.is_dir() else '600'} {path}"


def _group_name(gid: int) -> str:
    try:
        return f"group {grp.getgrgid(gid).gr_name}"
    except KeyError:
        return f"group {gid}"
