"""The Windows kind: a Task Scheduler task, written as task XML and registered with schtasks."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path
from xml.sax.saxutils import escape

from sccm_cep.collector.schedule.common import (
    TASK_NAME,
    TASK_XML,
    Runner,
    _checked,
    _root_options,
    _template,
    is_gmsa,
)
from sccm_cep.errors import ConfigError

_NS = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}


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


def _carried_windows(files: Mapping[str, str]) -> dict[str, str]:
    info: dict[str, str] = {}
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
