"""Registered sites: validate, register, show, check.

A site row holds how to reach the site and references to its secrets, never a secret value.
The key itself on this host (loading it, rotating it, export-key / import-key, removing a site
with its keys) is handled in ``sccm_cep.collector.keys``.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session

from sccm_cep.collector.store import Site, Store, utcnow
from sccm_cep.collector.store.rows import DamagedRow, checked, first_checked, readable
from sccm_cep.connector import CheckReport, CollectionRequest, Connector, open_connector, unavailable_of
from sccm_cep.errors import ConfigError, NotAnSccmSite
from sccm_cep.platform.config import new_secret, resolve_secret

__all__ = [
    "SiteView",
    "check_site",
    "find_site",
    "normalize_code",
    "open_site_connector",
    "open_site_connectors",
    "register_site",
    "site_views",
    "view",
]

_CODE = re.compile(r"[A-Za-z0-9]{3}")
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(:\d{1,5})?$")


@dataclass(frozen=True, slots=True)
class SiteView:
    """What ``site list`` and ``site show`` print: no secret, the URL's password masked."""

    code: str
    name: str | None
    db_url: str | None
    password_ref: str | None
    winrm_hosts: tuple[str, ...]
    secret_store: str
    key_version: int
    registered_at: str
    active_directory: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "db_url": self.db_url,
            "password_ref": self.password_ref,
            "winrm_hosts": list(self.winrm_hosts),
            "secret_store": self.secret_store,
            "key_version": self.key_version,
            "registered_at": self.registered_at,
            "active_directory": self.active_directory,
        }


def normalize_code(code: str) -> str:
    """An SCCM site code: three letters or digits, upper-cased."""
    # fullmatch: "PS1\n" is not a site code (the code names the site's key and lock files).
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        shown = code if isinstance(code, str) and code.isprintable() and len(code) <= 20 else "that"
        raise ConfigError(
            f"'{shown}' is not a site code", hint="a site code is 3 letters or digits, e.g. PS1"
        )
    return code.upper()


def _check_db_url(url: str) -> str:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(
            "the --db URL is not valid", hint="e.g. mssql+pyodbc://@SQL01/CM_PS1?driver=..."
        ) from exc
    if parsed.get_backend_name() not in ("mssql", "postgresql", "sqlite"):
        raise ConfigError(
            f"unsupported database type '{parsed.get_backend_name()}'",
            hint="use mssql+pyodbc:// (or sqlite:// / postgresql+psycopg:// for copies)",
        )
    if parsed.password:
        raise ConfigError(
            "the --db URL holds a password; it would be stored in clear",
            hint="remove it from the URL and pass --password env:NAME, file:PATH or keyring:SERVICE/USER",
        )
    return url


def _check_ref(ref: str | None) -> str | None:
    if ref is None:
        return None
    kind, sep, rest = ref.partition(":")
    if kind not in ("env", "file", "keyring") or not sep or not rest:
        raise ConfigError(
            "a password must be given as a reference, not a value",
            hint="use env:NAME, file:PATH or keyring:SERVICE/USER",
        )
    return ref


def find_site(session: Session, code: str) -> Site:
    code = normalize_code(code)
    site = first_checked(session, Site, select(Site).where(Site.code == code))
    if site is None:
        raise ConfigError(f"no site {code} is registered", hint="see 'sccm-cep site list'")
    return site


def register_site(
    store: Store,
    code: str,
    *,
    db_url: str | None,
    password_ref: str | None = None,
    winrm_hosts: tuple[str, ...] = (),
    winrm_options: dict[str, Any] | None = None,
    name: str | None = None,
    secret_store: str = "file",
    ad_info: dict[str, Any] | None = None,
) -> SiteView:
    """Register a site; make its 256-bit pseudonymization secret. Duplicates are refused."""
    code = normalize_code(code)
    if db_url is None and not winrm_hosts:
        raise ConfigError("a site needs a source", hint="give --db URL, --winrm HOST, or both")
    url = _check_db_url(db_url) if db_url else None
    ref = _check_ref(password_ref)
    for host in winrm_hosts:
        if not _HOST.match(host):
            raise ConfigError(f"'{host}' is not a host name", hint="give --winrm HOST[:PORT]")
    with store.session() as session:
        if session.execute(select(Site.id).where(Site.code == code)).first():
            raise ConfigError(f"site {code} is already registered", hint=f"see 'sccm-cep site show {code}'")
        secret_ref = new_secret(f"site-{code}-v1", store=secret_store)
        site = Site(
            code=code,
            name=name,
            db_url=url,
            password_ref=ref,
            # The site server first, then clients; options hold only references (no password).
            winrm_hosts=json.dumps({"hosts": list(winrm_hosts), "options": winrm_options or {}})
            if winrm_hosts
            else None,
            secret_ref=secret_ref,
            key_version=1,
            created_at=utcnow(),
            ad_info=json.dumps(ad_info, sort_keys=True) if ad_info else None,
        )
        session.add(site)
        store.audit(
            session, "site.register", site=code, sources=["db"] * bool(url) + ["winrm"] * bool(winrm_hosts)
        )
        session.commit()
        return view(site)


def site_views(store: Store) -> tuple[list[SiteView], list[DamagedRow]]:
    """Every registered site as ``site list`` shows it, and the site rows that could not be read."""
    with store.session() as session:
        return readable(checked(session, Site, select(Site).order_by(Site.code)), view)


def view(site: Site) -> SiteView:
    """What ``site list`` and ``site show`` print; DamagedRow when a stored value cannot be read."""
    try:
        url = make_url(site.db_url).render_as_string(hide_password=True) if site.db_url else None
    except ArgumentError as exc:
        raise DamagedRow("sites", site.id, "db_url") from exc
    return SiteView(
        code=site.code,
        name=site.name,
        db_url=url,
        password_ref=site.password_ref,
        winrm_hosts=tuple(_winrm(site)[0]),
        secret_store=site.secret_ref.partition(":")[0],
        key_version=site.key_version,
        registered_at=site.created_at.isoformat(timespec="seconds") + "Z",
        active_directory=_stored_json(site, "ad_info", dict),
    )


def _winrm(site: Site) -> tuple[list[str], dict[str, Any]]:
    stored = _stored_json(site, "winrm_hosts", (dict, list))
    if stored is None:
        return [], {}
    if isinstance(stored, list):  # an early form: hosts only
        return [str(h) for h in stored], {}
    hosts, options = stored.get("hosts", []), stored.get("options", {})
    if not isinstance(hosts, list) or not isinstance(options, dict):
        raise DamagedRow("sites", site.id, "winrm_hosts")
    return [str(h) for h in hosts], dict(options)


def _stored_json(site: Site, column: str, kind: type | tuple[type, ...]) -> Any:
    """A JSON column of a site row: None when empty, DamagedRow when not JSON of ``kind``."""
    text = getattr(site, column)
    if not text:
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise DamagedRow("sites", site.id, column) from exc
    if not isinstance(value, kind):
        raise DamagedRow("sites", site.id, column)
    return value


def open_site_connectors(site: Site) -> list[Connector]:
    """Every source the site was registered with: its database first, then WinRM."""
    opened = [open_site_connector(site)] if site.db_url else []
    hosts, options = _winrm(site)
    if hosts:
        opened.append(open_connector("winrm", site_server=hosts[0], clients=hosts[1:], **options))
    if not opened:
        raise ConfigError(f"site {site.code} has no source", hint="register it again with --db or --winrm")
    return opened


def open_site_connector(site: Site) -> Connector:
    """The site's database connector; its WinRM connector when it has no database URL."""
    if site.db_url:
        password = resolve_secret(site.password_ref) if site.password_ref else None
        return open_connector("sccm_sql", url=site.db_url, password=password)
    hosts, options = _winrm(site)
    if not hosts:
        raise ConfigError(f"site {site.code} has no source", hint="register it again with --db or --winrm")
    return open_connector("winrm", site_server=hosts[0], clients=hosts[1:], **options)


def check_site(
    store: Store, code: str, request: CollectionRequest | None = None
) -> list[tuple[str, CheckReport]]:
    """Connect read-only through every registered source (database, WinRM: reachability and
    login) and confirm each one is the registered site. Returns (connector name, report); with
    a ``request``, each report names the fields of it that source cannot give on this site."""
    with store.session() as session:
        site = find_site(session, code)
    reports: list[tuple[str, CheckReport]] = []
    opened = open_site_connectors(site)
    try:
        for connector in opened:
            report = connector.check()
            if request is not None:
                report = dataclasses.replace(report, unavailable=unavailable_of(connector, request))
            _confirm(site, connector, report)
            reports.append((connector.name, report))
    finally:  # every source, also those after one that failed
        for connector in opened:
            connector.close()
    return reports


def _confirm(site: Site, connector: Connector, report: CheckReport) -> None:
    """The source reads the registered site, or NotAnSccmSite."""
    if (report.site_code or "").upper() != site.code:
        found = report.site_code or "(none)"
        found = found if _CODE.fullmatch(found) or found == "(none)" else "(not a site code)"
        raise NotAnSccmSite(
            f"the {connector.name} source is site {found}, not {site.code}",
            hint="check the --db URL (CM_<SiteCode>) or --winrm host of the registration",
        )
