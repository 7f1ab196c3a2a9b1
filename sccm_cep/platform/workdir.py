"""Private working folders inside the data folder, never in the system's temporary folder.

A run writes its submission to a folder of its own before the outbox takes it; were that in
``$TMPDIR``, a run killed at that moment would leave a whole submission there, readable under
the system's rules. Here it sits in ``<data folder>/tmp``, made private like the data folder
itself, and what a killed run left is swept at the next start.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from sccm_cep.platform import make_private_folder
from sccm_cep.platform.config import data_dir

__all__ = ["STALE_AFTER", "private_tempfile", "private_workdir", "sweep_stale"]

log = logging.getLogger("sccm_cep.platform.workdir")

#: A working folder untouched this long belongs to no live run (a run takes minutes).
STALE_AFTER = 24 * 3600.0


def _root() -> Path:
    root = data_dir() / "tmp"
    make_private_folder(data_dir())
    make_private_folder(root)
    return root


def sweep_stale(now: float | None = None) -> int:
    """Remove working folders older than ``STALE_AFTER`` (what killed runs left); returns how many."""
    root = data_dir() / "tmp"
    if not root.is_dir():
        return 0
    cutoff = (time.time() if now is None else now) - STALE_AFTER
    swept = 0
    for entry in root.iterdir():
        try:
            if entry.lstat().st_mtime < cutoff:
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
                swept += 1
        except OSError:  # another process swept it first, or it is in use on Windows
            continue
    if swept:
        log.info("removed %d working folder(s) left by interrupted runs", swept)
    return swept


@contextmanager
def private_workdir(prefix: str) -> Iterator[Path]:
    """A new private folder under ``<data folder>/tmp``, removed with what it holds at the end.
    Stale folders of earlier, interrupted runs are swept first."""
    root = _root()
    sweep_stale()
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=root))  # 0700 on POSIX
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def private_tempfile(prefix: str) -> IO[bytes]:
    """A nameless temporary file under ``<data folder>/tmp``, gone when closed (on POSIX it has
    no name at all, so nothing is left even if the process is killed)."""
    return tempfile.TemporaryFile(prefix=prefix, dir=_root())
