"""Tables for the CLI whose cells show values as written (brackets are not rich markup)."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

__all__ = ["add_plain_row"]


def add_plain_row(table: Table, *cells: str) -> None:
    """Add a row; ``[keyring]`` in a value stays ``[keyring]`` instead of becoming a style."""
    table.add_row(*(escape(c) for c in cells))
