"""The cron kind: one line in the crontab of the user who runs it, found again by its marker."""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence

from sccm_cep.collector.schedule.common import (
    CRON_KEY,
    MARKER,
    Runner,
    _checked,
    _root_options,
    _run,
    _template,
)
from sccm_cep.errors import ConfigError


def _render_cron(words: Sequence[str], hour: int, minute: int) -> str:
    # cron turns an unescaped % into a newline before the shell sees the line; "\%" is its escape,
    # which cron removes even inside the shell's single quotes.
    command = " ".join(shlex.quote(word) for word in words).replace("%", "\\%")
    return _template("cron.txt").substitute(minute=minute, hour=hour, command=command)


def _carried_cron(files: Mapping[str, str]) -> dict[str, str]:
    info: dict[str, str] = {}
    ours = [line for line in files.get(CRON_KEY, "").splitlines() if _is_ours(line)]
    if not ours:
        raise ConfigError("no sccm-cep line in the cron entry", hint="render it with kind cron")
    fields = ours[0].split(maxsplit=5)
    words = shlex.split(fields[5].replace("\\%", "%"), comments=True) if len(fields) == 6 else []
    info["command"] = shlex.join(words)
    info.update(_root_options(words))
    return info


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
