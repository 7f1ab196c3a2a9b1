"""Active Directory through the LDAP connector's published functions: site discovery and the
coverage count (enabled computers, only as a number), with one settings shape for both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sccm_cep.connector import Connector, RecordSource, load_discovery
from sccm_cep.errors import ConfigError
from sccm_cep.model import DirectoryCoverage

__all__ = [
    "LDAP_KEYS",
    "count_computers",
    "coverage_source",
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


def _call(name: str, settings: Mapping[str, Any]) -> Any:
    s = ldap_settings(settings)
    function = load_discovery(name)
    return function(
        s["ldap_url"],
        s["bases"] or None,
        s["auth"],
        s["bind_dn"],
        s["ldap_password_ref"],
        s["ca_bundle"],
        s["insecure"],
        domain=s["domain"],
    )


def discover_sites(settings: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every site and management point AD publishes, as JSON-able rows."""
    rows: list[dict[str, Any]] = _call("ldap", settings)
    return rows


def count_computers(settings: Mapping[str, Any]) -> int:
    """Enabled computer objects under the configured bases: a count, nothing else."""
    return int(_call("ldap_count", settings))


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


def coverage_source(connector: Connector, settings: Mapping[str, Any]) -> RecordSource:
    """The coverage record, read when the export asks for it: AD's count next to SCCM's clients."""

    def read() -> list[DirectoryCoverage]:
        computers = count_computers(settings)
        managed = connector.check().managed_clients
        share = managed / computers if computers and managed is not None else None
        return [DirectoryCoverage(directory_computers=computers, managed_clients=managed, coverage=share)]

    return RecordSource("ldap", read)
