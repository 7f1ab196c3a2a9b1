"""A capture of what the collection scripts print on a real site, made fit to leave it.

``sccm-cep doctor --winrm HOST --capture DIR`` runs every script, checks each document against the
script's schema, and passes it through ``TREATMENTS`` before it is saved: every property of every
script has one treatment (a property without one is dropped). Identifiers the submission would
pseudonymize (site codes, package, deployment, configuration item and client ids) are replaced by
keyed pseudonyms under a random key made for this capture and never stored, so the same value maps
to the same pseudonym inside one capture and to nothing outside it; host names are replaced the same
way; an installed program's name and version are kept only when the program is public (its
publisher is in the reviewed catalog and its name carries nothing but product, version and
architecture), else withheld; every other string kept is checked for identifiers (user, host,
e-mail, address, SID, ...) and withheld when one is found. The result has the schema's shape, so
the test endpoint can serve it as a recording.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from sccm_cep.errors import ConfigError, SccmCepError, SourceError, SourceQueryError

from .scripts import CLIENT_SCRIPTS, SITE_SCRIPTS

if TYPE_CHECKING:
    from .connector import WinRMConnector

__all__ = ["SITE_HOST", "TREATMENTS", "WITHHELD", "Captured", "Capturer", "capture", "client_label"]

#: The folder of the site server's documents; clients are ``client-001``, ... in the order given.
SITE_HOST = "site"
WITHHELD = "[withheld]"

Rule: TypeAlias = "str | dict[str, Rule]"

_KEEP_TEXT = "keep"
#: What happens to each property a script prints (nested objects: a rule per property inside).
#: keep: kept, strings checked for identifiers · date: kept if it is an ISO date, else dropped ·
#: site_code, object_id, number_id, client_id, host: keyed pseudonym · namespace: rebuilt from the
#: pseudonyms of its host and site code · publisher: kept if public · program, program_version:
#: kept if the program (name and publisher) is public and the version looks like one.
TREATMENTS: dict[str, dict[str, Rule]] = {
    "provider": {"SiteCode": "site_code", "Machine": "host", "NamespacePath": "namespace", "IsLocal": "keep"},
    "site": {
        "SiteCode": "site_code",
        "ReportingSiteCode": "site_code",
        "Type": "keep",
        "Version": "keep",
        "BuildNumber": "keep",
        "Status": "keep",
    },
    "site_roles": {"RoleName": "keep", "ServerCount": "keep"},
    "site_clients": {"Discovered": "keep", "Managed": "keep", "Active": "keep", "Virtual": "keep"},
    "packages": {
        "PackageID": "object_id",
        "PackageType": "keep",
        "SourceDate": "date",
        "ProgramCount": "keep",
        "DeploymentCount": "keep",
    },
    "deployments": {
        "AssignmentID": "number_id",
        "DeploymentID": "object_id",
        "FeatureType": "keep",
        "DeploymentIntent": "keep",
        "NumberTargeted": "keep",
        "NumberSuccess": "keep",
        "NumberErrors": "keep",
        "NumberInProgress": "keep",
        "NumberUnknown": "keep",
        "CreationTime": "date",
        "HasDeadline": "keep",
    },
    "baselines": {
        "CI_ID": "number_id",
        "CIType_ID": "keep",
        "IsUserDefined": "keep",
        "DateCreated": "date",
        "RuleCount": "keep",
        "Targeted": "keep",
        "Evaluated": "keep",
        "Compliant": "keep",
        "NonCompliant": "keep",
        "Failed": "keep",
    },
    "client_inventory": {
        "ClientId": "client_id",
        "ClientVersion": "keep",
        "OperatingSystem": {
            "Caption": "keep",
            "Version": "keep",
            "OSArchitecture": "keep",
            "ProductType": "keep",
        },
        "ComputerSystem": {"Manufacturer": "keep", "Model": "keep", "TotalPhysicalMemory": "keep"},
        "Processors": {"Name": "keep", "NumberOfCores": "keep", "NumberOfLogicalProcessors": "keep"},
        "SystemDisk": {"Size": "keep", "FreeSpace": "keep"},
        "Enclosures": {"ChassisTypes": "keep"},
        "Bios": {"ReleaseDate": "date"},
    },
    "client_software": {
        "DisplayName": "program",
        "Publisher": "publisher",
        "DisplayVersion": "program_version",
    },
}

_OBJECT_ID = re.compile(r"[A-Za-z0-9]{3}[0-9A-Fa-f]{5}")
_NAMESPACE = re.compile(r"\\\\([^\\]+)\\root\\sms\\site_(\w+)", re.IGNORECASE)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?)?")
_CODE = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_VERSION = re.compile(r"[vV]?[0-9]{1,9}(\.[0-9]{1,9}){0,5}([-+_ .]?[0-9A-Za-z][0-9A-Za-z.+_-]{0,30})?")


def client_label(index: int) -> str:
    """The folder of the ``index``-th client (from 1): numbered, never named."""
    return f"client-{index:03d}"


@dataclass(frozen=True)
class Captured:
    """One script's document from one host, treated; or why it could not be read."""

    host: str
    script: str
    rows: list[dict[str, Any]] | None
    withheld: int = 0
    error: SccmCepError | None = None


class Capturer:
    """Applies ``TREATMENTS`` under one random key. ``flagged`` says whether a string holds an
    identifier; ``public(name, publisher)`` whether a program (name None: a publisher) is public.
    Both come from the core (its privacy and normalize packages)."""

    def __init__(
        self,
        flagged: Callable[[str], bool],
        public: Callable[[str | None, str | None], bool],
        key: bytes | None = None,
    ) -> None:
        self._key = key or secrets.token_bytes(32)
        self._flagged = flagged
        self._public = public

    def __repr__(self) -> str:
        return "Capturer()"

    def treat(self, script: str, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
        """The document with each property treated, and how many values were withheld."""
        count = [0]
        out = [self._object(row, TREATMENTS[script], count) for row in rows]
        return out, count[0]

    def _object(self, obj: Mapping[str, Any], rules: Mapping[str, Rule], count: list[int]) -> dict[str, Any]:
        if "program" in rules.values():
            return self._program(obj, count)
        return {k: self._value(obj.get(k), rule, count) for k, rule in rules.items() if k in obj}

    def _program(self, row: Mapping[str, Any], count: list[int]) -> dict[str, Any]:
        """An installed program: a name, version or publisher that is not public is withheld."""
        name, publisher, version = row.get("DisplayName"), row.get("Publisher"), row.get("DisplayVersion")
        known = isinstance(name, str) and self._public(name, publisher) and not self._flagged(name)
        shown = known and (version is None or (isinstance(version, str) and _VERSION.fullmatch(version)))
        out = {
            "DisplayName": name if known else WITHHELD,
            "Publisher": publisher if publisher is None or self._public(None, publisher) else WITHHELD,
            "DisplayVersion": version if version is None or shown else WITHHELD,
        }
        count[0] += sum(1 for v in out.values() if v == WITHHELD)
        return out

    def _value(self, value: Any, rule: Rule, count: list[int]) -> Any:
        if value is None:
            return None
        if isinstance(rule, dict):
            if isinstance(value, list):
                return [self._object(v, rule, count) for v in value if isinstance(v, Mapping)]
            return self._object(value, rule, count) if isinstance(value, Mapping) else None
        if rule == _KEEP_TEXT:
            if isinstance(value, str) and self._flagged(value):
                count[0] += 1
                return WITHHELD
            return value
        if rule == "date":
            return value if isinstance(value, str) and _DATE.fullmatch(value) else None
        return self._pseudonym(rule, value)

    def _digest(self, kind: str, value: Any) -> bytes:
        return hmac.new(self._key, f"{kind}\0{value}".encode(), hashlib.sha256).digest()

    def _pseudonym(self, kind: str, value: Any) -> Any:
        if kind == "site_code":
            return "".join(_CODE[b % len(_CODE)] for b in self._digest(kind, str(value).upper())[:3])
        if kind == "number_id":
            return 1 + int.from_bytes(self._digest(kind, value)[:4], "big") % (2**31 - 1)
        if kind == "client_id":
            return "GUID:" + str(uuid.UUID(bytes=self._digest(kind, value)[:16])).upper()
        if kind == "host":
            return "HOST-" + self._digest(kind, str(value).lower()).hex()[:10].upper()
        if kind == "object_id":
            text = str(value)
            if _OBJECT_ID.fullmatch(text):
                return self._pseudonym("site_code", text[:3]) + self._digest(kind, text).hex()[:5].upper()
            return "{" + str(uuid.UUID(bytes=self._digest(kind, text)[:16])).upper() + "}"
        if kind == "namespace":
            found = _NAMESPACE.fullmatch(str(value))
            if not found:
                return None
            host, code = self._pseudonym("host", found[1]), self._pseudonym("site_code", found[2])
            return f"\\\\{host}\\root\\sms\\site_{code}"
        raise ValueError(f"unknown treatment {kind}")


def capture(connector: WinRMConnector, capturer: Capturer) -> Iterator[Captured]:
    """Every site script on the site server, then both client scripts on each client, treated.

    The site server stops at its first failure (the session is gone); a client that fails is
    reported and the next one is read."""
    from .connector import _validator

    def treated(host: str, script: str, rows: list[dict[str, Any]]) -> Captured:
        out, withheld = capturer.treat(script, rows)
        error = next(iter(_validator(script).iter_errors(out)), None)
        if error is not None:
            raise SourceQueryError(
                f"the capture of {script}.ps1 no longer matches {script}.schema.json at {error.json_path}",
                hint="report it: a capture treatment does not fit the script's schema",
            )
        return Captured(host, script, out, withheld)

    if connector._server is not None:
        for script in SITE_SCRIPTS:
            try:
                rows = connector._server_objects(script)
            except (SourceError, ConfigError) as exc:
                yield Captured(SITE_HOST, script, None, error=exc)
                break
            yield treated(SITE_HOST, script, rows)
    for index, address in enumerate(connector._clients, start=1):
        host = client_label(index)
        for script, rows_or_error in connector._client_documents(address, CLIENT_SCRIPTS):
            if isinstance(rows_or_error, SourceError):
                yield Captured(host, script, None, error=rows_or_error)
                break
            yield treated(host, script, rows_or_error)
