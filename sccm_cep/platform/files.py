"""Writing a file so that it is either complete or absent: a temporary file, then a rename."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from sccm_cep.errors import OutputError

__all__ = ["atomic_output", "write_text_atomically"]


@contextmanager
def atomic_output(path: Path, *, mode: int | None = None) -> Iterator[IO[bytes]]:
    """A binary file that appears at ``path`` whole (flushed, synced, renamed) or not at all.

    The temporary file sits in the same folder, so the rename is atomic; on any failure it is
    removed. ``mode`` sets the file's permissions before it appears. OSError propagates.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomically(path: Path, text: str, *, what: str = "the file") -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically; an OSError becomes an OutputError."""
    try:
        with atomic_output(path) as out:
            out.write(text.encode("utf-8"))
    except OSError as exc:
        raise OutputError(
            f"cannot write {what} to {path}: {exc.strerror or exc.__class__.__name__}",
            hint="check the folder exists and is writable",
        ) from exc
