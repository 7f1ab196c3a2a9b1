"""What ``sccm-cep site discover`` needs from this connector: one call in, JSON-able rows out."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from sccm_cep.errors import ConfigError, SourceUnreachable

from .directory import Auth, LdapDirectory
from .discovery import DiscoveredSite, count_enabled_computers, discover
from .srv import SrvResolver, domain_base, find_ldap_servers, local_domain

__all__ = ["count_command", "discover_command", "site_row"]

T = TypeVar("T")


def discover_command(
    ldap_url: str | None,
    base: str | Sequence[str] | None,
    auth: Auth,
    bind_dn: str | None,
    password_ref: str | None,
    ca_bundle: str | Path | None,
    insecure: bool,
    *,
    domain: str | None = None,
    resolver: SrvResolver | None = None,
    connect_timeout: float = 10.0,
    receive_timeout: float = 30.0,
) -> list[dict[str, Any]]:
    """Discover sites and MPs, one JSON-able row per site, sorted by domain and site code.

    With no ``ldap_url`` the domain's DCs come from DNS SRV records (``domain`` or this host's);
    they are tried in order until one answers. With no ``base`` the RootDSE's naming context is used
    (or the domain's DN when DNS found the server).
    """

    def run(directory: LdapDirectory, bases: str | Sequence[str] | None) -> list[dict[str, Any]]:
        sites = discover(directory, bases)
        return [site_row(site, str(directory.url)) for site in sorted(sites, key=_order)]

    return _with_directory(
        run,
        ldap_url,
        base,
        auth,
        bind_dn,
        password_ref,
        ca_bundle,
        insecure,
        domain=domain,
        resolver=resolver,
        connect_timeout=connect_timeout,
        receive_timeout=receive_timeout,
    )


def count_command(
    ldap_url: str | None,
    base: str | Sequence[str] | None,
    auth: Auth,
    bind_dn: str | None,
    password_ref: str | None,
    ca_bundle: str | Path | None,
    insecure: bool,
    *,
    domain: str | None = None,
    resolver: SrvResolver | None = None,
    connect_timeout: float = 10.0,
    receive_timeout: float = 120.0,
) -> int:
    """The number of enabled computer objects under ``base`` (only the count is kept)."""
    return _with_directory(
        count_enabled_computers,
        ldap_url,
        base,
        auth,
        bind_dn,
        password_ref,
        ca_bundle,
        insecure,
        domain=domain,
        resolver=resolver,
        connect_timeout=connect_timeout,
        receive_timeout=receive_timeout,
    )


def _with_directory(
    action: Callable[[LdapDirectory, Any], T],
    ldap_url: str | None,
    base: str | Sequence[str] | None,
    auth: Auth,
    bind_dn: str | None,
    password_ref: str | None,
    ca_bundle: str | Path | None,
    insecure: bool,
    *,
    domain: str | None,
    resolver: SrvResolver | None,
    connect_timeout: float,
    receive_timeout: float,
) -> T:
    """Run ``action`` on the first directory server that answers (``ldap_url``, else DNS SRV)."""
    if ldap_url:
        urls = [ldap_url]
    else:
        urls = find_ldap_servers(domain, resolver)
        if base is None:
            found_domain = domain or local_domain()
            base = domain_base(found_domain) if found_domain else None
    last: SourceUnreachable | None = None
    for url in urls:
        directory = LdapDirectory(
            url,
            auth=auth,
            bind_dn=bind_dn,
            password_ref=password_ref,
            ca_bundle=ca_bundle,
            insecure=insecure,
            connect_timeout=connect_timeout,
            receive_timeout=receive_timeout,
        )
        try:
            with directory:
                return action(directory, base)
        except SourceUnreachable as exc:
            last = exc
            continue
    if last is not None:
        raise last
    raise ConfigError("no LDAP server to ask", hint="give one with --ldap URL")


def site_row(site: DiscoveredSite, server: str) -> dict[str, Any]:
    """A site as the plain dict ``site discover --json`` prints."""
    return {
        "site_code": site.site_code,
        "domain": site.domain,
        "server": server,
        "published": site.published,
        "site_guid": site.site_guid,
        "version": site.version,
        "build": site.build,
        "source_forest": site.source_forest,
        "site_type": site.site_type,
        "capabilities": dataclasses.asdict(site.capabilities) if site.capabilities else None,
        "management_points": [dataclasses.asdict(mp) for mp in site.management_points],
        "problems": list(site.problems),
    }


def _order(site: DiscoveredSite) -> tuple[str, str]:
    return (site.domain.lower(), site.site_code)
