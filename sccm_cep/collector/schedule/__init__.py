"""The daily scheduler entry (cron, a systemd timer, Windows Task Scheduler) that runs ``sccm-cep run --due``.

Templates ship as package data in ``schedule_templates/``; every command goes through an injectable
runner, so tests never touch a real crontab, systemd or Task Scheduler. Every entry carries the data
folder and the state store URL it was installed with. Writing an entry to a folder (``--target``)
and registering it with its scheduler (``enable``) are separate steps. This module is the public
surface; each kind lives in a module of its own (``cron``, ``systemd``, ``windows``), what they
share in ``common`` and what the host decides in ``host``.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from sccm_cep.collector.schedule.common import (
    _CONTROL,
    CRON_KEY,
    ENV_DATA_DIR,
    ENV_STATE,
    KINDS,
    MARKER,
    SERVICE,
    TASK_NAME,
    TASK_XML,
    TIMER,
    Runner,
    _check_kind,
    _check_path,
    _check_rendered,
    _check_state,
    _checked,
    _delete,
    _names,
    _parse_time,
    _read_text,
    _run,
    _shell_word,
    _write_files,
    encode,
    is_gmsa,
)
from sccm_cep.collector.schedule.common import _read_files as _read_files
from sccm_cep.collector.schedule.cron import (
    _carried_cron,
    _install_cron,
    _is_ours,
    _read_crontab,
    _render_cron,
    _write_crontab,
)
from sccm_cep.collector.schedule.host import (
    absolute_data_dir,
    default_command,
    default_executable,
    install_warnings,
    spread_time_of_day,
)
from sccm_cep.collector.schedule.systemd import (
    _carried_systemd,
    _check_user_scope,
    _enable_systemd,
    _render_systemd,
    _systemd_scope,
)
from sccm_cep.collector.schedule.windows import (
    _carried_windows,
    _register_task,
    _render_windows,
    _schtasks_create,
)

# Reached through this package by the tests of the command-line splitting.
from sccm_cep.collector.schedule.windows import _split_windows_args as _split_windows_args
from sccm_cep.errors import ConfigError

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
    ``("-m", "sccm_cep")`` when the program is ``python.exe``.

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


# ---------------------------------------------------------------------------------------------
# reading an entry back


def carried(kind: str, files: Mapping[str, str]) -> dict[str, str]:
    """What an entry of ``kind`` (file name → content, as rendered or as read back) carries.

    Keys: ``command`` (the program and its words), ``data_dir`` and ``state`` when present, and
    for a task ``account`` (who it runs as) and ``working_dir``.
    """
    _check_kind(kind)
    if kind == "cron":
        return _carried_cron(files)
    if kind == "systemd":
        return _carried_systemd(files)
    return _carried_windows(files)


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
        folder, flags = _systemd_scope(_is_root())
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
        folder, flags = _systemd_scope(_is_root())
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
        folder, flags = _systemd_scope(_is_root())
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
        folder, flags = _systemd_scope(_is_root())
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


def _how_to_enable(kind: str, target: Path, rendered: Mapping[str, str]) -> list[str]:
    lines = [
        "nothing was registered; to enable it: "
        f"sccm-cep schedule enable --kind {kind} --target {_shell_word(str(target))}"
    ]
    if kind == "systemd":
        _, flags = _systemd_scope(_is_root())
        systemctl = " ".join(["systemctl", *flags])
        units = " ".join(_shell_word(str(target / name)) for name in (SERVICE, TIMER))
        lines.append(f"or by hand: {systemctl} link {units} && {systemctl} enable --now {TIMER}")
    elif kind == "windows-task":
        args, _ = _schtasks_create(target / TASK_XML, rendered[TASK_XML])
        lines.append("or by hand: " + subprocess.list2cmdline(args))
    return lines


def _is_root() -> bool:
    # Tests replace this (not os.geteuid) to stand for a non-root user.
    return hasattr(os, "geteuid") and os.geteuid() == 0
