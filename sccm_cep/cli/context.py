"""What every command gets: the App (where to print, the state store) and ``expected``, which
turns an expected error into its one line on standard error and its exit code."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

from sccm_cep.errors import SccmCepError

if TYPE_CHECKING:
    from rich.console import Console

    from sccm_cep.collector.store import Store

__all__ = ["App", "expected", "report_skipped"]


class App:
    """What every subcommand gets: where to print, and the state store (opened on first use).

    ``out`` and ``err`` are rich consoles made on first use (``width`` for ``out``: None on a
    terminal), so a command that prints JSON to a pipe never imports rich. ``progress`` is the
    ``--progress`` choice (auto, always, never; see ``cli/progress.py``)."""

    def __init__(
        self,
        out: Console | None = None,
        err: Console | None = None,
        state_url: str | None = None,
        progress: str = "auto",
        width: int | None = None,
    ) -> None:
        self._out, self._err = out, err
        self.state_url, self.progress, self._width = state_url, progress, width
        self._store: Store | None = None

    @property
    def out(self) -> Console:
        if self._out is None:
            from rich.console import Console

            self._out = Console(soft_wrap=True, width=self._width)
        return self._out

    @property
    def err(self) -> Console:
        if self._err is None:
            from rich.console import Console

            self._err = Console(stderr=True, soft_wrap=True)
        return self._err

    @property
    def store(self) -> Store:
        if self._store is None:
            from sccm_cep.collector.store import Store

            self._store = Store(self.state_url)
        return self._store

    def say(self, text: str) -> None:
        self.out.print(text, markup=False, highlight=False, soft_wrap=True)

    def emit_json(self, data: Any) -> None:
        """``data`` as JSON, indented by 2: coloured on a terminal, else the plain text rich
        would write (without importing it)."""
        if self._out is None and not sys.stdout.isatty():
            sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
            sys.stdout.flush()
            return
        self.out.print_json(data=data)

    def fail(self, exc: SccmCepError) -> NoReturn:
        self.err.print(f"error: {exc.one_line()}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)


@contextmanager
def expected(app: App) -> Iterator[None]:
    """Inside it, an SccmCepError becomes ``error: ...`` and the error's own exit code."""
    try:
        yield
    except SccmCepError as exc:
        app.fail(exc)


def report_skipped(app: App, skipped: Sequence[SccmCepError]) -> None:
    """After the readable rows were printed: one ``error:`` line per row that was skipped (a
    damaged row of the store), then that error's exit code."""
    for exc in skipped:
        app.err.print(f"error: {exc.one_line()}", markup=False, highlight=False, soft_wrap=True)
    if skipped:
        sys.exit(skipped[0].exit_code)
