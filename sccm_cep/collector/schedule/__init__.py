"""The daily scheduler entry (cron, a systemd timer, Windows Task Scheduler) that runs ``sccm-cep run --due``.

Templates ship as package data in ``schedule_templates/``; every command goes through an injectable
runner, so tests never touch a real crontab, systemd or Task Scheduler. Every entry carries the data
folder and the state store URL it was installed with. Writing an entry to a folder (``--target``)
and registering it with its scheduler (``enable``) are separate steps.
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
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any
from xml.sax.saxutils import escape

from sccm_cep.errors import ConfigError
from sccm_cep.platform.files import atomic_output

__all__ = [
    "KINDS",
    "MARKER",
    "TASK_NAME",
    "Runner",
    "absolute_data_dir",
    "carried",
    "default_command",
    "default_executable",
    "describe",
    "enable",
    "encode",
    "install",
    "install_warnings",
    "is_gmsa",
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
CRON_KEY = "sccm-cep.cron"
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
    state: str,
    data_dir: str,
    time_of_day: str = "03:17",
    user: str | None = None,
    s4u: bool = False,
    executable_args: Sequence[str] = (),
) -> dict[str, str]:
    """File name → content of the scheduler entry of ``kind`` (``cron``, ``systemd``, ``windows-task``).

    Every entry carries ``data_dir`` (an absolute folder) and ``state`` (a state store URL without
    a password): as the root options ``--data-dir`` / ``--state`` before ``run --due`` (cron, and
    Windows, whose Exec action has no environment), or as ``SCCM_CEP_DATA_DIR`` / ``SCCM_CEP_STATE``
    in ``Environment=`` (systemd). Without them a scheduler runs in a profile of its own, finds no
    sites and does nothing. ``executable_args`` go between the program and those options, e.g.
    ``("-m", "sccm_cep.cli.app")`` when the program is ``python.exe``.

    ``user`` is the account it runs as: ``User=`` of a system unit, or the Task Scheduler principal:
    a named account (Task Scheduler stores its password, which schtasks asks for) or a group managed
    service account (a name ending in ``$``: no password anywhere). A Windows task needs one, unless
    ``s4u`` accepts an S4U task, which cannot reach the network or Credential Manager. Cron refuses
    ``user``, as the crontab's owner runs its lines.
    """
    _check_kind(kind)
    hour, minute = _parse_time(time_of_day)
    windows = kind == "windows-task"
    _check_path("executable", executable, windows=windows)
    _check_path("data folder", data_dir, windows=windows)
    _check_state(state)
    for word in executable_args:
        if not word or _CONTROL.search(word) or (windows and '"' in word):
            raise ConfigError("an argument of the executable is not valid", hint="check --executable")
    if user is not None and (not user or _CONTROL.search(user) or any(c in user for c in "\"'=")):
        raise ConfigError("the scheduler user name is not valid", hint="give an account name such as svc-cep")
    if user is not None and kind == "cron":
        raise ConfigError("a cron entry runs as the owner of the crontab", hint="install it as that user")
    if s4u and (not windows or user is not None):
        raise ConfigError("S4U applies only to a Windows task without a user", hint="leave out --s4u")
    if windows and user is None and not s4u:
        raise ConfigError(
            "a Windows task needs the account it runs as",
            hint="give a service account (DOMAIN\\svc-cep) or a gMSA (DOMAIN\\name$); "
            "an S4U task cannot reach Credential Manager or the network",
        )
    options = ["--data-dir", data_dir, "--state", state, "run", "--due"]
    if kind == "cron":
        return {CRON_KEY: _render_cron([executable, *executable_args, *options], hour, minute)}
    if kind == "systemd":
        env = [(ENV_DATA_DIR, data_dir), (ENV_STATE, state)]
        return _render_systemd([executable, *executable_args], env, hour, minute, user)
    return {TASK_XML: _render_windows(executable, [*executable_args, *options], data_dir, hour, minute, user)}


def is_gmsa(user: str) -> bool:
    """Whether ``user`` names a group managed service account: its SAM name ends in ``$``."""
    return user.endswith("$")


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
        return str(Path(sys.executable).absolute()), ("-m", "sccm_cep.cli.app")


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
    return Template(resources.files("sccm_cep.collector").joinpath("schedule_templates", name).read_text("utf-8"))


def _render_cron(words: Sequence[str], hour: int, minute: int) -> str:
    # cron turns an unescaped % into a newline before the shell sees the line; "\%" is its escape,
    # which cron removes even inside the shell's single quotes.
    command = " ".join(shlex.quote(word) for word in words).replace("%", "\\%")
    return _template("cron.txt").substitute(minute=minute, hour=hour, command=command)


def _systemd_word(value: str, *, exec_line: bool) -> str:
    # systemd unquotes C-style inside "..." and expands %-specifiers everywhere; ExecStart= also
    # expands $VAR, so literal dollars are doubled there.
    text = value.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    if exec_line:
        text = text.replace("$", "$$")
    return f'"{text}"'


def _render_systemd(
    program: Sequence[str], env: list[tuple[str, str]], hour: int, minute: int, user: str | None
) -> dict[str, str]:
    environment = "Environment=" + " ".join(_systemd_word(f"{n}={v}", exec_line=False) for n, v in env)
    service = _template(SERVICE).substitute(
        exec_start=" ".join(_systemd_word(word, exec_line=True) for word in program) + " run --due",
        environment=environment + "\n",
        user=f"User={user}\n" if user else "",
    )
    timer = _template(TIMER).substitute(hour=f"{hour:02d}", minute=f"{minute:02d}")
    return {SERVICE: service, TIMER: timer}


def _render_windows(
    executable: str, args: Sequence[str], working_dir: str, hour: int, minute: int, user: str | None
) -> str:
    if user:
        # LogonType Password: the run has the account's network credentials (integrated auth to a
        # remote SQL Server) and its own Credential Manager. For a named account schtasks asks for
        # the password at registration and Task Scheduler keeps it; a gMSA has none that anyone
        # knows, Task Scheduler fetches it from AD, so nothing is stored.
        principal = f"      <UserId>{escape(user)}</UserId>\n      <LogonType>Password</LogonType>"
    else:
        # S4U (explicit opt-in): no password stored anywhere, but no network and no Credential
        # Manager either; only local resources and file: references work.
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
        working_directory=escape(working_dir),
    )


# ---------------------------------------------------------------------------------------------
# reading an entry back


def carried(kind: str, files: Mapping[str, str]) -> dict[str, str]:
    """What an entry of ``kind`` (file name → content, as rendered or as read back) carries.

    Keys: ``command`` (the program and its words), ``data_dir`` and ``state`` when present, and
    for a task ``account`` (who it runs as) and ``working_dir``.
    """
    _check_kind(kind)
    info: dict[str, str] = {}
    if kind == "cron":
        ours = [line for line in files.get(CRON_KEY, "").splitlines() if _is_ours(line)]
        if not ours:
            raise ConfigError("no sccm-cep line in the cron entry", hint="render it with kind cron")
        fields = ours[0].split(maxsplit=5)
        words = shlex.split(fields[5].replace("\\%", "%"), comments=True) if len(fields) == 6 else []
        info["command"] = shlex.join(words)
        info.update(_root_options(words))
        return info
    if kind == "systemd":
        for line in files.get(SERVICE, "").splitlines():
            key, sep, value = line.partition("=")
            if not sep:
                continue
            if key == "ExecStart":
                info["command"] = shlex.join(
                    w.replace("$$", "$").replace("%%", "%") for w in shlex.split(value)
                )
            elif key == "User":
                info["account"] = value
            elif key == "Environment":
                for word in shlex.split(value):
                    name, _, setting = word.replace("%%", "%").partition("=")
                    if name == ENV_DATA_DIR:
                        info["data_dir"] = setting
                    elif name == ENV_STATE:
                        info["state"] = setting
        if "command" not in info:
            raise ConfigError("the systemd service has no ExecStart=", hint="render it with kind systemd")
        return info
    root = _task_root(files.get(TASK_XML, ""))
    command = root.findtext("t:Actions/t:Exec/t:Command", namespaces=_NS) or ""
    arguments = root.findtext("t:Actions/t:Exec/t:Arguments", namespaces=_NS) or ""
    info["command"] = f"{command} {arguments}".strip()
    info.update(_root_options(_split_windows_args(arguments)))
    working_dir = root.findtext("t:Actions/t:Exec/t:WorkingDirectory", namespaces=_NS)
    if working_dir:
        info["working_dir"] = working_dir
    user, logon = _principal(root)
    gmsa = ", gMSA" if user and is_gmsa(user) else ""
    info["account"] = f"{user or '(the user who registered it)'} (LogonType {logon or 'unset'}{gmsa})"
    return info


def describe(kind: str, files: Mapping[str, str]) -> list[str]:
    """``carried`` as human lines: what runs, as whom, with which data folder and state store."""
    info = carried(kind, files)
    lines = [f"runs: {info['command']}"]
    if "account" in info:
        lines.append(f"as: {info['account']}")
    if "working_dir" in info:
        lines.append(f"working directory: {info['working_dir']}")
    lines.append(f"data folder: {info.get('data_dir', '(none: the profile of the account it runs as)')}")
    lines.append(f"state: {info.get('state', '(none: the default in that data folder)')}")
    return lines


_NS = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}


def _task_root(content: str) -> ET.Element:
    try:
        return ET.fromstring(content)
    except ET.ParseError as exc:
        raise ConfigError("the task XML is not well-formed", hint="render it with kind windows-task") from exc


def _principal(root: ET.Element) -> tuple[str | None, str | None]:
    principal = root.find("t:Principals/t:Principal", _NS)
    if principal is None:
        return None, None
    return principal.findtext("t:UserId", namespaces=_NS), principal.findtext("t:LogonType", namespaces=_NS)


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


def _split_windows_args(line: str) -> list[str]:
    """Split a command line the way the Microsoft C runtime does (the inverse of ``list2cmdline``)."""
    words: list[str] = []
    word: list[str] = []
    in_word = quoted = False
    i = 0
    while i < len(line):
        char = line[i]
        if char == "\\":
            end = i
            while end < len(line) and line[end] == "\\":
                end += 1
            count = end - i
            if end < len(line) and line[end] == '"':
                # 2n backslashes + quote: n backslashes, and the quote delimits; 2n+1: a literal quote.
                word.append("\\" * (count // 2))
                if count % 2:
                    word.append('"')
                    end += 1
            else:
                word.append("\\" * count)
            in_word, i = True, end
        elif char == '"':
            if quoted and line[i + 1 : i + 2] == '"':
                word.append('"')
                i += 2
            else:
                quoted = not quoted
                i += 1
            in_word = True
        elif char in " \t" and not quoted:
            if in_word:
                words.append("".join(word))
                word, in_word = [], False
            i += 1
        else:
            word.append(char)
            in_word = True
            i += 1
    if in_word:
        words.append("".join(word))
    return words


# ---------------------------------------------------------------------------------------------
# install / enable / show / remove


def install(
    kind: str,
    rendered: Mapping[str, str],
    *,
    target: Path | None = None,
    runner: Runner = subprocess.run,
) -> list[str]:
    """Put the ``render``-ed entry in place; returns what was done, one human line each.

    With ``target`` the files are only written to that folder, and the last lines say how to
    enable them: no crontab, systemctl or schtasks is run (``enable`` with the same folder does
    that). Without it the entry is registered and enabled: a line in the crontab, the units in
    the user's systemd folder (as root: ``/etc/systemd/system``), or the task in Task Scheduler.
    """
    _check_kind(kind)
    _check_rendered(kind, rendered)
    if target is not None:
        done = _write_files(rendered, target)
        return done + _how_to_enable(kind, target, rendered)
    if kind == "cron":
        return _install_cron(rendered[CRON_KEY], runner)
    if kind == "systemd":
        folder, flags = _systemd_scope()
        _check_user_scope(rendered[SERVICE], flags)
        return _write_files(rendered, folder) + _enable_systemd(flags, runner)
    with tempfile.TemporaryDirectory(prefix="sccm-cep-") as temporary:
        path = Path(temporary) / TASK_XML
        _write_files(rendered, path.parent)
        return _register_task(path, rendered[TASK_XML], runner)


def enable(kind: str, *, target: Path | None = None, runner: Runner = subprocess.run) -> list[str]:
    """Register and start the entry that ``install(..., target=target)`` wrote; returns what was done.

    systemd without ``target`` (re)enables the units already in its unit folder.
    """
    _check_kind(kind)
    if kind == "systemd":
        folder, flags = _systemd_scope()
        done: list[str] = []
        if target is not None and target.resolve() != folder.resolve():
            files = _read_files(kind, target)
            _check_user_scope(files[SERVICE], flags)
            # link: the units stay where they were written and systemd finds them there.
            _checked(runner, ["systemctl", *flags, "link", str(target / SERVICE), str(target / TIMER)], kind)
            done.append(f"linked {target / SERVICE} and {target / TIMER} into systemd")
        elif not (folder / TIMER).exists():
            raise ConfigError(f"no sccm-cep units in {folder}", hint="run 'sccm-cep schedule install' first")
        return done + _enable_systemd(flags, runner)
    if target is None:
        raise ConfigError(
            f"'enable --kind {kind}' registers what 'schedule install --target' wrote",
            hint="pass that --target, or run 'schedule install' without --target",
        )
    files = _read_files(kind, target)
    if kind == "cron":
        return _install_cron(files[CRON_KEY], runner)
    return _register_task(target / TASK_XML, files[TASK_XML], runner)


def show(kind: str, *, target: Path | None = None, runner: Runner = subprocess.run) -> list[str]:
    """What is installed for ``kind`` now, as human lines, with the data folder and state it carries.

    With ``target``: what ``install`` wrote to that folder (nothing is run).
    """
    _check_kind(kind)
    if target is not None:
        files = _read_files(kind, target)
        return [f"{target / name}: written" for name in files] + describe(kind, files)
    if kind == "cron":
        ours = [line for line in _read_crontab(runner) if _is_ours(line)]
        if not ours:
            return ["no sccm-cep entry in the crontab"]
        lines: list[str] = []
        for line in ours:
            lines += [line, *describe(kind, {CRON_KEY: line})]
        return lines
    if kind == "systemd":
        folder, flags = _systemd_scope()
        service = folder / SERVICE
        lines = [
            f"{path}: {'installed' if path.exists() else 'not installed'}"
            for path in (service, folder / TIMER)
        ]
        if service.exists():
            lines += describe(kind, {SERVICE: _read_text(service)})
        result = _run(runner, ["systemctl", *flags, "list-timers", "--all", "--no-pager", TIMER], kind)
        lines += [line for line in (result.stdout or "").splitlines() if line.strip()]
        return lines
    result = _run(runner, ["schtasks", "/Query", "/TN", TASK_NAME, "/XML"], kind)
    if result.returncode != 0:
        return [f"no scheduled task named {TASK_NAME}"]
    return [f"scheduled task {TASK_NAME}", *describe(kind, {TASK_XML: result.stdout or ""})]


def remove(kind: str, *, target: Path | None = None, runner: Runner = subprocess.run) -> list[str]:
    """Take the entry of ``kind`` away, leaving everything else as it was; returns what was done.

    With ``target``: delete only the files ``install`` wrote there (nothing is run).
    """
    _check_kind(kind)
    if target is not None:
        deleted = _delete([target / name for name in _names(kind)])
        return deleted or [f"no sccm-cep {kind} files in {target}"]
    if kind == "cron":
        lines = _read_crontab(runner)
        kept = [line for line in lines if not _is_ours(line)]
        if len(kept) == len(lines):
            return ["no sccm-cep entry in the crontab"]
        _write_crontab(kept, runner)
        return [f"removed {len(lines) - len(kept)} sccm-cep line(s) from the crontab"]
    if kind == "systemd":
        folder, flags = _systemd_scope()
        done: list[str] = []
        # Disabling fails when the timer was never loaded; that is the state we want anyway.
        if _run(runner, ["systemctl", *flags, "disable", "--now", TIMER], kind).returncode == 0:
            done.append(f"stopped and disabled {TIMER}")
        done += _delete([folder / TIMER, folder / SERVICE])
        _checked(runner, ["systemctl", *flags, "daemon-reload"], kind)
        return done or ["no sccm-cep units were installed"]
    result = _run(runner, ["schtasks", "/Delete", "/TN", TASK_NAME, "/F"], kind)
    if result.returncode != 0:
        return [f"no scheduled task named {TASK_NAME}"]
    return [f"deleted the scheduled task {TASK_NAME}"]


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


def _how_to_enable(kind: str, target: Path, rendered: Mapping[str, str]) -> list[str]:
    lines = [
        "nothing was registered; to enable it: "
        f"sccm-cep schedule enable --kind {kind} --target {_shell_word(str(target))}"
    ]
    if kind == "systemd":
        _, flags = _systemd_scope()
        systemctl = " ".join(["systemctl", *flags])
        units = " ".join(_shell_word(str(target / name)) for name in (SERVICE, TIMER))
        lines.append(f"or by hand: {systemctl} link {units} && {systemctl} enable --now {TIMER}")
    elif kind == "windows-task":
        args, _ = _schtasks_create(target / TASK_XML, rendered[TASK_XML])
        lines.append("or by hand: " + subprocess.list2cmdline(args))
    return lines


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


def _install_cron(entry: str, runner: Runner) -> list[str]:
    new = [line for line in entry.splitlines() if line.strip()]
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


def _systemd_scope() -> tuple[Path, list[str]]:
    if _is_root():
        return Path("/etc/systemd/system"), []
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "systemd" / "user", ["--user"]


def _check_user_scope(service: str, flags: list[str]) -> None:
    if flags and re.search(r"^User=", service, re.MULTILINE):
        raise ConfigError(
            "User= only works in a system unit", hint="install as root, or render without a user"
        )


def _enable_systemd(flags: list[str], runner: Runner) -> list[str]:
    _checked(runner, ["systemctl", *flags, "daemon-reload"], "systemd")
    _checked(runner, ["systemctl", *flags, "enable", "--now", TIMER], "systemd")
    done = [f"enabled and started {TIMER}"]
    if flags:
        # A user manager stops when its user logs out; lingering keeps the timer running.
        done.append("to run while you are logged out: loginctl enable-linger $USER")
    return done


# Windows ---------------------------------------------------------------------------------------


def _schtasks_create(path: Path, content: str) -> tuple[list[str], bool]:
    """The schtasks command that registers the task XML at ``path``, and whether it prompts."""
    user, logon = _principal(_task_root(content))
    args = ["schtasks", "/Create", "/TN", TASK_NAME, "/XML", str(path), "/F"]
    if logon == "Password" and user and not is_gmsa(user):
        # /RP without a value makes schtasks prompt for the password itself, so it never passes
        # through sccm-cep; the prompt needs the console, hence no captured output.
        return [*args, "/RU", user, "/RP"], True
    # A gMSA has no password to give (Task Scheduler retrieves it from AD) and S4U needs none:
    # the principal in the XML is registered as it is. /RU would make schtasks ask for a password.
    return args, False


def _register_task(path: Path, content: str, runner: Runner) -> list[str]:
    args, prompts = _schtasks_create(path, content)
    _checked(runner, args, "windows-task", **({"capture_output": False} if prompts else {}))
    return [f"registered the scheduled task {TASK_NAME}"]
