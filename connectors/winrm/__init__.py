"""WinRM connector: read-only PowerShell scripts run on the SMS Provider and clients (pypsrp or pywinrm)."""

from __future__ import annotations

from importlib import import_module
from typing import Any

# Names load on first use, so reading the data-only submodules (sources.py: which field
# comes from where) needs none of the optional libraries the connector talks through.
_WHERE = {
    "Session": ".transport",
    "SessionFactory": ".transport",
    "WinRMConnector": ".connector",
    "WinRMSettings": ".settings",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_WHERE[name], __name__), name)
