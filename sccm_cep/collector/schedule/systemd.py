"""The systemd kind: a service and a timer unit, in the user's unit folder or (as root) the system's."""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

from sccm_cep.collector.schedule.common import (
    ENV_DATA_DIR,
    ENV_STATE,
    SERVICE,
    TIMER,
    Runner,
    _checked,
    _template,
)
from sccm_cep.errors import ConfigError


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


def _carried_systemd(files: Mapping[str, str]) -> dict[str, str]:
    info: dict[str, str] = {}
    for line in files.get(SERVICE, "").splitlines():
        key, sep, value = line.partition("=")
        if not sep:
            continue
        if key == "ExecStart":
            info["command"] = shlex.join(w.replace("$$", "$").replace("%%", "%") for w in shlex.split(value))
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


def _systemd_scope(root: bool) -> tuple[Path, list[str]]:
    if root:
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
