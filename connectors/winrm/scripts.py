"""The collection scripts shipped as package data (``scripts/*.ps1``) and the JSON Schema of what each prints."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["CLIENT_SCRIPTS", "SITE_SCRIPTS", "load_schema", "load_script", "script_names"]

#: ``provider`` runs first on the site server: it says whether the SMS Provider is on that host.
SITE_SCRIPTS = ("provider", "site", "site_roles", "site_clients", "packages", "deployments", "baselines")
CLIENT_SCRIPTS = ("client_inventory", "client_software")


def script_names() -> tuple[str, ...]:
    return SITE_SCRIPTS + CLIENT_SCRIPTS


def _data(name: str) -> str:
    return (
        resources.files(__package__ or "sccm_cep_connectors.winrm")
        .joinpath("scripts", name)
        .read_text(encoding="utf-8")
    )


@cache
def load_script(name: str) -> str:
    """The text of ``scripts/<name>.ps1`` (KeyError for an unknown name)."""
    if name not in script_names():
        raise KeyError(name)
    return _data(f"{name}.ps1")


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of what ``scripts/<name>.ps1`` prints (KeyError for an unknown name)."""
    if name not in script_names():
        raise KeyError(name)
    schema: dict[str, Any] = json.loads(_data(f"{name}.schema.json"))
    return schema
