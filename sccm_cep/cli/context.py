"""What every command gets: the App (where to print, the state store) and ``expected``, which
turns an expected error into its one line on standard error and its exit code."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from sccm_cep.errors import SccmCepError

if TYPE_CHECKING:
    from rich.console import Console

    from sccm_cep.collector.store import Store

__all__ = ["App", "expected", "report_skipped"]


@dataclass
class App:
    """What every subcommand gets: where to print, and the state store (opened on first use).

    ``progress`` is the ``--progress`` choice (auto, always, never; see ``cli/progress.py``)."""

    out: Console
    err: Console
    state_url: str | None = None
    progress: str = "auto"
    _store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            from sccm_cep.collector.store import Store

            self._store = Store(self.state_url)
        return self._store

    def say(self, text: str) -> None:
        self.out.print(text, markup=False, highlight=False, soft_wrap=True)

    def emit_json(self, data: Any) -> None:
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
