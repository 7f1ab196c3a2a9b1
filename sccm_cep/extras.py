"""Optional libraries, imported in one place: a missing one names the extra that brings it.

The base install runs the demo, exports a site database over SQLite, reviews and bundles;
everything that talks to a particular server comes with an extra. A command that needs one
that is not installed stops with exit 3 and the ``pip install`` line that fixes it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from sccm_cep.errors import ConfigError

__all__ = ["EXTRAS", "missing_extra", "require"]

# Top-level import name -> (extra, what it is for). pyproject.toml's optional-dependencies
# is the other half of this table; a test keeps the two in step.
EXTRAS: dict[str, tuple[str, str]] = {
    "psycopg": ("postgres", "PostgreSQL"),
    "pyodbc": ("mssql", "SQL Server over ODBC"),
    "keyring": ("keyring", "keyring: secret references"),
    "ldap3": ("ldap", "Active Directory over LDAP"),
    "dns": ("ldap", "finding domain controllers through DNS"),
    "gssapi": ("kerberos", "Kerberos binds"),
    "winkerberos": ("kerberos", "Kerberos binds on Windows"),
    "pypsrp": ("winrm", "PowerShell Remoting"),
    "winrm": ("winrm", "WinRM (pywinrm)"),
    "waitress": ("receiver", "the reference receiver"),
}


def missing_extra(module: str, exc: BaseException | None = None) -> ConfigError:
    """The error for a missing optional library: which extra to install, exit 3."""
    extra, purpose = EXTRAS[module.split(".")[0]]
    error = ConfigError(
        f"{purpose} needs the {module.split('.')[0]} package, which is not installed",
        hint=f"pip install 'sccm-cep[{extra}]'",
    )
    if exc is not None:
        error.__cause__ = exc
    return error


def require(module: str) -> ModuleType:
    """Import an optional module, or raise the error naming its extra."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        # Only the module itself (or its top-level package) missing means "install the
        # extra"; a missing dependency deeper inside it is a broken install, not ours to hide.
        if exc.name is None or module.split(".")[0] == exc.name.split(".")[0]:
            raise missing_extra(module, exc) from exc
        raise
