"""The seam between the core and the sources: a Connector opens streams of canonical records
and says what it could not collect.

Connectors live in the top-level ``connectors`` package and are found through the
entry-point group ``sccm_cep.connectors``; the core never imports them by name. Site
discovery (``site discover``) goes through ``sccm_cep.discovery`` with the same typed settings
the directory connector takes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

from sccm_cep.errors import ConfigError, NotAnSccmSite
from sccm_cep.model import Level, Record

__all__ = [
    "DERIVED_INPUTS",
    "ENTRY_POINT_GROUP",
    "CheckReport",
    "CollectionRequest",
    "Connector",
    "DirectorySettings",
    "SiteDiscovery",
    "Stream",
    "Unavailable",
    "UnavailableReason",
    "available_connectors",
    "load_discovery",
    "open_connector",
    "own_names_of",
    "site_code_of",
    "unavailable_of",
]

ENTRY_POINT_GROUP = "sccm_cep.connectors"
DISCOVERY_GROUP = "sccm_cep.discovery"

_OS = ("caption", "version", "product_type")
_DEVICE_OS = ("os_caption", "os_version")
_HW = ("manufacturer", "model")

#: record → derived (or normalized-in-place) field → the raw fields it is computed from. Part of
#: the seam: a connector reads the raw fields, the export derives the rest.
DERIVED_INPUTS: dict[str, dict[str, tuple[str, ...]]] = {
    "site": {"release": ("build_number", "version")},
    "client_version": {"release": ("client_version",)},
    "hardware_model": {
        "vendor": ("manufacturer",),
        "model_family": _HW,
        "hypervisor": _HW,
        "is_virtual": _HW,
    },
    "hardware_cpu": {"cpu_family": ("cpu_name",)},
    "hardware_chassis": {"chassis": ("chassis_type",), "form_factor": ("chassis_type",)},
    "operating_system": {"family": _OS, "release": _OS, "build": ("version",), "edition": _OS},
    "software": {
        "publisher": ("publisher",),
        "product": ("product", "version"),
        "version": ("product", "version"),
    },
    "device": {
        "os_family": _DEVICE_OS,
        "os_release": _DEVICE_OS,
        "os_edition": _DEVICE_OS,
        "model_family": _HW,
        "hypervisor": _HW,
        "cpu_family": ("cpu_name",),
        "chassis": ("chassis_type",),
    },
}


@dataclass(frozen=True, slots=True)
class CollectionRequest:
    """What the policies need: for each record type, the fields to read (others are not read)."""

    level: Level
    fields: Mapping[str, frozenset[str]]

    def wants(self, record: str) -> bool:
        return bool(self.fields.get(record))


class UnavailableReason(StrEnum):
    """Why a source could not give a field: a closed set, so a submission's notes hold no free text."""

    VIEW_MISSING = "view_missing"
    COLUMN_MISSING = "column_missing"
    CLASS_MISSING = "class_missing"
    PROPERTY_MISSING = "property_missing"


@dataclass(frozen=True, slots=True)
class Unavailable:
    """A field a source could not give on this site, and why.

    ``missing`` names the schema objects that are not there (``v_View`` or ``v_View.Column``,
    a WMI class or ``Class.Property``): declared names of the source, never a site value.
    """

    record: str
    field: str
    reason: UnavailableReason
    missing: tuple[str, ...]

    def text(self) -> str:
        what = {
            UnavailableReason.VIEW_MISSING: "view",
            UnavailableReason.COLUMN_MISSING: "column",
            UnavailableReason.CLASS_MISSING: "class",
            UnavailableReason.PROPERTY_MISSING: "property",
        }[self.reason]
        return f"{what} {', '.join(self.missing)} is missing"

    def as_json(self) -> dict[str, Any]:
        return {
            "record": self.record,
            "field": self.field,
            "reason": self.reason.value,
            "missing": list(self.missing),
        }


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What a read-only connection to a site found."""

    site_code: str | None
    version: str | None
    build_number: int | None
    managed_clients: int | None
    readable: tuple[str, ...] = ()
    missing_optional: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: Fields of a collection request this source cannot give here (``site check`` fills it).
    unavailable: tuple[Unavailable, ...] = ()


@dataclass(frozen=True, slots=True)
class DirectorySettings:
    """How to reach Active Directory: for site discovery and for the coverage source.

    ``password_ref`` is a secret reference (env:, file:, keyring:), never the password.
    With no ``ldap_url`` the domain controllers come from DNS (``domain`` or this host's);
    with no ``bases`` the directory's naming context is searched.
    """

    ldap_url: str | None = None
    bases: tuple[str, ...] = ()
    auth: str = "simple"
    bind_dn: str | None = None
    password_ref: str | None = field(default=None, repr=False)
    ca_bundle: str | None = None
    insecure: bool = False
    domain: str | None = None


@runtime_checkable
class Stream(Protocol):
    """Records of one type. ``read`` may be called more than once; each call reads again."""

    @property
    def record_type(self) -> type[Record]: ...

    @property
    def source(self) -> str: ...

    def read(self) -> Iterator[Record]: ...


@runtime_checkable
class Connector(Protocol):
    """A source of canonical records for one site, and its own notes on what it left out.

    Optional, read with ``getattr``: ``concurrent_reads = True`` says its streams may be read
    from other threads while another is read (the export then reads ahead, at most two at a
    time: ``sccm_cep/export/read_ahead.py``); ``unavailable(request)`` and ``own_names()``."""

    name: str

    def check(self) -> CheckReport: ...

    def streams(self, request: CollectionRequest) -> Sequence[Stream]: ...

    def skipped(self, request: CollectionRequest) -> Sequence[str]:
        """Notes on what ``request`` wanted that this source did not collect (missing views,
        unreachable clients). Asked after the streams were read; never holds a site value."""
        ...

    def close(self) -> None: ...


class ConnectorFactory(Protocol):
    def __call__(self, **options: Any) -> Connector: ...


class SiteDiscovery(Protocol):
    """What ``sccm_cep.discovery`` entry points are: the sites a directory publishes, as JSON-able rows."""

    def __call__(self, settings: DirectorySettings) -> list[dict[str, Any]]: ...


def unavailable_of(connector: Connector, request: CollectionRequest) -> tuple[Unavailable, ...]:
    """The fields of ``request`` ``connector`` cannot give on its site, one entry per field.

    A connector that knows this per field has an ``unavailable(request)`` method (optional, so
    the seam stays small); one without it reports nothing here, only its ``skipped`` notes.
    """
    method = getattr(connector, "unavailable", None)
    if method is None:
        return ()
    return tuple(method(request))


def own_names_of(connectors: Sequence[Connector]) -> frozenset[str]:
    """The site's own names (site name, server host names) the connectors can read, for the
    anonymizer's identifier check only. A connector that can has an optional ``own_names()``."""
    names: set[str] = set()
    for connector in connectors:
        method = getattr(connector, "own_names", None)
        if method is not None:
            names.update(method())
    return frozenset(names)


def site_code_of(connector: Connector) -> str:
    """The code of the site a connector reads (from its read-only check)."""
    code = connector.check().site_code
    if not code:
        raise NotAnSccmSite(
            "the source holds no site row", hint="point it at the site database or the site server"
        )
    # The code names files (the site's key file): never anything but three letters or digits.
    if not _SITE_CODE.fullmatch(code):
        raise NotAnSccmSite(
            "the source's site code is not three letters or digits",
            hint="point it at an SCCM site database or site server; check its v_Site / SMS_Site rows",
        )
    return code


_SITE_CODE = re.compile(r"[A-Za-z0-9]{3}")


def load_discovery(name: str) -> SiteDiscovery:
    """The discovery function published as ``name`` in ``sccm_cep.discovery`` (e.g. ldap)."""
    found = [ep for ep in entry_points(group=DISCOVERY_GROUP) if ep.name == name]
    try:
        if not found:
            raise ImportError(name)
        function: SiteDiscovery = found[0].load()
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"site discovery through {name} is not installed",
            hint=f"pip install 'sccm-cep[{name}]'",
        ) from exc
    return function


def available_connectors() -> list[str]:
    """Names of the installed connectors, from the entry-point group (nothing is imported)."""
    return sorted({ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)})


def open_connector(name: str, **options: Any) -> Connector:
    """Open the connector called ``name`` with its options (for example ``url=...``).

    Only that connector is imported, so a broken or half-installed plugin cannot stop the
    others from working.
    """
    found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
    if not found:
        have = ", ".join(available_connectors()) or "none"
        raise ConfigError(
            f"no connector named '{name}' is installed (installed: {have})",
            hint="reinstall sccm-cep so its entry points are registered (pip install -e .)",
        )
    try:
        factory: ConnectorFactory = found[0].load()
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"the connector '{name}' is installed but cannot be loaded ({exc.__class__.__name__})",
            hint=f"reinstall it, or install its extra: pip install 'sccm-cep[{name}]'",
        ) from exc
    return factory(**options)
