"""Writing a file so that it is either complete or absent: a temporary file, then a rename."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from sccm_cep.errors import OutputError

__all__ = ["write_text_atomically"]


def write_text_atomically(path: Path, text: str, *, what: str = "the file") -> None:
    """Write ``text`` to ``path`` via a temporary file in the same folder and an atomic rename."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".partial-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise OutputError(
            f"cannot write {what} to {path}: {exc.strerror or exc.__class__.__name__}",
            hint="check the folder exists and is writable",
        ) from exc
