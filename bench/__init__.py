"""Scale benchmarks for sccm-cep: run with ``make bench`` or ``python -m bench``."""

from __future__ import annotations

import compileall
from pathlib import Path

__all__ = ["compile_project"]


def compile_project() -> None:
    """Byte-compile the project's packages, as pip does for an installed wheel: where
    ``PYTHONDONTWRITEBYTECODE`` is set, every measured process would otherwise compile sccm-cep
    from source (0.1 s more for ``--help`` on the benchmark machine)."""
    root = Path(__file__).resolve().parent.parent
    for package in ("sccm_cep", "connectors"):
        compileall.compile_dir(root / package, quiet=1)
