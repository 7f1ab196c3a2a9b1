"""What every command gets: the App (where to print, the state store) and ``expected``, which
turns an expected error into its one line on standard error and its exit code."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from rich.console import Console

from sccm_cep.errors import SccmCepError

if TYPE_CHECKING:
    from sccm_cep.collector.store import Store

__all__ = ["App", "expected"]


@dataclass
class App:
    """What every subcommand gets: where to print, and the state store (opened on first use)."""

    out: Console
    err: Console
    state_url: str | None = None
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
