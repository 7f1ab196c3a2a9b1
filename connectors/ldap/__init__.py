"""Active Directory connector (ldap3): sites and management points published in AD, and coverage counts."""

from __future__ import annotations

from connectors.ldap.command import count_command, discover_command, site_row
from connectors.ldap.directory import AUTH_METHODS, Auth, Entry, LdapDirectory, LdapUrl, parse_ldap_url
from connectors.ldap.discovery import (
    COMPUTER_FILTER,
    Capabilities,
    DiscoveredSite,
    ManagementPoint,
    count_enabled_computers,
    discover,
    parse_capabilities,
    system_management_dn,
)
from connectors.ldap.srv import SrvRecord, SrvResolver, domain_base, find_ldap_servers, local_domain

__all__ = [
    "AUTH_METHODS",
    "COMPUTER_FILTER",
    "Auth",
    "Capabilities",
    "DiscoveredSite",
    "Entry",
    "LdapDirectory",
    "LdapUrl",
    "ManagementPoint",
    "SrvRecord",
    "SrvResolver",
    "count_command",
    "count_enabled_computers",
    "discover",
    "discover_command",
    "domain_base",
    "find_ldap_servers",
    "local_domain",
    "parse_capabilities",
    "parse_ldap_url",
    "site_row",
    "system_management_dn",
]
