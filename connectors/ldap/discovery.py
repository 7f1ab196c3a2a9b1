"""ConfigMgr sites and management points as published in Active Directory, and the enabled-computer count.

Reads ``mSSMSSite`` and ``mSSMSManagementPoint`` under ``CN=System Management,CN=System,<domain>``;
a value that does not fit its syntax is skipped and reported, never a crash.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from sccm_cep.errors import ConfigError, NotAnSccmSite

from .directory import Entry, LdapDirectory, _NoSuchObject

__all__ = [
    "COMPUTER_FILTER",
    "Capabilities",
    "DiscoveredSite",
    "ManagementPoint",
    "count_enabled_computers",
    "discover",
    "parse_capabilities",
    "system_management_dn",
]

log = logging.getLogger(__name__)

SITE_ATTRIBUTES = (
    "cn",
    "mSSMSSiteCode",
    "mSSMSSourceForest",
    "mSSMSHealthState",
    "mSSMSVersion",
    "mSSMSCapabilities",
    "mSSMSAssignmentSiteCode",
)
MP_ATTRIBUTES = (
    "cn",
    "mSSMSSiteCode",
    "mSSMSMPName",
    "dNSHostName",
    "mSSMSDefaultMP",
    "mSSMSDeviceManagementPoint",
    "mSSMSVersion",
    "mSSMSCapabilities",
    "mSSMSSourceForest",
    "mSSMSHealthState",
)
#: Enabled computers: ACCOUNTDISABLE (0x2) not set in userAccountControl (LDAP_MATCHING_RULE_BIT_AND).
COMPUTER_FILTER = "(&(objectClass=computer)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))"

_SITE_CODE = re.compile(r"^[A-Za-z0-9]{3}$")
_HEALTH_GUID = r"\.(\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\})"
_HOST = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9-]{1,63})*\.?$")
_BUILD = re.compile(r"^\d+\.\d+\.\d+(?:\.\d+)?$")
_CMD_SITE = re.compile(r"SMSSITECODE=([A-Za-z0-9]{3})\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the ``mSSMSCapabilities`` XML says (every part optional; inferred, not documented)."""

    version: str | None = None
    root_site_code: str | None = None
    client_site_code: str | None = None

    def site_type(self, site_code: str) -> str | None:
        """primary / central_administration / secondary, by ConfigManBearPig's rules; None if unknown."""
        if self.client_site_code is None:
            return None
        if self.client_site_code.upper() == site_code.upper():
            return "primary"
        if self.root_site_code and self.root_site_code.upper() == site_code.upper():
            return "central_administration"
        return "secondary"


@dataclass(frozen=True, slots=True)
class ManagementPoint:
    """One published management point."""

    host: str
    site_code: str
    default: bool | None = None
    device: bool | None = None
    version: int | None = None
    build: str | None = None
    source_forest: str | None = None
    health_state: str | None = None


@dataclass(frozen=True, slots=True)
class DiscoveredSite:
    """One site as AD knows it: from its ``mSSMSSite`` object and/or its management points."""

    site_code: str
    domain: str
    published: bool
    site_guid: str | None = None
    version: int | None = None
    build: str | None = None
    source_forest: str | None = None
    site_type: str | None = None
    capabilities: Capabilities | None = None
    management_points: tuple[ManagementPoint, ...] = ()
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def default_mp(self) -> ManagementPoint | None:
        return next((mp for mp in self.management_points if mp.default), None)


def system_management_dn(base: str) -> str:
    return f"CN=System Management,CN=System,{base}"


def discover(directory: LdapDirectory, base: str | Sequence[str] | None = None) -> list[DiscoveredSite]:
    """Every site and management point published in each domain given (default: the RootDSE's).

    Raises ``NotAnSccmSite`` when a domain has no System Management container or the schema has
    no ConfigMgr classes, saying which and what to do.
    """
    bases = [base] if isinstance(base, str) else list(base or [directory.default_naming_context()])
    sites: list[DiscoveredSite] = []
    for domain in bases:
        sites.extend(_discover_domain(directory, domain))
    return sites


def count_enabled_computers(directory: LdapDirectory, bases: str | Iterable[str] | None = None) -> int:
    """How many enabled computer objects the domains hold; only the count is kept, no name or DN."""
    targets = [bases] if isinstance(bases, str) else list(bases or [directory.default_naming_context()])
    total = 0
    for target in targets:
        try:
            for _ in directory.search(target, COMPUTER_FILTER, ["1.1"]):
                total += 1
        except _NoSuchObject:
            raise ConfigError(
                f"the base {target} does not exist on {directory.url}",
                hint="give the domain DN (DC=corp,DC=example) with --base",
            ) from None
    return total


# -- one domain -----------------------------------------------------------------------------


def _discover_domain(directory: LdapDirectory, domain: str) -> list[DiscoveredSite]:
    container = system_management_dn(domain)
    if not directory.exists(container):
        if directory.has_object_class("mSSMSSite") is False:
            raise _not_extended(directory, domain)
        raise NotAnSccmSite(
            f"{domain} on {directory.url} has no '{container}' container: the AD schema may not be "
            "extended for Configuration Manager, or the container was not created",
            hint="extend the schema (extadsch.exe), create the System Management container under "
            "CN=System, give each site server's computer account Full Control on it, and enable "
            "publishing on the site's Publishing tab; or check --base names the right domain",
            missing=(container,),
        )
    try:
        site_entries = list(directory.search(container, "(objectClass=mSSMSSite)", SITE_ATTRIBUTES))
        mp_entries = list(directory.search(container, "(objectClass=mSSMSManagementPoint)", MP_ATTRIBUTES))
    except _NoSuchObject:  # removed between the two reads
        return []
    if not site_entries and not mp_entries and directory.has_object_class("mSSMSSite") is False:
        raise _not_extended(directory, domain)
    return _assemble(domain, site_entries, mp_entries)


def _not_extended(directory: LdapDirectory, domain: str) -> NotAnSccmSite:
    return NotAnSccmSite(
        f"the directory at {directory.url} has no mSSMSSite class: the AD schema is not extended "
        f"for Configuration Manager, so no site can be published in {domain}",
        hint="a Schema Admin runs extadsch.exe (or ConfigMgr_ad_schema.ldf) once per forest; or register "
        "the site by hand with its database URL",
        missing=("mSSMSSite", "mSSMSManagementPoint"),
    )


def _assemble(domain: str, site_entries: list[Entry], mp_entries: list[Entry]) -> list[DiscoveredSite]:
    problems: dict[str, list[str]] = {}
    unattached: list[str] = []

    def report(code: str | None, text: str) -> None:
        log.warning("LDAP discovery in %s: %s", domain, text)
        (problems.setdefault(code.upper(), []) if code else unattached).append(text)

    mps: dict[str, list[ManagementPoint]] = {}
    for entry in mp_entries:
        mp = _management_point(entry, report)
        if mp is not None:
            mps.setdefault(mp.site_code, []).append(mp)

    sites: dict[str, DiscoveredSite] = {}
    for entry in site_entries:
        code = _site_code(entry, "mSSMSSite", report)
        if code is None:
            continue
        if code in sites:
            report(code, f"site {code} is published twice; the first object is used")
            continue
        sites[code] = DiscoveredSite(
            site_code=code,
            domain=domain,
            published=True,
            site_guid=_site_guid(entry, code, report),
            version=_integer(entry, "mSSMSVersion", code, report),
            source_forest=_text(entry, "mSSMSSourceForest"),
            capabilities=_capabilities(entry, code, report),
        )

    out: list[DiscoveredSite] = []
    for code in sorted(set(sites) | set(mps)):
        site = sites.get(code) or DiscoveredSite(site_code=code, domain=domain, published=False)
        points = tuple(sorted(mps.get(code, []), key=lambda p: (not p.default, p.host.lower())))
        caps = site.capabilities or _mp_capabilities(points, mp_entries, code)
        build = (
            site.build or (caps.version if caps else None) or next((p.build for p in points if p.build), None)
        )
        site_type = caps.site_type(code) if caps else None
        if site_type is None and site.published and not points:
            site_type = "central_administration?"  # a site with no client-facing MP is most likely a CAS
        version = (
            site.version
            if site.version is not None
            else next((p.version for p in points if p.version is not None), None)
        )
        forest = site.source_forest or next((p.source_forest for p in points if p.source_forest), None)
        out.append(
            DiscoveredSite(
                site_code=code,
                domain=domain,
                published=site.published,
                site_guid=site.site_guid,
                version=version,
                build=build,
                source_forest=forest,
                site_type=site_type,
                capabilities=caps,
                management_points=points,
                problems=tuple(problems.get(code, [])) + tuple(unattached),
            )
        )
    if unattached and not out:
        log.warning("LDAP discovery in %s: %d object(s) skipped and no site found", domain, len(unattached))
    return out


# -- one object -----------------------------------------------------------------------------

_ReportFn = Callable[[str | None, str], None]


def _management_point(entry: Entry, report: _ReportFn) -> ManagementPoint | None:
    code = _site_code(entry, "mSSMSManagementPoint", report)
    if code is None:
        return None
    host = None
    for attr in ("dNSHostName", "mSSMSMPName"):
        value = _text(entry, attr)
        if value is None:
            continue
        if _HOST.match(value):
            host = value.rstrip(".").lower()
            break
        report(code, f"a management point of site {code} has a {attr} that is not a host name; skipped")
    if host is None:
        report(code, f"a management point of site {code} publishes no usable host name; skipped")
        return None
    caps = _capabilities(entry, code, report)
    return ManagementPoint(
        host=host,
        site_code=code,
        default=_boolean(entry, "mSSMSDefaultMP", code, report),
        device=_boolean(entry, "mSSMSDeviceManagementPoint", code, report),
        version=_integer(entry, "mSSMSVersion", code, report),
        build=caps.version if caps else None,
        source_forest=_text(entry, "mSSMSSourceForest"),
        health_state=_text(entry, "mSSMSHealthState"),
    )


def _site_code(entry: Entry, kind: str, report: _ReportFn) -> str | None:
    value = _text(entry, "mSSMSSiteCode")
    if value is None or not _SITE_CODE.match(value):
        report(None, f"an {kind} object has {'no' if value is None else 'an invalid'} mSSMSSiteCode; skipped")
        return None
    return value.upper()


def _site_guid(entry: Entry, code: str, report: _ReportFn) -> str | None:
    health = _text(entry, "mSSMSHealthState")
    if health is None:
        return None
    match = re.search(re.escape(code) + _HEALTH_GUID, health, re.IGNORECASE)
    if match is None:
        report(code, f"site {code}'s mSSMSHealthState holds no site GUID; GUID left empty")
        return None
    return match.group(1).upper()


def _boolean(entry: Entry, attr: str, code: str, report: _ReportFn) -> bool | None:
    value = _text(entry, attr)
    if value is None:
        return None
    if value.upper() in ("TRUE", "FALSE"):
        return value.upper() == "TRUE"
    report(code, f"{attr} on a management point of site {code} is not TRUE or FALSE; ignored")
    return None


def _integer(entry: Entry, attr: str, code: str, report: _ReportFn) -> int | None:
    value = _text(entry, attr)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        report(code, f"{attr} on an object of site {code} is not an integer; ignored")
        return None


def _text(entry: Entry, attr: str) -> str | None:
    value = entry.first(attr)
    if value is None:
        return None
    return value.strip() or None


def _capabilities(entry: Entry, code: str, report: _ReportFn) -> Capabilities | None:
    raw = _text(entry, "mSSMSCapabilities")
    if raw is None:
        return None
    caps = parse_capabilities(raw)
    if caps is None:
        report(code, f"mSSMSCapabilities on an object of site {code} is not readable XML; ignored")
    return caps


def _mp_capabilities(
    points: Sequence[ManagementPoint], entries: list[Entry], code: str
) -> Capabilities | None:
    # The site object carries no capabilities; the default MP's (else any MP's) describe the site.
    hosts = [p.host for p in points]
    ranked: list[tuple[int, Capabilities]] = []
    for entry in entries:
        if (_text(entry, "mSSMSSiteCode") or "").upper() != code:
            continue
        host = (_text(entry, "dNSHostName") or _text(entry, "mSSMSMPName") or "").rstrip(".").lower()
        if host not in hosts:
            continue
        raw = _text(entry, "mSSMSCapabilities")
        caps = parse_capabilities(raw) if raw else None
        if caps is not None:
            default = next((p.default for p in points if p.host == host), None)
            ranked.append((0 if default else 1, caps))
    ranked.sort(key=lambda pair: pair[0])
    return ranked[0][1] if ranked else None


def parse_capabilities(raw: str) -> Capabilities | None:
    """The few facts sccm-cep uses from the capabilities XML; None if it is not XML at all."""
    if "<!DOCTYPE" in raw.upper() or "<!ENTITY" in raw.upper():
        return None  # no DTDs: this parser is fed directory data
    fixed = re.sub(r"&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9A-Fa-f]+);)", "&amp;", raw)
    try:
        root = ET.fromstring(fixed)
    except ET.ParseError:
        return None
    version = root_site = client_site = None
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1].lower()
        text = (element.text or "").strip()
        if tag == "version" and version is None:
            candidate = element.get("Value") or text
            version = candidate if _BUILD.match(candidate) else None
        elif tag == "rootsitecode" and root_site is None:
            candidate = element.get("Value") or text
            root_site = candidate.upper() if _SITE_CODE.match(candidate) else None
        elif tag == "commandline" and client_site is None:
            match = _CMD_SITE.search(" ".join([text, *element.attrib.values()]))
            client_site = match.group(1).upper() if match else None
    return Capabilities(version=version, root_site_code=root_site, client_site_code=client_site)
