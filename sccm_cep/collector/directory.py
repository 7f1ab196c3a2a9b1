"""Active Directory through the LDAP connector: site discovery (its discovery entry point) and
the coverage source (its Connector), both from one settings shape the site keeps.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sccm_cep.connector import Connector, DirectorySettings, load_discovery, open_connector
from sccm_cep.errors import ConfigError

__all__ = [
    "LDAP_KEYS",
    "coverage_source",
    "directory_settings",
    "discover_sites",
    "find_discovered",
    "ldap_settings",
]

#: The LDAP settings a site keeps (the bind password only as a reference).
LDAP_KEYS = ("ldap_url", "domain", "bases", "auth", "bind_dn", "ldap_password_ref", "ca_bundle", "insecure")


def ldap_settings(opts: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON-able LDAP settings out of CLI options or a stored site."""
    out = {k: opts.get(k) for k in LDAP_KEYS}
    out["bases"] = list(out["bases"] or ())
    out["auth"] = out["auth"] or "simple"
    out["insecure"] = bool(out["insecure"])
    return out


def directory_settings(opts: Mapping[str, Any]) -> DirectorySettings:
    """The typed settings the LDAP connector takes, out of CLI options or a stored site."""
    s = ldap_settings(opts)
    return DirectorySettings(
        ldap_url=s["ldap_url"],
        bases=tuple(s["bases"]),
        auth=s["auth"],
        bind_dn=s["bind_dn"],
        password_ref=s["ldap_password_ref"],
        ca_bundle=None if s["ca_bundle"] is None else str(s["ca_bundle"]),
        insecure=s["insecure"],
        domain=s["domain"],
    )


def discover_sites(settings: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every site and management point AD publishes, as JSON-able rows."""
    return load_discovery("ldap")(directory_settings(settings))


def find_discovered(rows: list[dict[str, Any]], code: str) -> dict[str, Any]:
    """The discovered row of site ``code``; a clear error naming what AD does publish."""
    for row in rows:
        if str(row["site_code"]).upper() == code.upper():
            return row
    found = ", ".join(sorted({str(r["site_code"]) for r in rows})) or "none"
    raise ConfigError(
        f"Active Directory publishes no site {code.upper()} (found: {found})",
        hint="check the site code, or --base for the domain the site publishes to",
    )


def coverage_source(site: Connector, settings: Mapping[str, Any]) -> Connector:
    """The AD coverage source of a site: AD's computer count next to the clients ``site`` manages
    (asked only when the coverage record is read)."""
    return open_connector(
        "ldap",
        settings=directory_settings(settings),
        managed_clients=lambda: site.check().managed_clients,
    )
