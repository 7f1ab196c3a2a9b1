"""The collection scripts shipped as package data (``scripts/*.ps1``), loaded by name."""

from __future__ import annotations

from functools import cache
from importlib import resources

__all__ = ["CLIENT_SCRIPTS", "SITE_SCRIPTS", "load_script", "script_names"]

SITE_SCRIPTS = ("site", "site_roles", "site_clients", "packages", "deployments", "baselines")
CLIENT_SCRIPTS = ("client_inventory", "client_software")


def script_names() -> tuple[str, ...]:
    return SITE_SCRIPTS + CLIENT_SCRIPTS


@cache
def load_script(name: str) -> str:
    """The text of ``scripts/<name>.ps1`` (KeyError for an unknown name)."""
    if name not in script_names():
        raise KeyError(name)
    return (
        resources.files(__package__ or "sccm_cep_connectors.winrm")
        .joinpath("scripts", f"{name}.ps1")
        .read_text(encoding="utf-8")
    )
