"""What the scheduler kinds share: the entry's names, the checks of what goes into it, its
templates, its files on disk and the commands run through the injectable runner."""

from __future__ import annotations

import ntpath
import os
import posixpath
import re
import shlex
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

from sccm_cep.errors import ConfigError
from sccm_cep.platform.files import atomic_output

KINDS = ("cron", "systemd", "windows-task")
MARKER = "# sccm-cep run --due"
TASK_NAME = "sccm-cep"
ENV_STATE = "SCCM_CEP_STATE"
ENV_DATA_DIR = "SCCM_CEP_DATA_DIR"
CRON_KEY = "sccm-cep.cron"
SERVICE = "sccm-cep.service"
TIMER = "sccm-cep.timer"
TASK_XML = "sccm-cep-task.xml"

Runner = Callable[..., subprocess.CompletedProcess[str]]

_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def is_gmsa(user: str) -> bool:
    """Whether ``user`` names a group managed service account: its SAM name ends in ``$``."""
    return user.endswith("$")


def encode(name: str, content: str) -> bytes:
    """The bytes to write for a rendered file: UTF-16 with BOM for the task XML (as declared), else UTF-8."""
    if name.endswith(".xml"):
        # schtasks /XML reads the file in the encoding its declaration names; UTF-16 is what it
        # exports and accepts everywhere, and Python's "utf-16" codec writes the BOM it needs.
        return content.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-16")
    return content.encode("utf-8")


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ConfigError(f"unknown scheduler kind '{kind}'", hint="use " + ", ".join(KINDS))


def _parse_time(time_of_day: str) -> tuple[int, int]:
    match = _TIME.match(time_of_day)
    if not match:
        raise ConfigError(f"time of day '{time_of_day}' is not HH:MM", hint="use 24-hour time, e.g. 03:17")
    return int(match.group(1)), int(match.group(2))


def _check_path(what: str, value: str, *, windows: bool) -> None:
    if not value or _CONTROL.search(value):
        raise ConfigError(f"the {what} path is empty or contains control characters", hint="check the path")
    # On Windows a path rooted without a drive ("\\x") depends on the current drive: not absolute.
    absolute = (
        bool(ntpath.splitdrive(value)[0]) and ntpath.isabs(value) if windows else posixpath.isabs(value)
    )
    if not absolute:
        # A scheduler starts in a folder of its own, so a relative path would point elsewhere.
        raise ConfigError(f"the {what} path '{value}' is not absolute", hint="give the full path")
    if windows and '"' in value:
        raise ConfigError(f"the {what} path contains a double quote", hint='Windows paths cannot contain "')


def _check_state(state: str) -> None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if _CONTROL.search(state):
        raise ConfigError("the state store URL contains control characters", hint="check --state")
    try:
        url = make_url(state)
    except ArgumentError as exc:
        raise ConfigError(
            "the state store URL is not a valid SQLAlchemy URL",
            hint="e.g. sqlite:////var/lib/sccm-cep/state.db",
        ) from exc
    if url.password is not None or any("password" in k.lower() or k.lower() == "pwd" for k in url.query):
        # Scheduler entries are readable by admins and backups; they must only ever hold references.
        raise ConfigError(
            "the state store URL carries a password, which would be written into the scheduler entry",
            hint="leave the password out of --state (use ~/.pgpass, a trusted login or integrated auth)",
        )
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        database = url.database or ""
        if not (posixpath.isabs(database) or ntpath.isabs(database) or database.startswith("file:")):
            raise ConfigError(
                "the SQLite state store path is relative, and a scheduler runs in a folder of its own",
                hint="use an absolute path: sqlite:////full/path/state.db",
            )


def _template(name: str) -> Template:
    return Template(
        resources.files("sccm_cep.collector").joinpath("schedule_templates", name).read_text("utf-8")
    )


def _root_options(words: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    names = {"--data-dir": "data_dir", "--state": "state"}
    for i, word in enumerate(words):
        option, sep, value = word.partition("=")
        if option in names and sep:
            found[names[option]] = value
        elif word in names and i + 1 < len(words):
            found[names[word]] = words[i + 1]
    return found


def _names(kind: str) -> tuple[str, ...]:
    return {"cron": (CRON_KEY,), "systemd": (SERVICE, TIMER), "windows-task": (TASK_XML,)}[kind]


def _check_rendered(kind: str, rendered: Mapping[str, str]) -> None:
    if set(rendered) != set(_names(kind)):
        raise ConfigError(
            f"the {kind} entry needs exactly " + ", ".join(_names(kind)), hint=f"render it with kind {kind}"
        )


def _write_files(files: Mapping[str, str], folder: Path) -> list[str]:
    done: list[str] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            with atomic_output(folder / name, mode=0o644) as out:
                out.write(encode(name, content))
            done.append(f"wrote {folder / name}")
    except OSError as exc:
        raise ConfigError(
            f"cannot write the scheduler entry to {folder}", hint="choose a writable folder"
        ) from exc
    return done


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16").replace("\r\n", "\n")
    return data.decode("utf-8")


def _read_files(kind: str, folder: Path) -> dict[str, str]:
    files: dict[str, str] = {}
    for name in _names(kind):
        try:
            files[name] = _read_text(folder / name)
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"cannot read {folder / name}",
                hint=f"write it with 'sccm-cep schedule install --kind {kind} --target {folder}'",
            ) from exc
    return files


def _delete(paths: Iterable[Path]) -> list[str]:
    done: list[str] = []
    for path in paths:
        # A unit that 'systemctl link' placed is a symlink, dangling once its target is gone.
        if path.is_symlink() or path.exists():
            try:
                path.unlink()
            except OSError as exc:
                raise ConfigError(
                    f"cannot delete {path}", hint="run as the user (or root) that installed it"
                ) from exc
            done.append(f"deleted {path}")
    return done


def _shell_word(text: str) -> str:
    return subprocess.list2cmdline([text]) if os.name == "nt" else shlex.quote(text)


def _run(runner: Runner, args: Sequence[str], kind: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    options: dict[str, Any] = {"capture_output": True, "text": True, "check": False, **kwargs}
    try:
        return runner(list(args), **options)
    except FileNotFoundError as exc:
        raise ConfigError(
            f"'{args[0]}' is not available on this machine",
            hint=f"install it, or choose another scheduler kind than {kind} (" + ", ".join(KINDS) + ")",
        ) from exc
    except OSError as exc:
        raise ConfigError(f"'{args[0]}' could not be started", hint="check that it runs by hand") from exc


def _checked(
    runner: Runner, args: Sequence[str], kind: str, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    result = _run(runner, args, kind, **kwargs)
    if result.returncode != 0:
        said = " ".join((result.stderr or result.stdout or "").split())[:300]
        raise ConfigError(
            f"'{' '.join(args[:3])}' failed (exit {result.returncode}){': ' + said if said else ''}",
            hint="run the command by hand to see why, or check permissions",
        )
    return result
