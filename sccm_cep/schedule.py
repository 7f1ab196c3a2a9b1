"""The daily scheduler entry (cron, a systemd timer, Windows Task Scheduler) that runs ``sccm-cep run --due``.

Templates ship as package data in ``schedule_templates/``; every command goes through an injectable
runner, so tests never touch a real crontab, systemd or Task Scheduler.
"""

from __future__ import annotations

import hashlib
import ntpath
import os
import posixpath
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any
from xml.sax.saxutils import escape, unescape

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from sccm_cep.errors import ConfigError
from sccm_cep.files import atomic_output

__all__ = [
    "KINDS",
    "MARKER",
    "TASK_NAME",
    "Runner",
    "default_executable",
    "encode",
    "install",
    "remove",
    "render",
    "show",
    "spread_time_of_day",
]

KINDS = ("cron", "systemd", "windows-task")
MARKER = "# sccm-cep run --due"
TASK_NAME = "sccm-cep"
ENV_STATE = "SCCM_CEP_STATE"
ENV_DATA_DIR = "SCCM_CEP_DATA_DIR"
CRON_KEY = "crontab"
SERVICE = "sccm-cep.service"
TIMER = "sccm-cep.timer"
TASK_XML = "sccm-cep-task.xml"

Runner = Callable[..., subprocess.CompletedProcess[str]]

_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# ---------------------------------------------------------------------------------------------
# render


def render(
    kind: str,
    *,
    executable: str,
    state: str | None = None,
    data_dir: str | None = None,
    time_of_day: str = "03:17",
    user: str | None = None,
) -> dict[str, str]:
    """File name → content of the scheduler entry of ``kind`` (``cron``, ``systemd``, ``windows-task``).

    ``state`` (a state store URL without a password) and ``data_dir`` reach the run as
    ``SCCM_CEP_STATE`` / ``SCCM_CEP_DATA_DIR`` (cron, systemd) or as the root options ``--state`` /
    ``--data-dir`` before ``run --due`` (Windows, whose Exec action has no environment).
    ``user`` is the account it runs as: ``User=`` of a system unit, or the Task Scheduler
    principal (then with a stored password); cron refuses it, as the crontab's owner runs its lines.
    """
    _check_kind(kind)
    hour, minute = _parse_time(time_of_day)
    windows = kind == "windows-task"
    _check_path("executable", executable, windows=windows)
    if data_dir is not None:
        _check_path("data folder", data_dir, windows=windows)
    if state is not None:
        _check_state(state)
    if user is not None and (not user or _CONTROL.search(user) or any(c in user for c in "\"'=")):
        raise ConfigError("the scheduler user name is not valid", hint="give an account name such as svc-cep")
    if user is not None and kind == "cron":
        raise ConfigError("a cron entry runs as the owner of the crontab", hint="install it as that user")
    env = [(ENV_STATE, state), (ENV_DATA_DIR, data_dir)]
    present = [(name, value) for name, value in env if value is not None]
    if kind == "cron":
        return {CRON_KEY: _render_cron(executable, present, hour, minute)}
    if kind == "systemd":
        return _render_systemd(executable, present, hour, minute, user)
    return {TASK_XML: _render_windows(executable, state, data_dir, hour, minute, user)}


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
    sibling = Path(sys.executable).parent / name
    if sibling.is_file():
        return str(sibling.absolute())
    found = shutil.which("sccm-cep")
    if found:
        return str(Path(found).absolute())
    raise ConfigError("cannot find the sccm-cep command", hint="pass its full path with --executable")


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
    return Template(resources.files("sccm_cep").joinpath("schedule_templates", name).read_text("utf-8"))


def _render_cron(executable: str, env: list[tuple[str, str]], hour: int, minute: int) -> str:
    words = [f"{name}={shlex.quote(value)}" for name, value in env]
    words += [shlex.quote(executable), "run", "--due"]
    # cron turns an unescaped % into a newline before the shell sees the line; "\%" is its escape,
    # which cron removes even inside the shell's single quotes.
    command = " ".join(words).replace("%", "\\%")
    return _template("cron.txt").substitute(minute=minute, hour=hour, command=command)


def _systemd_word(value: str, *, exec_line: bool) -> str:
    # systemd unquotes C-style inside "..." and expands %-specifiers everywhere; ExecStart= also
    # expands $VAR, so literal dollars are doubled there.
    text = value.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    if exec_line:
        text = text.replace("$", "$$")
    return f'"{text}"'


def _render_systemd(
    executable: str, env: list[tuple[str, str]], hour: int, minute: int, user: str | None
) -> dict[str, str]:
    environment = ""
    if env:
        environment = "Environment=" + " ".join(_systemd_word(f"{n}={v}", exec_line=False) for n, v in env)
        environment += "\n"
    service = _template(SERVICE).substitute(
        exec_start=f"{_systemd_word(executable, exec_line=True)} run --due",
        environment=environment,
        user=f"User={user}\n" if user else "",
    )
    timer = _template(TIMER).substitute(hour=f"{hour:02d}", minute=f"{minute:02d}")
    return {SERVICE: service, TIMER: timer}


def _render_windows(
    executable: str, state: str | None, data_dir: str | None, hour: int, minute: int, user: str | None
) -> str:
    # --state and --data-dir are options of the root command, so they come before "run".
    args: list[str] = []
    if state is not None:
        args += ["--state", state]
    if data_dir is not None:
        args += ["--data-dir", data_dir]
    args += ["run", "--due"]
    if user:
        # A stored password (given to schtasks at install, never to us) keeps network credentials,
        # which Windows integrated authentication to a remote SQL Server needs.
        principal = f"      <UserId>{escape(user)}</UserId>\n      <LogonType>Password</LogonType>"
    else:
        # S4U: runs whether the user is logged on or not with no password stored anywhere;
        # it reaches only local resources and SQL logins whose password is a reference.
        principal = "      <LogonType>S4U</LogonType>"
    # The Command element is one path; quoting it keeps a path with spaces one word for the
    # Task Scheduler, and list2cmdline quotes arguments the way the C runtime splits them.
    command = f'"{executable}"' if " " in executable else executable
    return _template("windows-task.xml").substitute(
        hour=f"{hour:02d}",
        minute=f"{minute:02d}",
        principal=principal,
        command=escape(command),
        arguments=escape(subprocess.list2cmdline(args)),
    )


# ---------------------------------------------------------------------------------------------
# install / show / remove


def install(
    kind: str,
    rendered: dict[str, str],
    *,
    target: Path | None = None,
    runner: Runner = subprocess.run,
) -> list[str]:
    """Put the ``render``-ed entry in place; returns what was done, one human line each.

    ``target``: the systemd unit folder (default: the user's, or ``/etc/systemd/system`` as root),
    or the folder the task XML is kept in (default: a temporary one); cron has none.
    """
    _check_kind(kind)
    if kind == "cron":
        _no_target(kind, target)
        return _install_cron(rendered, runner)
    if kind == "systemd":
        return _install_systemd(rendered, target, runner)
    return _install_windows(rendered, target, runner)


def show(kind: str, *, target: Path | None = None, runner: Runner = subprocess.run) -> list[str]:
    """What is installed for ``kind`` now, as human lines."""
    _check_kind(kind)
    if kind == "cron":
        _no_target(kind, target)
        ours = [line for line in _read_crontab(runner) if _is_ours(line)]
        return ours or ["no sccm-cep entry in the crontab"]
    if kind == "systemd":
        folder, flags = _systemd_scope(target)
        lines = [
            f"{path}: {'installed' if path.exists() else 'not installed'}"
            for path in (folder / SERVICE, folder / TIMER)
        ]
        result = _run(runner, ["systemctl", *flags, "list-timers", "--all", "--no-pager", TIMER], kind)
        lines += [line for line in (result.stdout or "").splitlines() if line.strip()]
        return lines
    result = _run(runner, ["schtasks", "/Query", "/TN", TASK_NAME, "/V", "/FO", "LIST"], kind)
    if result.returncode != 0:
        return [f"no scheduled task named {TASK_NAME}"]
    return [line for line in (result.stdout or "").splitlines() if line.strip()]


def remove(kind: str, *, target: Path | None = None, runner: Runner = subprocess.run) -> list[str]:
    """Take the entry of ``kind`` away, leaving everything else as it was; returns what was done."""
    _check_kind(kind)
    if kind == "cron":
        _no_target(kind, target)
        lines = _read_crontab(runner)
        kept = [line for line in lines if not _is_ours(line)]
        if len(kept) == len(lines):
            return ["no sccm-cep entry in the crontab"]
        _write_crontab(kept, runner)
        return [f"removed {len(lines) - len(kept)} sccm-cep line(s) from the crontab"]
    if kind == "systemd":
        folder, flags = _systemd_scope(target)
        done: list[str] = []
        # Disabling fails when the timer was never loaded; that is the state we want anyway.
        if _run(runner, ["systemctl", *flags, "disable", "--now", TIMER], kind).returncode == 0:
            done.append(f"stopped and disabled {TIMER}")
        for path in (folder / TIMER, folder / SERVICE):
            if path.exists():
                try:
                    path.unlink()
                except OSError as exc:
                    raise ConfigError(
                        f"cannot delete {path}", hint="run as the user (or root) that installed it"
                    ) from exc
                done.append(f"deleted {path}")
        _checked(runner, ["systemctl", *flags, "daemon-reload"], kind)
        return done or ["no sccm-cep units were installed"]
    result = _run(runner, ["schtasks", "/Delete", "/TN", TASK_NAME, "/F"], kind)
    if result.returncode != 0:
        return [f"no scheduled task named {TASK_NAME}"]
    return [f"deleted the scheduled task {TASK_NAME}"]


def _no_target(kind: str, target: Path | None) -> None:
    if target is not None:
        raise ConfigError(f"a target folder does not apply to {kind}", hint="leave out --target")


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


# cron ------------------------------------------------------------------------------------------


def _is_ours(line: str) -> bool:
    stripped = line.strip()
    return not stripped.startswith("#") and stripped.endswith(MARKER)


def _read_crontab(runner: Runner) -> list[str]:
    result = _run(runner, ["crontab", "-l"], "cron")
    if result.returncode != 0:
        # "no crontab for <user>" is how an empty crontab answers; anything else is a real error.
        if "no crontab" in (result.stderr or "").lower():
            return []
        said = " ".join((result.stderr or "").split())[:300]
        raise ConfigError(f"'crontab -l' failed: {said}", hint="check that this user may use cron")
    return (result.stdout or "").splitlines()


def _write_crontab(lines: list[str], runner: Runner) -> None:
    text = "".join(line + "\n" for line in lines)
    _checked(runner, ["crontab", "-"], "cron", input=text)


def _install_cron(rendered: dict[str, str], runner: Runner) -> list[str]:
    new = [line for line in rendered.get(CRON_KEY, "").splitlines() if line.strip()]
    if len(new) != 1 or not _is_ours(new[0]):
        raise ConfigError("the cron entry is not one rendered sccm-cep line", hint="render it with kind cron")
    lines = _read_crontab(runner)
    kept = [line for line in lines if not _is_ours(line)]
    _write_crontab([*kept, new[0]], runner)
    replaced = len(lines) - len(kept)
    done = (
        f"replaced {replaced} older sccm-cep line(s) in the crontab" if replaced else "added to the crontab"
    )
    return [done, new[0]]


# systemd ---------------------------------------------------------------------------------------


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _systemd_scope(target: Path | None) -> tuple[Path, list[str]]:
    if _is_root():
        return target or Path("/etc/systemd/system"), []
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return target or Path(config) / "systemd" / "user", ["--user"]


def _install_systemd(rendered: dict[str, str], target: Path | None, runner: Runner) -> list[str]:
    if set(rendered) != {SERVICE, TIMER}:
        raise ConfigError(
            "the systemd entry needs exactly the service and the timer", hint="render kind systemd"
        )
    folder, flags = _systemd_scope(target)
    if flags and re.search(r"^User=", rendered[SERVICE], re.MULTILINE):
        raise ConfigError(
            "User= only works in a system unit", hint="install as root, or render without a user"
        )
    done: list[str] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name in (SERVICE, TIMER):
            path = folder / name
            _write_atomic(path, encode(name, rendered[name]), mode=0o644)
            done.append(f"wrote {path}")
    except OSError as exc:
        raise ConfigError(
            f"cannot write the units to {folder}", hint="check the folder, or run as root"
        ) from exc
    _checked(runner, ["systemctl", *flags, "daemon-reload"], "systemd")
    _checked(runner, ["systemctl", *flags, "enable", "--now", TIMER], "systemd")
    done.append(f"enabled and started {TIMER}")
    if flags:
        # A user manager stops when its user logs out; lingering keeps the timer running.
        done.append("to run while you are logged out: loginctl enable-linger $USER")
    return done


def _write_atomic(path: Path, data: bytes, *, mode: int) -> None:
    with atomic_output(path, mode=mode) as out:
        out.write(data)


# Windows ---------------------------------------------------------------------------------------


def _install_windows(rendered: dict[str, str], target: Path | None, runner: Runner) -> list[str]:
    if set(rendered) != {TASK_XML}:
        raise ConfigError("the Windows entry needs exactly the task XML", hint="render kind windows-task")
    content = rendered[TASK_XML]
    user = re.search(r"<UserId>(.*?)</UserId>", content)
    if target is None:
        with tempfile.TemporaryDirectory(prefix="sccm-cep-") as folder:
            return _register_task(Path(folder), content, user, runner, keep=False)
    return _register_task(target, content, user, runner, keep=True)


def _register_task(
    folder: Path, content: str, user: re.Match[str] | None, runner: Runner, *, keep: bool
) -> list[str]:
    path = folder / TASK_XML
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path.write_bytes(encode(TASK_XML, content))
    except OSError as exc:
        raise ConfigError(f"cannot write the task XML to {folder}", hint="choose a writable folder") from exc
    args = ["schtasks", "/Create", "/TN", TASK_NAME, "/XML", str(path), "/F"]
    kwargs: dict[str, Any] = {}
    if user is not None:
        # /RP without a value makes schtasks prompt for the password itself, so it never passes
        # through sccm-cep; the prompt needs the console, hence no captured output.
        args += ["/RU", unescape(user.group(1)), "/RP"]
        kwargs = {"capture_output": False}
    _checked(runner, args, "windows-task", **kwargs)
    done = [f"registered the scheduled task {TASK_NAME}"]
    if keep:
        done.append(f"kept its definition in {path}")
    return done
