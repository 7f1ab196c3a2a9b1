"""Active Directory behind the core's seams: the coverage source (a Connector offering the
``directory_coverage`` stream) and site discovery, both taking one ``DirectorySettings``."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sccm_cep import model as m
from sccm_cep.connector import CheckReport, CollectionRequest, DirectorySettings

from .command import count_command, discover_command
from .directory import Auth

__all__ = ["LdapConnector", "count_computers", "discover_sites"]


def _options(settings: DirectorySettings) -> dict[str, Any]:
    return {
        "ldap_url": settings.ldap_url,
        "base": list(settings.bases) or None,
        "auth": cast("Auth", settings.auth),
        "bind_dn": settings.bind_dn,
        "password_ref": settings.password_ref,
        "ca_bundle": settings.ca_bundle,
        "insecure": settings.insecure,
        "domain": settings.domain,
    }


def discover_sites(settings: DirectorySettings) -> list[dict[str, Any]]:
    """Every site and management point the directory publishes, as JSON-able rows."""
    return discover_command(**_options(settings))


def count_computers(settings: DirectorySettings) -> int:
    """Enabled computer objects under the configured bases: a count, nothing else."""
    return count_command(**_options(settings))


class LdapConnector:
    """AD's side of management coverage: the count of enabled computers, next to the number of
    clients the site manages (``managed_clients`` asks the site's own source, when read)."""

    name = "ldap"

    def __init__(
        self, settings: DirectorySettings, *, managed_clients: Callable[[], int | None] = lambda: None
    ) -> None:
        self._settings = settings
        self._managed = managed_clients

    def __repr__(self) -> str:
        return f"LdapConnector(ldap_url={self._settings.ldap_url!r}, bases={len(self._settings.bases)})"

    def check(self) -> CheckReport:
        count_computers(self._settings)  # binds and searches: reachability, login and bases
        return CheckReport(
            site_code=None,
            version=None,
            build_number=None,
            managed_clients=None,
            readable=(m.DirectoryCoverage.NAME,),
        )

    def streams(self, request: CollectionRequest) -> Sequence[_CoverageStream]:
        return [_CoverageStream(self)] if request.wants(m.DirectoryCoverage.NAME) else []

    def skipped(self, request: CollectionRequest) -> Sequence[str]:
        return []

    def close(self) -> None:
        """Nothing stays open: each count binds, searches and unbinds."""

    def coverage(self) -> m.DirectoryCoverage:
        computers = count_computers(self._settings)
        managed = self._managed()
        share = managed / computers if computers and managed is not None else None
        return m.DirectoryCoverage(directory_computers=computers, managed_clients=managed, coverage=share)


@dataclass(frozen=True)
class _CoverageStream:
    connector: LdapConnector

    @property
    def record_type(self) -> type[m.Record]:
        return m.DirectoryCoverage

    @property
    def source(self) -> str:
        return "ldap: enabled computer objects (count)"

    def read(self) -> Iterator[m.Record]:
        yield self.connector.coverage()
