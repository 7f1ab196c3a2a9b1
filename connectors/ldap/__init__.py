"""Active Directory connector (ldap3): sites and management points published in AD, and coverage counts."""

from __future__ import annotations

from importlib import import_module
from typing import Any

# Names load on first use, so reading the data-only submodules (sources.py: which field
# comes from where) needs none of the optional libraries the connector talks through.
_WHERE = {
    "AUTH_METHODS": ".directory",
    "Auth": ".directory",
    "COMPUTER_FILTER": ".discovery",
    "Capabilities": ".discovery",
    "DiscoveredSite": ".discovery",
    "Entry": ".directory",
    "LdapConnector": ".connector",
    "LdapDirectory": ".directory",
    "LdapUrl": ".directory",
    "ManagementPoint": ".discovery",
    "SrvRecord": ".srv",
    "SrvResolver": ".srv",
    "count_command": ".command",
    "count_computers": ".connector",
    "count_enabled_computers": ".discovery",
    "discover": ".discovery",
    "discover_command": ".command",
    "discover_sites": ".connector",
    "domain_base": ".srv",
    "find_ldap_servers": ".srv",
    "local_domain": ".srv",
    "parse_capabilities": ".discovery",
    "parse_ldap_url": ".directory",
    "site_row": ".command",
    "system_management_dn": ".discovery",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_WHERE[name], __name__), name)
