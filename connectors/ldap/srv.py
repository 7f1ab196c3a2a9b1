"""Finding a domain's LDAP servers from DNS SRV records (``_ldap._tcp.dc._msdcs.<domain>``).

The lookup is a plain function that tests and callers can replace; dnspython is imported only here.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sccm_cep.errors import ConfigError, SourceUnreachable

__all__ = ["SrvRecord", "SrvResolver", "domain_base", "find_ldap_servers", "local_domain", "resolve_srv"]


@dataclass(frozen=True, slots=True)
class SrvRecord:
    """One SRV answer."""

    priority: int
    weight: int
    port: int
    target: str


SrvResolver = Callable[[str], Sequence[SrvRecord]]


def resolve_srv(name: str) -> list[SrvRecord]:
    """SRV records for ``name`` through the system's resolvers (dnspython)."""
    try:
        import dns.exception
        import dns.resolver
    except ModuleNotFoundError as exc:
        raise ConfigError(
            "finding domain controllers from DNS needs dnspython",
            hint="pip install 'sccm-cep[ldap]', or give the server with --ldap ldaps://DC:636",
        ) from exc
    try:
        answer = dns.resolver.resolve(name, "SRV", lifetime=5.0)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer) as exc:
        raise SourceUnreachable(
            f"DNS has no {name} records",
            hint="this host may not be domain-joined, or --domain is wrong; give the server with --ldap URL",
        ) from exc
    except dns.exception.DNSException as exc:
        raise SourceUnreachable(
            f"the DNS lookup of {name} failed ({exc.__class__.__name__})",
            hint="check the resolver, or give the server with --ldap URL",
        ) from exc
    return [SrvRecord(int(r.priority), int(r.weight), int(r.port), str(r.target).rstrip(".")) for r in answer]


def local_domain() -> str | None:
    """The DNS domain this host belongs to: ``USERDNSDOMAIN`` on Windows, else the FQDN's suffix."""
    env = os.environ.get("USERDNSDOMAIN")
    if env:
        return env.lower()
    fqdn = socket.getfqdn()
    return fqdn.split(".", 1)[1].lower() if "." in fqdn else None


def domain_base(domain: str) -> str:
    """``corp.example`` → ``DC=corp,DC=example``."""
    return ",".join(f"DC={label}" for label in domain.strip(".").split(".") if label)


def find_ldap_servers(domain: str | None = None, resolver: SrvResolver | None = None) -> list[str]:
    """``ldap://`` URLs (StartTLS) of the domain's DCs, best first (lowest priority, then highest weight)."""
    name_of_domain = domain or local_domain()
    if not name_of_domain:
        raise ConfigError(
            "this host's DNS domain is unknown, so no domain controller can be looked up",
            hint="give the server with --ldap ldaps://DC:636 (or the domain with --domain)",
        )
    records = (resolver or resolve_srv)(f"_ldap._tcp.dc._msdcs.{name_of_domain.strip('.')}")
    usable = [r for r in records if r.target and r.target != "."]
    if not usable:
        raise SourceUnreachable(
            f"DNS lists no domain controller for {name_of_domain}",
            hint="give the server with --ldap URL",
        )
    usable.sort(key=lambda r: (r.priority, -r.weight, r.target.lower()))
    return [f"ldap://{r.target}:{r.port}" for r in usable]
