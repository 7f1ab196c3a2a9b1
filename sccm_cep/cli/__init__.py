"""The sccm-cep command line: ``cli`` is the root click group, ``main`` the console script."""

from __future__ import annotations

from sccm_cep.cli.app import EXIT_CANCELLED, App, cli, main

__all__ = ["EXIT_CANCELLED", "App", "cli", "main"]
