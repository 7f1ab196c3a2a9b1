"""What the host that runs the entry decides: the data folder's form, the command to run, a
per-host time of day, and what would keep an installed entry from working."""

from __future__ import annotations

import hashlib
import ntpath
import os
import posixpath
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path

from sccm_cep.collector.schedule.common import _check_kind
from sccm_cep.errors import ConfigError


def absolute_data_dir(kind: str, folder: str) -> str:
    """``folder`` made absolute and resolved the way the host of ``kind`` reads it.

    On the host that runs the scheduler, symlinks and ``..`` are resolved; a Windows path prepared
    on another system (or the reverse) is only normalized, and ``render`` checks that it is absolute.
    """
    _check_kind(kind)
    windows = kind == "windows-task"
    if windows == (os.name == "nt"):
        return str(Path(folder).expanduser().resolve())
    return ntpath.normpath(folder) if windows else posixpath.normpath(folder)


def install_warnings(
    kind: str, *, data_dir: str, s4u: bool = False, refs: Iterable[tuple[str, str]] = ()
) -> list[str]:
    """What will keep the installed entry from working, one human line each (empty when nothing will).

    ``refs`` are (site code, secret reference) pairs of the registered sites; only the kind of
    each reference is named, never where it points.
    """
    lines: list[str] = []
    native = (kind == "windows-task") == (os.name == "nt")
    if native and not Path(data_dir).is_dir():
        lines.append(
            f"the data folder {data_dir} does not exist: the scheduled run would find no sites "
            "(register them with the same --data-dir first)"
        )
    if kind != "windows-task":
        return lines
    for code, ref in refs:
        scheme = ref.partition(":")[0]
        if s4u and scheme == "keyring":
            lines.append(
                f"site {code} keeps a secret in the keyring (Credential Manager), which an S4U task "
                "cannot reach: run the task as --user, or use a file: reference"
            )
        elif scheme == "env":
            lines.append(
                f"site {code} reads a secret from an environment variable, which a scheduled task "
                "has only if it is set machine-wide"
            )
    return lines


def spread_time_of_day(seed: str, *, first_hour: int = 1, hours: int = 4) -> str:
    """A deterministic ``HH:MM`` in ``[first_hour, first_hour + hours)`` from ``seed`` (e.g. the host name).

    Many collectors with the same default would all upload in the same minute; a per-host time
    spreads them without being random from one install to the next.
    """
    if not 0 <= first_hour < 24 or not 1 <= hours <= 24:
        raise ConfigError("the scheduling window is out of range", hint="use hours within one day")
    offset = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:4], "big") % (hours * 60)
    total = first_hour * 60 + offset
    return f"{(total // 60) % 24:02d}:{total % 60:02d}"


def default_executable() -> str:
    """The absolute path of the ``sccm-cep`` command that is running now, for the scheduler to call."""
    name = "sccm-cep.exe" if os.name == "nt" else "sccm-cep"
    # The script next to this interpreter is the one of this install, even when its venv is not
    # activated; don't resolve symlinks, or a venv's python leads to the system's bin folder.
    # A system-wide Windows Python keeps its scripts in Scripts\ beside python.exe.
    here = Path(sys.executable).parent
    for sibling in (here / name, here / "Scripts" / name) if os.name == "nt" else (here / name,):
        if sibling.is_file():
            return str(sibling.absolute())
    found = shutil.which("sccm-cep")
    if found:
        return str(Path(found).absolute())
    raise ConfigError("cannot find the sccm-cep command", hint="pass its full path with --executable")


def default_command() -> tuple[str, tuple[str, ...]]:
    """Program and leading arguments for the scheduler: ``sccm-cep`` (absolute), else ``python -m``.

    The interpreter running now can always run this install, so it is the fallback when the
    console script is missing (e.g. an embeddable Python on Windows).
    """
    try:
        return default_executable(), ()
    except ConfigError:
        if not sys.executable:
            raise
        return str(Path(sys.executable).absolute()), ("-m", "sccm_cep")
