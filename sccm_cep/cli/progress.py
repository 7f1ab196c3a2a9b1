"""Progress for the long commands (export, run, bundle, receiver report): one transient line on
standard error with a spinner, the phase, the record type being read with its rows so far, and
the time taken. It is shown only when standard output and standard error are both terminals, so a
scheduled run, a pipe or a test runner sees nothing, and never with ``--json``;
``--progress always|never`` (``SCCM_CEP_PROGRESS``) overrides the terminal check. Its text is
record type names and counts only: never a value read from a site.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import IO, Any

from sccm_cep.cli.context import App
from sccm_cep.model import RECORD_TYPES

__all__ = ["ProgressCallback", "ProgressMode", "progress_shown", "progress_wanted"]

#: (record type name, rows read so far): what ``collect(..., progress=...)`` calls.
ProgressCallback = Callable[[str, int], None]

#: The only words the rows part of the line may show (a caller's mistake cannot leak a value).
_RECORDS = frozenset(rt.NAME for rt in RECORD_TYPES)


class ProgressMode(StrEnum):
    AUTO = "auto"
    ALWAYS = "always"
    NEVER = "never"


def progress_wanted(app: App, *, as_json: bool = False) -> bool:
    """Whether this command shows progress: never with --json or ``never``, always with
    ``always``, else only when standard output and standard error are both terminals."""
    if as_json or app.progress == ProgressMode.NEVER:
        return False
    if app.progress == ProgressMode.ALWAYS:
        return True
    return _is_tty(sys.stdout) and _is_tty(sys.stderr)


@contextmanager
def progress_shown(app: App, phase: str, *, as_json: bool = False) -> Iterator[ProgressCallback | None]:
    """Inside it, a transient progress line for ``phase`` (a fixed word of the command, e.g.
    "exporting"); yields the callback to hand to the export, or None when nothing is shown."""
    if not progress_wanted(app, as_json=as_json):
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    # ``always`` on a stream that is not a terminal: render anyway (a demo, a recorded session).
    console = app.err if app.err.is_terminal else Console(file=app.err.file, force_terminal=True)
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),
        TextColumn("{task.fields[rows]}", markup=False),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(phase, total=None, rows="")
        last: list[str] = []

        def report(record: str, rows: int) -> None:
            shown = record if record in _RECORDS else "records"
            # A new record type is drawn at once; its rows as the line refreshes (10 a second).
            bar.update(task, rows=f"{shown}: {rows:,} rows", refresh=last[-1:] != [shown])
            last[:] = [shown]

        yield report


def _is_tty(stream: IO[Any] | None) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False
