"""Pieces every CLI module shares: options operators set from schedulers, and plain tables."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

__all__ = ["add_plain_row", "json_option", "policies_option"]

F = Callable[..., Any]


def add_plain_row(table: Table, *cells: str) -> None:
    """Add a row; ``[keyring]`` in a value stays ``[keyring]`` instead of becoming a style."""
    table.add_row(*(escape(c) for c in cells))


def policies_option(f: F) -> F:
    return click.option(
        "--policies",
        "policies_dir",
        type=click.Path(path_type=Path, file_okay=False),
        envvar="SCCM_CEP_POLICIES",
        help="Folder of field policies (default: the reviewed ones shipped with sccm-cep).",
    )(f)


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(f)
