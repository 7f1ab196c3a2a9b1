"""The scheduler entries: what each kind renders, and install / show / remove through a fake runner."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from sccm_cep import schedule
from sccm_cep.errors import ConfigError

NS = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}
EXE = "/opt/sccm cep/bin/sccm-cep"
WIN_EXE = r"C:\Program Files\sccm cep\sccm-cep.exe"
WIN_DATA = r"C:\ProgramData\sccm cep data"
STATE = "postgresql+psycopg://cep@db.example/state?options=-csearch_path%3Dcep"


class FakeCrontab:
    """Answers ``crontab -l`` / ``crontab -`` from memory, the way the real command does."""

    def __init__(self, text: str | None = None) -> None:
        self.text = text
        self.calls: list[list[str]] = []

    def __call__(self, args: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        args = list(args)
        self.calls.append(args)
        if args == ["crontab", "-l"]:
            if self.text is None:
                return subprocess.CompletedProcess(args, 1, "", "no crontab for tester\n")
            return subprocess.CompletedProcess(args, 0, self.text, "")
        if args == ["crontab", "-"]:
            self.text = kwargs["input"]
            return subprocess.CompletedProcess(args, 0, "", "")
        raise AssertionError(f"unexpected command {args}")


class Recorder:
    """Records every command and answers with a fixed exit code."""

    def __init__(self, returncode: int = 0, stdout: str = "") -> None:
        self.returncode = returncode
        self.stdout = stdout
        self.calls: list[tuple[list[str], dict[str, Any]]] = []

    def __call__(self, args: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append((list(args), kwargs))
        return subprocess.CompletedProcess(list(args), self.returncode, self.stdout, "")


def _cron_line(**kwargs: Any) -> str:
    rendered = schedule.render("cron", executable=EXE, **kwargs)
    assert list(rendered) == ["crontab"]
    (line,) = rendered["crontab"].splitlines()
    return line


# cron ------------------------------------------------------------------------------------------


def test_cron_line_has_five_time_fields_and_runs_run_due() -> None:
    line = _cron_line(state=STATE, data_dir="/var/lib/sccm-cep", time_of_day="04:09")
    fields = line.split(maxsplit=5)
    assert fields[:5] == ["9", "4", "*", "*", "*"]
    assert line.endswith(schedule.MARKER)
    # cron hands the rest to /bin/sh after turning "\%" into "%"; the shell ends at the comment.
    words = shlex.split(fields[5].replace("\\%", "%"), comments=True)
    assert words == [
        f"SCCM_CEP_STATE={STATE}",
        "SCCM_CEP_DATA_DIR=/var/lib/sccm-cep",
        EXE,
        "run",
        "--due",
    ]


def test_cron_escapes_percent_which_cron_would_turn_into_a_newline() -> None:
    line = _cron_line(state=STATE)
    assert "%" not in line.replace("\\%", "")


def test_cron_time_follows_the_argument_deterministically() -> None:
    assert _cron_line(time_of_day="23:05").split()[:2] == ["5", "23"]
    first = schedule.spread_time_of_day("host-a")
    assert first == schedule.spread_time_of_day("host-a")
    hour, minute = (int(part) for part in first.split(":"))
    assert 1 <= hour < 5 and 0 <= minute < 60
    assert len({schedule.spread_time_of_day(f"host-{i}") for i in range(50)}) > 10


def test_cron_install_twice_keeps_one_line_and_other_lines() -> None:
    others = (
        "MAILTO=ops@example.com\n"
        "# sccm-cep run --due\n"  # a human's comment, not our entry
        "0 5 * * 1 /usr/local/bin/sccm-cep run --due\n"  # a hand-made job without our marker
        "30 2 * * * /usr/bin/backup\n"
    )
    crontab = FakeCrontab(others)
    schedule.install("cron", schedule.render("cron", executable=EXE, time_of_day="03:00"), runner=crontab)
    done = schedule.install(
        "cron", schedule.render("cron", executable=EXE, time_of_day="04:00"), runner=crontab
    )
    assert crontab.text is not None
    lines = crontab.text.splitlines()
    ours = [line for line in lines if line.endswith(" " + schedule.MARKER)]
    assert len(ours) == 1 and ours[0].startswith("0 4 ")
    assert lines[:4] == others.splitlines()
    assert "replaced 1" in done[0]


def test_cron_install_into_an_empty_crontab() -> None:
    crontab = FakeCrontab(None)
    done = schedule.install("cron", schedule.render("cron", executable=EXE), runner=crontab)
    assert crontab.text == _cron_line() + "\n"
    assert done[0] == "added to the crontab"
    assert schedule.show("cron", runner=crontab) == [_cron_line()]


def test_cron_remove_removes_only_ours() -> None:
    others = "0 5 * * 1 /usr/local/bin/sccm-cep run --due\n30 2 * * * /usr/bin/backup\n"
    crontab = FakeCrontab(others)
    schedule.install("cron", schedule.render("cron", executable=EXE), runner=crontab)
    assert schedule.remove("cron", runner=crontab) == ["removed 1 sccm-cep line(s) from the crontab"]
    assert crontab.text == others
    assert schedule.remove("cron", runner=crontab) == ["no sccm-cep entry in the crontab"]
    assert schedule.show("cron", runner=crontab) == ["no sccm-cep entry in the crontab"]


def test_cron_without_crontab_command_is_a_config_error() -> None:
    def missing(args: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        raise FileNotFoundError(args[0])

    with pytest.raises(ConfigError) as err:
        schedule.install("cron", schedule.render("cron", executable=EXE), runner=missing)
    assert "crontab" in err.value.message and err.value.hint


def test_cron_refuses_a_user_and_a_target(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        schedule.render("cron", executable=EXE, user="svc")
    with pytest.raises(ConfigError):
        schedule.install(
            "cron", schedule.render("cron", executable=EXE), target=tmp_path, runner=FakeCrontab()
        )


# systemd ---------------------------------------------------------------------------------------


def _units(rendered: dict[str, str]) -> tuple[configparser.ConfigParser, configparser.ConfigParser]:
    parsed = []
    for name in ("sccm-cep.service", "sccm-cep.timer"):
        parser = configparser.ConfigParser(interpolation=None, strict=True)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read_string(rendered[name])
        parsed.append(parser)
    return parsed[0], parsed[1]


def test_systemd_units_parse_and_schedule_daily() -> None:
    rendered = schedule.render(
        "systemd", executable=EXE, state=STATE, data_dir="/var/lib/sccm cep", time_of_day="3:07", user="svc"
    )
    assert set(rendered) == {"sccm-cep.service", "sccm-cep.timer"}
    service, timer = _units(rendered)
    assert service["Service"]["Type"] == "oneshot"
    assert service["Service"]["User"] == "svc"
    assert shlex.split(service["Service"]["ExecStart"]) == [EXE, "run", "--due"]
    # systemd doubles % for a literal percent sign; undo it to compare with what the run sees.
    env = [word.replace("%%", "%") for word in shlex.split(service["Service"]["Environment"])]
    assert env == [f"SCCM_CEP_STATE={STATE}", "SCCM_CEP_DATA_DIR=/var/lib/sccm cep"]
    assert timer["Timer"]["OnCalendar"] == "*-*-* 03:07:00"
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Timer"]["RandomizedDelaySec"] == "15min"
    assert timer["Install"]["WantedBy"] == "timers.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    exe = tmp_path / "bin dir" / "sccm-cep"
    exe.parent.mkdir()
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    rendered = schedule.render(
        "systemd", executable=str(exe), state="sqlite:////var/lib/a%b/state.db", data_dir="/srv/$x/cep"
    )
    for name, content in rendered.items():
        (tmp_path / name).write_text(content)
    result = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / "sccm-cep.service"), str(tmp_path / "sccm-cep.timer")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0 and "Failed to initialize manager" in result.stderr:
        pytest.skip("systemd-analyze cannot start its offline manager here")
    assert result.returncode == 0, result.stderr


def test_systemd_install_show_remove_as_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schedule, "_is_root", lambda: False)
    runner = Recorder()
    rendered = schedule.render("systemd", executable=EXE)
    done = schedule.install("systemd", rendered, target=tmp_path, runner=runner)
    assert (tmp_path / "sccm-cep.service").read_text() == rendered["sccm-cep.service"]
    assert (tmp_path / "sccm-cep.timer").read_text() == rendered["sccm-cep.timer"]
    assert [args for args, _ in runner.calls] == [
        ["systemctl", "--user", "daemon-reload"],
        ["systemctl", "--user", "enable", "--now", "sccm-cep.timer"],
    ]
    assert any("enable-linger" in line for line in done)
    assert f"{tmp_path / 'sccm-cep.timer'}: installed" in schedule.show(
        "systemd", target=tmp_path, runner=runner
    )
    schedule.remove("systemd", target=tmp_path, runner=runner)
    assert not list(tmp_path.iterdir())
    assert ["systemctl", "--user", "disable", "--now", "sccm-cep.timer"] in [args for args, _ in runner.calls]


def test_systemd_user_unit_cannot_switch_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schedule, "_is_root", lambda: False)
    rendered = schedule.render("systemd", executable=EXE, user="svc")
    with pytest.raises(ConfigError):
        schedule.install("systemd", rendered, target=tmp_path, runner=Recorder())


def test_systemd_failure_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schedule, "_is_root", lambda: True)
    with pytest.raises(ConfigError) as err:
        schedule.install(
            "systemd", schedule.render("systemd", executable=EXE), target=tmp_path, runner=Recorder(1)
        )
    assert "systemctl daemon-reload" in err.value.message and err.value.hint


# Windows ---------------------------------------------------------------------------------------


def _task(rendered: dict[str, str]) -> ET.Element:
    (name,) = rendered
    data = schedule.encode(name, rendered[name])
    assert data.startswith(b"\xff\xfe")  # the BOM that goes with the UTF-16 declaration
    assert rendered[name].startswith('<?xml version="1.0" encoding="UTF-16"?>')
    return ET.fromstring(data)


def test_windows_task_parses_with_one_exec_and_a_daily_trigger() -> None:
    root = _task(schedule.render("windows-task", executable=WIN_EXE, state=STATE, time_of_day="02:45"))
    assert root.tag == "{http://schemas.microsoft.com/windows/2004/02/mit/task}Task"
    execs = root.findall("t:Actions/t:Exec", NS)
    assert len(execs) == 1 and len(root.findall("t:Actions/*", NS)) == 1
    arguments = execs[0].findtext("t:Arguments", namespaces=NS) or ""
    assert arguments.endswith("run --due") and arguments.startswith("--state ")
    (trigger,) = root.findall("t:Triggers/t:CalendarTrigger", NS)
    assert trigger.findtext("t:ScheduleByDay/t:DaysInterval", namespaces=NS) == "1"
    assert (trigger.findtext("t:StartBoundary", namespaces=NS) or "").endswith("T02:45:00")
    assert root.findtext("t:Settings/t:MultipleInstancesPolicy", namespaces=NS) == "IgnoreNew"
    assert root.findtext("t:Settings/t:StartWhenAvailable", namespaces=NS) == "true"
    principal = root.find("t:Principals/t:Principal", NS)
    assert principal is not None
    assert principal.findtext("t:LogonType", namespaces=NS) == "S4U"  # logged on or not, no password
    assert principal.findtext("t:RunLevel", namespaces=NS) == "LeastPrivilege"


def test_windows_task_round_trips_paths_with_spaces() -> None:
    root = _task(schedule.render("windows-task", executable=WIN_EXE, state=STATE, data_dir=WIN_DATA))
    command = root.findtext("t:Actions/t:Exec/t:Command", namespaces=NS) or ""
    assert command.strip('"') == WIN_EXE
    arguments = root.findtext("t:Actions/t:Exec/t:Arguments", namespaces=NS) or ""
    words = [word.strip('"') for word in shlex.split(arguments, posix=False)]
    assert words == ["--state", STATE, "--data-dir", WIN_DATA, "run", "--due"]


def test_windows_task_with_user_uses_a_stored_password_prompted_by_schtasks(tmp_path: Path) -> None:
    rendered = schedule.render("windows-task", executable=WIN_EXE, user=r"CORP\svc-cep")
    root = _task(rendered)
    assert root.findtext("t:Principals/t:Principal/t:UserId", namespaces=NS) == r"CORP\svc-cep"
    assert root.findtext("t:Principals/t:Principal/t:LogonType", namespaces=NS) == "Password"
    runner = Recorder()
    schedule.install("windows-task", rendered, target=tmp_path, runner=runner)
    ((args, kwargs),) = runner.calls
    xml_file = tmp_path / "sccm-cep-task.xml"
    create = ["schtasks", "/Create", "/TN", "sccm-cep", "/XML", str(xml_file), "/F"]
    assert args == [*create, "/RU", r"CORP\svc-cep", "/RP"]
    assert kwargs["capture_output"] is False  # the password prompt needs the console
    assert ET.fromstring(xml_file.read_bytes()).tag.endswith("Task")


def test_windows_task_install_show_remove() -> None:
    runner = Recorder()
    done = schedule.install(
        "windows-task", schedule.render("windows-task", executable=WIN_EXE), runner=runner
    )
    assert done == ["registered the scheduled task sccm-cep"]
    args, _ = runner.calls[0]
    assert args[:4] == ["schtasks", "/Create", "/TN", "sccm-cep"] and args[-1] == "/F"
    assert not Path(args[5]).exists()  # the temporary definition is cleaned up
    assert schedule.remove("windows-task", runner=runner) == ["deleted the scheduled task sccm-cep"]
    assert schedule.show("windows-task", runner=Recorder(1)) == ["no scheduled task named sccm-cep"]


# bad input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "kwargs"),
    [
        ("at", {"executable": EXE}),
        ("cron", {"executable": EXE, "time_of_day": "25:00"}),
        ("cron", {"executable": EXE, "time_of_day": "3pm"}),
        ("cron", {"executable": "sccm-cep"}),
        ("systemd", {"executable": EXE + "\nExecStartPre=/bin/evil"}),
        ("windows-task", {"executable": "/opt/sccm-cep"}),
        ("cron", {"executable": EXE, "data_dir": "relative/dir"}),
        ("cron", {"executable": EXE, "state": "sqlite:///state.db"}),
        ("cron", {"executable": EXE, "state": "::not a url::"}),
    ],
)
def test_bad_input_is_a_config_error_with_a_hint(kind: str, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as err:
        schedule.render(kind, **kwargs)
    assert err.value.hint


@pytest.mark.parametrize("kind", schedule.KINDS)
def test_a_password_in_the_state_url_is_never_embedded(kind: str) -> None:
    exe = WIN_EXE if kind == "windows-task" else EXE
    for state in (
        "postgresql+psycopg://cep:canary-pw@db/state",
        "postgresql+psycopg://cep@db/s?password=canary-pw",
    ):
        with pytest.raises(ConfigError) as err:
            schedule.render(kind, executable=exe, state=state)
        assert "canary-pw" not in err.value.one_line()
