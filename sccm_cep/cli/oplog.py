"""Operational logging: a rotating log file in the data folder, the Windows Event Log where it
can be used, and one outcome line per ``run``, ``send`` and ``export``.

Only two kinds of record reach the file and the Event Log: the outcome lines (logger
``sccm_cep.ops``) and warnings and errors of sccm-cep's own loggers. Progress lines stay on
standard error (``--verbose``). Like every message of this project, none carries a secret or a
value read from a site. Logging never makes a command fail: a log that cannot be written is
skipped (and said so under ``--verbose``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import logging.handlers
import sys
from collections.abc import Callable
from pathlib import Path

import click

from sccm_cep.errors import SccmCepError
from sccm_cep.platform.config import data_dir

__all__ = [
    "BACKUP_COUNT",
    "MAX_BYTES",
    "OUTCOME_LOGGER",
    "configure_logging",
    "log_outcome_on_close",
    "log_path",
    "note_outcome",
]

OUTCOME_LOGGER = "sccm_cep.ops"
MAX_BYTES = 2 * 1024 * 1024
BACKUP_COUNT = 5
EVENT_SOURCE = "sccm-cep"
#: Commands whose invocation ends with one outcome line.
LOGGED_COMMANDS = frozenset({"run", "send", "export"})

_FORMAT = "%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s"
_META_KEY = "sccm_cep.outcome"
_installed: list[logging.Handler] = []

outcome_log = logging.getLogger(OUTCOME_LOGGER)


def log_path() -> Path:
    """Where the log file is written: ``logs/sccm-cep.log`` in the data folder."""
    return data_dir() / "logs" / "sccm-cep.log"


class _OperationalRecords(logging.Filter):
    """Outcome lines, and warnings or worse from sccm-cep's own loggers."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == OUTCOME_LOGGER:
            return True
        ours = record.name == "sccm_cep" or record.name.startswith("sccm_cep.")
        return ours and record.levelno >= logging.WARNING


class SharedRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log file several processes may write at once.

    The file is opened in append mode for each record and closed after it, so a rotation by
    another process is seen at the next record and no process keeps the file open (Windows
    cannot rename an open file). A rotation that fails (another process holds the file, or
    has just rotated it) is skipped: the line goes to the current file. A file that cannot be
    written is reported once through ``on_error`` and never raises.
    """

    def __init__(self, path: Path, *, on_error: Callable[[str], None]) -> None:
        super().__init__(
            path, mode="a", maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8", delay=True
        )
        self._on_error = on_error
        self._reported = False

    def _open(self) -> io.TextIOWrapper:
        from sccm_cep.platform import make_private_folder

        # The log names sites and documents: it gets the data folder's protection, not the umask.
        make_private_folder(Path(self.baseFilename).parent)
        return super()._open()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            super().emit(record)
        finally:
            self._release()

    def _release(self) -> None:
        stream = self.stream
        self.stream = None
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()

    def doRollover(self) -> None:
        # Another process holds the file (Windows) or has just rotated it: write on.
        with contextlib.suppress(OSError):
            super().doRollover()

    def handleError(self, record: logging.LogRecord) -> None:
        self._release()
        if not self._reported:
            self._reported = True
            error = sys.exc_info()[1]
            why = getattr(error, "strerror", None) or (error.__class__.__name__ if error else "unknown")
            self._on_error(f"the log file {self.baseFilename} cannot be written ({why}); going on without it")


def event_log_handler(platform: str = sys.platform) -> tuple[logging.Handler | None, str | None]:
    """The Windows Event Log handler (source ``sccm-cep``, Application log), or None and why not.

    It needs pywin32; registering the source needs an administrator once. Without the
    registration, events are still written, with a generic description.
    """
    if platform != "win32":
        return None, None
    if importlib.util.find_spec("win32evtlogutil") is None:
        return None, "Windows Event Log: off (pywin32 is not installed: pip install pywin32)"
    try:
        handler = logging.handlers.NTEventLogHandler(EVENT_SOURCE)
    except Exception as exc:  # pywin32 raises its own types
        return None, f"Windows Event Log: off ({exc.__class__.__name__})"
    note = None
    if not _source_registered():
        note = (
            f"Windows Event Log: the source '{EVENT_SOURCE}' is not registered (run sccm-cep once as an"
            " administrator to register it); events are written without a description"
        )
    return handler, note


def _source_registered() -> bool:
    if sys.platform != "win32":
        return True
    import winreg

    try:
        key = rf"SYSTEM\CurrentControlSet\Services\EventLog\Application\{EVENT_SOURCE}"
        winreg.CloseKey(winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, key))
    except OSError:
        return False
    return True


def configure_logging(*, verbose: bool) -> None:
    """Standard error (warnings; progress too with ``verbose``), the log file and the Event Log.

    Calling it again replaces what the previous call installed, and nothing else.
    """
    root = logging.getLogger()
    for old in _installed:
        root.removeHandler(old)
        old.close()
    _installed.clear()
    formatter = logging.Formatter(_FORMAT)

    def say(text: str) -> None:
        if verbose:
            print(f"sccm-cep: {text}", file=sys.stderr)

    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.INFO if verbose else logging.WARNING)
    console.setFormatter(formatter)
    kept: list[logging.Handler] = [SharedRotatingFileHandler(log_path(), on_error=say)]
    event_log, note = event_log_handler()
    if event_log is not None:
        kept.append(event_log)
    if note:
        say(note)
    for handler in kept:
        handler.setLevel(logging.INFO)
        handler.setFormatter(formatter)
        handler.addFilter(_OperationalRecords())
    for handler in (console, *kept):
        root.addHandler(handler)
        _installed.append(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    # Outcome lines are made even when the root only passes warnings: the file wants them.
    outcome_log.setLevel(logging.INFO)


def note_outcome(summary: str, *, command: str | None = None) -> None:
    """Say what this invocation's outcome line reports (e.g. ``"1 sent"``), and under which
    command name (default: the subcommand's). No secret and no value read from a site."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.meta[_META_KEY] = (command, summary)  # meta is shared by the whole invocation


def log_outcome_on_close(ctx: click.Context) -> None:
    """Log one INFO line when the invocation of ``run``, ``send`` or ``export`` ends, with its
    exit code: ``run --due: 2 sites, ...; exit 0``. Called from the root group's callback.

    The line is written while the root context closes, that is while the command's exit
    (``sys.exit``, click's own exit, or an error) is still propagating; that is where the
    exit code is read from.
    """
    name = ctx.invoked_subcommand
    if name not in LOGGED_COMMANDS:
        return
    ctx.call_on_close(lambda: _log_outcome(ctx, str(name)))


def _log_outcome(ctx: click.Context, name: str) -> None:
    command, summary = ctx.meta.get(_META_KEY, (None, None))
    code, failure = _exit_of(sys.exc_info()[1])
    if summary is None and failure is None and code == 0 and name != "export":
        return  # --help, or nothing ran: run and send always note an outcome when they ran
    text = summary or failure or ("done" if code == 0 else "failed")
    outcome_log.info("%s: %s; exit %d", command or name, text, code)


def _exit_of(exc: BaseException | None) -> tuple[int, str | None]:
    """The exit code an exception in flight ends the process with, and a short reason."""
    if exc is None:
        return 0, None
    if isinstance(exc, click.exceptions.Exit):
        return exc.exit_code, None
    if isinstance(exc, SystemExit):
        code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
        # cli.context.expected turns an expected error into sys.exit inside the command, so it is the context.
        cause = exc.__context__
        return code, f"failed ({cause.__class__.__name__})" if isinstance(cause, SccmCepError) else None
    if isinstance(exc, click.UsageError):
        return exc.exit_code, "wrong usage"
    if isinstance(exc, click.ClickException):
        return exc.exit_code, f"failed ({exc.__class__.__name__})"
    if isinstance(exc, click.exceptions.Abort):
        return 1, "aborted"
    if isinstance(exc, KeyboardInterrupt):
        return 130, "interrupted"
    return 1, f"internal error ({exc.__class__.__name__})"
