"""The scheduler entries: what each kind renders and carries, and install / enable / show / remove
through a fake runner (and the CLI through CliRunner), never a real crontab, systemd or Task Scheduler."""

from __future__ import annotations

import configparser
import ntpath
import shlex
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sccm_cep.cli import cli
from sccm_cep.cli import schedule as cli_ops
from sccm_cep.collector import schedule
from sccm_cep.errors import ConfigError

NS = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}
EXE = "/opt/sccm cep/bin/sccm-cep"
WIN_EXE = r"C:\Program Files\sccm cep\sccm-cep.exe"
WIN_DATA = r"C:\ProgramData\sccm cep data"
DATA = "/var/lib/sccm cep"
STATE = "postgresql+psycopg://cep@db.example/state?options=-csearch_path%3Dcep"
GMSA = r"CORP\svc-cep$"


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


class Forbidden:
    """A runner for code that must not start any process."""

    def __call__(self, args: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        raise AssertionError(f"a process was started: {list(args)}")


class Recorder:
    """Records every command and answers with a fixed exit code."""

    def __init__(self, returncode: int = 0, stdout: str = "") -> None:
        self.returncode = returncode
        self.stdout = stdout
        self.calls: list[tuple[list[str], dict[str, Any]]] = []

    def __call__(self, args: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append((list(args), kwargs))
        return subprocess.CompletedProcess(list(args), self.returncode, self.stdout, "")


def _render(kind: str, **kwargs: Any) -> dict[str, str]:
    """``schedule.render`` with this file's values for whatever a test does not vary."""
    windows = kind == "windows-task"
    kwargs.setdefault("executable", WIN_EXE if windows else EXE)
    kwargs.setdefault("state", STATE)
    kwargs.setdefault("data_dir", WIN_DATA if windows else DATA)
    if windows and not kwargs.get("s4u"):
        kwargs.setdefault("user", GMSA)
    return schedule.render(kind, **kwargs)


def _cron_line(**kwargs: Any) -> str:
    rendered = _render("cron", **kwargs)
    assert list(rendered) == ["sccm-cep.cron"]
    (line,) = rendered["sccm-cep.cron"].splitlines()
    return line


@pytest.fixture
def user_units(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A non-root user whose systemd unit folder is under tmp_path."""
    monkeypatch.setattr(schedule, "_is_root", lambda: False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config" / "systemd" / "user"


@pytest.fixture
def no_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to start a process fails the test, whatever runner the code was given."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"a process was started: {args}")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(cli_ops, "schedule_runner", Forbidden())


# cron ------------------------------------------------------------------------------------------


def test_cron_line_has_five_time_fields_and_runs_run_due() -> None:
    line = _cron_line(state=STATE, data_dir="/var/lib/sccm-cep", time_of_day="04:09")
    fields = line.split(maxsplit=5)
    assert fields[:5] == ["9", "4", "*", "*", "*"]
    assert line.endswith(schedule.MARKER)
    # cron hands the rest to /bin/sh after turning "\%" into "%"; the shell ends at the comment.
    words = shlex.split(fields[5].replace("\\%", "%"), comments=True)
    assert words == [EXE, "--data-dir", "/var/lib/sccm-cep", "--state", STATE, "run", "--due"]


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
    schedule.install("cron", _render("cron", time_of_day="03:00"), runner=crontab)
    done = schedule.install("cron", _render("cron", time_of_day="04:00"), runner=crontab)
    assert crontab.text is not None
    lines = crontab.text.splitlines()
    ours = [line for line in lines if line.endswith(" " + schedule.MARKER)]
    assert len(ours) == 1 and ours[0].startswith("0 4 ")
    assert lines[:4] == others.splitlines()
    assert "replaced 1" in done[0]


def test_cron_install_into_an_empty_crontab() -> None:
    crontab = FakeCrontab(None)
    done = schedule.install("cron", _render("cron"), runner=crontab)
    assert crontab.text == _cron_line() + "\n"
    assert done[0] == "added to the crontab"
    shown = schedule.show("cron", runner=crontab)
    assert shown[0] == _cron_line()
    assert f"data folder: {DATA}" in shown and f"state: {STATE}" in shown


def test_cron_remove_removes_only_ours() -> None:
    others = "0 5 * * 1 /usr/local/bin/sccm-cep run --due\n30 2 * * * /usr/bin/backup\n"
    crontab = FakeCrontab(others)
    schedule.install("cron", _render("cron"), runner=crontab)
    assert schedule.remove("cron", runner=crontab) == ["removed 1 sccm-cep line(s) from the crontab"]
    assert crontab.text == others
    assert schedule.remove("cron", runner=crontab) == ["no sccm-cep entry in the crontab"]
    assert schedule.show("cron", runner=crontab) == ["no sccm-cep entry in the crontab"]


def test_cron_without_crontab_command_is_a_config_error() -> None:
    def missing(args: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        raise FileNotFoundError(args[0])

    with pytest.raises(ConfigError) as err:
        schedule.install("cron", _render("cron"), runner=missing)
    assert "crontab" in err.value.message and err.value.hint


def test_cron_refuses_a_user_and_s4u() -> None:
    with pytest.raises(ConfigError):
        _render("cron", user="svc")
    with pytest.raises(ConfigError):
        _render("cron", s4u=True)


def test_cron_written_to_a_target_is_enabled_from_there(tmp_path: Path) -> None:
    crontab = FakeCrontab(None)
    schedule.install("cron", _render("cron"), target=tmp_path, runner=Forbidden())
    assert crontab.calls == []
    assert schedule.enable("cron", target=tmp_path, runner=crontab)[0] == "added to the crontab"
    assert crontab.text == _cron_line() + "\n"


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
    rendered = _render("systemd", time_of_day="3:07", user="svc")
    assert set(rendered) == {"sccm-cep.service", "sccm-cep.timer"}
    service, timer = _units(rendered)
    assert service["Service"]["Type"] == "oneshot"
    assert service["Service"]["User"] == "svc"
    assert shlex.split(service["Service"]["ExecStart"]) == [EXE, "run", "--due"]
    # systemd doubles % for a literal percent sign; undo it to compare with what the run sees.
    env = [word.replace("%%", "%") for word in shlex.split(service["Service"]["Environment"])]
    assert env == [f"SCCM_CEP_DATA_DIR={DATA}", f"SCCM_CEP_STATE={STATE}"]
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
    rendered = _render(
        "systemd",
        executable=str(exe),
        executable_args=("-m", "100%"),
        state="sqlite:////var/lib/a%b/state.db",
        data_dir="/srv/$x/cep",
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


def test_systemd_install_show_remove_as_user(user_units: Path) -> None:
    runner = Recorder()
    rendered = _render("systemd")
    done = schedule.install("systemd", rendered, runner=runner)
    assert (user_units / "sccm-cep.service").read_text() == rendered["sccm-cep.service"]
    assert (user_units / "sccm-cep.timer").read_text() == rendered["sccm-cep.timer"]
    assert [args for args, _ in runner.calls] == [
        ["systemctl", "--user", "daemon-reload"],
        ["systemctl", "--user", "enable", "--now", "sccm-cep.timer"],
    ]
    assert any("enable-linger" in line for line in done)
    shown = schedule.show("systemd", runner=runner)
    assert f"{user_units / 'sccm-cep.timer'}: installed" in shown
    assert f"data folder: {DATA}" in shown and f"state: {STATE}" in shown
    schedule.remove("systemd", runner=runner)
    assert not list(user_units.iterdir())
    assert ["systemctl", "--user", "disable", "--now", "sccm-cep.timer"] in [args for args, _ in runner.calls]


def test_systemd_written_to_a_target_is_linked_then_enabled(tmp_path: Path, user_units: Path) -> None:
    target = tmp_path / "units dir"
    done = schedule.install("systemd", _render("systemd"), target=target, runner=Forbidden())
    assert sorted(path.name for path in target.iterdir()) == ["sccm-cep.service", "sccm-cep.timer"]
    assert not user_units.exists()  # nothing was put where systemd looks
    assert "sccm-cep schedule enable --kind systemd --target" in done[-2]
    assert "systemctl --user link" in done[-1]
    runner = Recorder()
    schedule.enable("systemd", target=target, runner=runner)
    assert [args for args, _ in runner.calls] == [
        ["systemctl", "--user", "link", str(target / "sccm-cep.service"), str(target / "sccm-cep.timer")],
        ["systemctl", "--user", "daemon-reload"],
        ["systemctl", "--user", "enable", "--now", "sccm-cep.timer"],
    ]


def test_systemd_user_unit_cannot_switch_user(user_units: Path) -> None:
    rendered = _render("systemd", user="svc")
    with pytest.raises(ConfigError):
        schedule.install("systemd", rendered, runner=Recorder())
    assert not user_units.exists()


def test_systemd_failure_is_a_config_error(user_units: Path) -> None:
    with pytest.raises(ConfigError) as err:
        schedule.install("systemd", _render("systemd"), runner=Recorder(1))
    assert "systemctl --user daemon-reload" in err.value.message and err.value.hint


# Windows ---------------------------------------------------------------------------------------


def _task(rendered: dict[str, str]) -> ET.Element:
    (name,) = rendered
    data = schedule.encode(name, rendered[name])
    assert data.startswith(b"\xff\xfe")  # the BOM that goes with the UTF-16 declaration
    assert rendered[name].startswith('<?xml version="1.0" encoding="UTF-16"?>')
    return ET.fromstring(data)  # well-formed, or this raises


def test_windows_task_parses_with_one_exec_and_a_daily_trigger() -> None:
    root = _task(_render("windows-task", time_of_day="02:45"))
    assert root.tag == "{http://schemas.microsoft.com/windows/2004/02/mit/task}Task"
    execs = root.findall("t:Actions/t:Exec", NS)
    assert len(execs) == 1 and len(root.findall("t:Actions/*", NS)) == 1
    arguments = execs[0].findtext("t:Arguments", namespaces=NS) or ""
    assert arguments.endswith("run --due") and arguments.startswith("--data-dir ")
    (trigger,) = root.findall("t:Triggers/t:CalendarTrigger", NS)
    assert trigger.findtext("t:ScheduleByDay/t:DaysInterval", namespaces=NS) == "1"
    assert (trigger.findtext("t:StartBoundary", namespaces=NS) or "").endswith("T02:45:00")
    assert root.findtext("t:Settings/t:MultipleInstancesPolicy", namespaces=NS) == "IgnoreNew"
    assert root.findtext("t:Settings/t:StartWhenAvailable", namespaces=NS) == "true"
    assert root.findtext("t:Principals/t:Principal/t:RunLevel", namespaces=NS) == "LeastPrivilege"


def test_windows_task_names_the_program_by_absolute_path_and_sets_a_working_directory() -> None:
    root = _task(_render("windows-task"))
    command = root.findtext("t:Actions/t:Exec/t:Command", namespaces=NS) or ""
    # Quoted because of the space; a drive and a root make it absolute, not found through PATH.
    assert command == f'"{WIN_EXE}"'
    assert ntpath.splitdrive(command.strip('"'))[0] == "C:" and ntpath.isabs(command.strip('"'))
    assert root.findtext("t:Actions/t:Exec/t:WorkingDirectory", namespaces=NS) == WIN_DATA


def test_windows_task_through_python_dash_m() -> None:
    python = r"C:\Program Files\Python312\python.exe"
    rendered = _render("windows-task", executable=python, executable_args=("-m", "sccm_cep"))
    info = schedule.carried("windows-task", rendered)
    assert info["command"].startswith(f'"{python}" -m sccm_cep --data-dir ')
    assert info["data_dir"] == WIN_DATA and info["state"] == STATE


def test_windows_task_round_trips_paths_with_spaces() -> None:
    data = "C:\\Program Files\\sccm cep\\data\\"  # a trailing backslash before the closing quote
    root = _task(_render("windows-task", data_dir=data))
    command = root.findtext("t:Actions/t:Exec/t:Command", namespaces=NS) or ""
    assert command.strip('"') == WIN_EXE
    arguments = root.findtext("t:Actions/t:Exec/t:Arguments", namespaces=NS) or ""
    assert schedule._split_windows_args(arguments) == ["--data-dir", data, "--state", STATE, "run", "--due"]
    assert arguments.startswith('--data-dir "C:\\Program Files\\sccm cep\\data\\\\" --state ')


@pytest.mark.parametrize(
    "word", ["plain", "with space", 'a"quote', "trail\\", "C:\\a b\\", "", "tab\there", 'x\\"y']
)
def test_windows_argument_splitting_inverts_list2cmdline(word: str) -> None:
    words = ["--x", word, "run"]
    assert schedule._split_windows_args(subprocess.list2cmdline(words)) == words


def test_windows_task_without_a_user_needs_explicit_s4u() -> None:
    with pytest.raises(ConfigError) as err:
        schedule.render("windows-task", executable=WIN_EXE, state=STATE, data_dir=WIN_DATA)
    assert "Credential Manager" in (err.value.hint or "")
    root = _task(_render("windows-task", s4u=True))
    assert root.findtext("t:Principals/t:Principal/t:LogonType", namespaces=NS) == "S4U"
    assert root.find("t:Principals/t:Principal/t:UserId", NS) is None
    with pytest.raises(ConfigError):
        _render("windows-task", s4u=True, user="CORP\\svc")


def test_windows_task_as_a_gmsa_uses_logon_type_password_and_no_password(tmp_path: Path) -> None:
    rendered = _render("windows-task", user=GMSA)
    root = _task(rendered)
    assert root.findtext("t:Principals/t:Principal/t:UserId", namespaces=NS) == GMSA
    assert root.findtext("t:Principals/t:Principal/t:LogonType", namespaces=NS) == "Password"
    schedule.install("windows-task", rendered, target=tmp_path, runner=Forbidden())
    runner = Recorder()
    assert schedule.enable("windows-task", target=tmp_path, runner=runner) == [
        "registered the scheduled task sccm-cep"
    ]
    ((args, kwargs),) = runner.calls
    # No /RU and no /RP: either would make schtasks ask for a password a gMSA does not have.
    assert args == [
        "schtasks",
        "/Create",
        "/TN",
        "sccm-cep",
        "/XML",
        str(tmp_path / "sccm-cep-task.xml"),
        "/F",
    ]
    assert kwargs["capture_output"] is True


def test_windows_task_with_a_named_user_has_schtasks_prompt_for_the_password(tmp_path: Path) -> None:
    rendered = _render("windows-task", user=r"CORP\svc-cep")
    root = _task(rendered)
    assert root.findtext("t:Principals/t:Principal/t:UserId", namespaces=NS) == r"CORP\svc-cep"
    assert root.findtext("t:Principals/t:Principal/t:LogonType", namespaces=NS) == "Password"
    done = schedule.install("windows-task", rendered, target=tmp_path, runner=Forbidden())
    xml_file = tmp_path / "sccm-cep-task.xml"
    assert done[-1] == f"or by hand: schtasks /Create /TN sccm-cep /XML {xml_file} /F /RU CORP\\svc-cep /RP"
    runner = Recorder()
    schedule.enable("windows-task", target=tmp_path, runner=runner)
    ((args, kwargs),) = runner.calls
    create = ["schtasks", "/Create", "/TN", "sccm-cep", "/XML", str(xml_file), "/F"]
    assert args == [*create, "/RU", r"CORP\svc-cep", "/RP"]
    assert kwargs["capture_output"] is False  # the password prompt needs the console
    assert ET.fromstring(xml_file.read_bytes()).tag.endswith("Task")


def test_windows_task_install_show_remove() -> None:
    rendered = _render("windows-task")
    runner = Recorder()
    done = schedule.install("windows-task", rendered, runner=runner)
    assert done == ["registered the scheduled task sccm-cep"]
    args, _ = runner.calls[0]
    assert args[:4] == ["schtasks", "/Create", "/TN", "sccm-cep"] and args[-1] == "/F"
    assert not Path(args[5]).exists()  # the temporary definition is cleaned up
    # schtasks /Query /XML prints the registered definition; show reads what it carries from it.
    shown = schedule.show("windows-task", runner=Recorder(stdout=rendered["sccm-cep-task.xml"]))
    assert f"data folder: {WIN_DATA}" in shown and f"state: {STATE}" in shown
    assert f"as: {GMSA} (LogonType Password, gMSA)" in shown
    assert schedule.remove("windows-task", runner=runner) == ["deleted the scheduled task sccm-cep"]
    assert schedule.show("windows-task", runner=Recorder(1)) == ["no scheduled task named sccm-cep"]


def test_windows_warnings_name_keyring_under_s4u_and_env_references() -> None:
    refs = [("PS1", "keyring:sccm-cep/site-PS1-v1"), ("PS2", "env:CEP_DB_PW"), ("PS3", "file:C:\\k")]
    s4u = schedule.install_warnings("windows-task", data_dir=WIN_DATA, s4u=True, refs=refs)
    assert any("PS1" in line and "S4U" in line for line in s4u)
    assert any("PS2" in line and "machine-wide" in line for line in s4u)
    assert not any("PS3" in line for line in s4u)
    as_user = schedule.install_warnings("windows-task", data_dir=WIN_DATA, refs=refs)
    assert not any("PS1" in line for line in as_user)


# every kind ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", schedule.KINDS)
def test_every_entry_carries_the_data_folder_and_the_state(kind: str) -> None:
    rendered = _render(kind)
    info = schedule.carried(kind, rendered)
    assert info["data_dir"] == (WIN_DATA if kind == "windows-task" else DATA)
    assert info["state"] == STATE
    assert info["command"].endswith("run --due")


@pytest.mark.parametrize("kind", schedule.KINDS)
def test_install_to_a_target_writes_files_and_starts_no_process(
    kind: str, tmp_path: Path, user_units: Path, no_process: None
) -> None:
    target = tmp_path / "out dir"
    rendered = _render(kind)
    done = schedule.install(kind, rendered, target=target, runner=Forbidden())
    assert sorted(path.name for path in target.iterdir()) == sorted(rendered)
    assert any("sccm-cep schedule enable" in line for line in done)
    assert schedule.carried(kind, schedule._read_files(kind, target)) == schedule.carried(kind, rendered)
    shown = schedule.show(kind, target=target, runner=Forbidden())
    assert f"state: {STATE}" in shown
    assert len(schedule.remove(kind, target=target, runner=Forbidden())) == len(rendered)
    assert not list(target.iterdir())


def test_enable_without_a_target_is_only_for_systemd() -> None:
    for kind in ("cron", "windows-task"):
        with pytest.raises(ConfigError) as err:
            schedule.enable(kind, runner=Forbidden())
        assert "--target" in (err.value.hint or "")


# the CLI ---------------------------------------------------------------------------------------


@pytest.fixture
def data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder with a space, given the way a scheduler-less shell would give it."""
    folder = tmp_path / "data dir"
    folder.mkdir()
    # The root --data-dir option writes the variable; monkeypatch puts it back after the test.
    monkeypatch.setenv("SCCM_CEP_DATA_DIR", str(folder))
    monkeypatch.delenv("SCCM_CEP_STATE", raising=False)
    return folder


@pytest.mark.parametrize("kind", ["cron", "systemd"])
def test_cli_install_to_a_target_starts_no_process(
    kind: str, tmp_path: Path, data_folder: Path, user_units: Path, no_process: None
) -> None:
    target = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["schedule", "install", "--kind", kind, "--executable", EXE, "--target", str(target)]
    )
    assert result.exit_code == 0, result.output
    assert "schedule enable --kind" in result.output
    shown = CliRunner().invoke(cli, ["schedule", "show", "--kind", kind, "--target", str(target)])
    assert shown.exit_code == 0, shown.output
    assert f"data folder: {data_folder}" in shown.output
    assert f"state: sqlite:///{data_folder / 'state.db'}" in shown.output


def test_cli_install_carries_an_explicit_state_url(
    tmp_path: Path, data_folder: Path, user_units: Path, no_process: None
) -> None:
    state = "postgresql+psycopg://cep@db.example/state"
    result = CliRunner().invoke(
        cli, ["--state", state, "schedule", "install", "--kind", "systemd", "--executable", EXE, "--print"]
    )
    assert result.exit_code == 0, result.output
    assert f'Environment="SCCM_CEP_DATA_DIR={data_folder}" "SCCM_CEP_STATE={state}"' in result.output


def test_cli_refuses_a_state_url_with_a_password(data_folder: Path, no_process: None) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "--state",
            "postgresql+psycopg://cep:canary-pw@db/s",
            "schedule",
            "install",
            "--kind",
            "cron",
            "--print",
        ],
    )
    assert result.exit_code == 3
    assert "canary-pw" not in result.output


def test_cli_windows_task_without_user_is_a_usage_error(data_folder: Path, no_process: None) -> None:
    result = CliRunner().invoke(
        cli, ["schedule", "install", "--kind", "windows-task", "--executable", WIN_EXE, "--print"]
    )
    assert result.exit_code == 2
    assert "--user is required" in result.output and "S4U" in result.output
    assert "Credential Manager" in result.output and "--s4u" in result.output


def test_cli_s4u_only_for_windows_tasks(data_folder: Path, no_process: None) -> None:
    result = CliRunner().invoke(cli, ["schedule", "install", "--kind", "cron", "--s4u", "--print"])
    assert result.exit_code == 2


def test_cli_enable_links_and_enables_systemd_units(
    tmp_path: Path, data_folder: Path, user_units: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "units"
    schedule.install("systemd", _render("systemd"), target=target, runner=Forbidden())
    runner = Recorder()
    monkeypatch.setattr(cli_ops, "schedule_runner", runner)
    result = CliRunner().invoke(cli, ["schedule", "enable", "--kind", "systemd", "--target", str(target)])
    assert result.exit_code == 0, result.output
    assert [args[:3] for args, _ in runner.calls] == [
        ["systemctl", "--user", "link"],
        ["systemctl", "--user", "daemon-reload"],
        ["systemctl", "--user", "enable"],
    ]


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
        ("windows-task", {"executable": "sccm-cep.exe"}),
        ("windows-task", {"data_dir": "/var/lib/sccm-cep"}),
        ("windows-task", {"data_dir": "\\no\\drive"}),
        ("windows-task", {"user": None}),
        ("cron", {"executable": EXE, "data_dir": "relative/dir"}),
        ("cron", {"executable": EXE, "state": "sqlite:///state.db"}),
        ("cron", {"executable": EXE, "state": "::not a url::"}),
    ],
)
def test_bad_input_is_a_config_error_with_a_hint(kind: str, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as err:
        _render(kind, **kwargs)
    assert err.value.hint


@pytest.mark.parametrize("kind", schedule.KINDS)
def test_a_password_in_the_state_url_is_never_embedded(kind: str) -> None:
    for state in (
        "postgresql+psycopg://cep:canary-pw@db/state",
        "postgresql+psycopg://cep@db/s?password=canary-pw",
    ):
        with pytest.raises(ConfigError) as err:
            _render(kind, state=state)
        assert "canary-pw" not in err.value.one_line()
